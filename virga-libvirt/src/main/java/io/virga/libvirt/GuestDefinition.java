package io.virga.libvirt;

import io.virga.core.DiskFormat;
import io.virga.core.ImageMeta;
import io.virga.virt.ImageSource;
import io.virga.virt.InstanceSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * An instance's domain definition, as spawn and hard reboot both build it (Nova's {@code
 * _get_guest_xml}): kernel and ramdisk from the cache, the XML from the disk formats recorded in
 * disk.info, and {@code libvirt.xml} written next to the disks before the domain is defined.
 */
final class GuestDefinition {
  static final String LIBVIRT_XML = "libvirt.xml";

  private final LibvirtDriverContext ctx;

  GuestDefinition(LibvirtDriverContext ctx) {
    this.ctx = ctx;
  }

  /** Kernel and ramdisk images cached raw, when the image names them (Nova: kernel_id). */
  Optional<GuestConfigBuilder.KernelBoot> kernelBoot(InstanceSpec spec, ImageSource images) {
    Optional<String> kernelId = spec.image().property("kernel_id");
    if (kernelId.isEmpty()) {
      return Optional.empty();
    }
    Path kernel = ctx.backend.cache().fetchRaw(sideImage(kernelId.get(), DiskFormat.AKI), images);
    Optional<Path> ramdisk =
        spec.image()
            .property("ramdisk_id")
            .map(id -> ctx.backend.cache().fetchRaw(sideImage(id, DiskFormat.ARI), images));
    return Optional.of(
        new GuestConfigBuilder.KernelBoot(kernel, ramdisk, GuestConfigBuilder.cmdline(spec)));
  }

  /** The metadata we know of a kernel or ramdisk image: its id and Glance's format for it. */
  static ImageMeta sideImage(String id, DiskFormat format) {
    String name = format.glanceName();
    return new ImageMeta(id, name, format, name, 0, 0, 0, 0, Map.of());
  }

  /** The domain XML from the recorded disk formats (disk.info), never from probing the files. */
  String getGuestXml(
      InstanceSpec spec,
      Path dir,
      DiskMapping mapping,
      Optional<GuestConfigBuilder.KernelBoot> kernel) {
    Map<String, String> formats = new HashMap<>();
    DiskInfo.read(dir).forEach((name, fmt) -> formats.put(name, fmt.qemuName()));
    formats.put(DiskMapping.CONFIG, "raw");
    GuestConfig config =
        GuestConfigBuilder.build(spec, ctx.opts, mapping, formats, dir, kernel, ctx.cacheMode(dir));
    return GuestXmlWriter.write(config);
  }

  /**
   * The XML for an instance directory as it stands (disk.info's formats, the flavor's disk mapping,
   * a config drive when {@code configDrive}), also written to {@code libvirt.xml}: what hard reboot
   * and the migration flows define.
   */
  String regenerate(InstanceSpec spec, Path dir, boolean configDrive, ImageSource images) {
    var mapping = DiskMapping.forInstance(spec.flavor(), configDrive, ctx.opts.cdromBus());
    String xml = getGuestXml(spec, dir, mapping, kernelBoot(spec, images));
    writeLibvirtXml(dir, xml);
    return xml;
  }

  static void writeLibvirtXml(Path dir, String xml) {
    Path target = dir.resolve(LIBVIRT_XML);
    Path tmp = dir.resolve(LIBVIRT_XML + ".tmp");
    try {
      Files.writeString(tmp, xml);
      Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + target, e);
    }
  }
}
