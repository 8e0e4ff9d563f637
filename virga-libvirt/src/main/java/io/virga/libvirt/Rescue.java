package io.virga.libvirt;

import io.virga.core.ImageMeta;
import io.virga.core.PowerState;
import io.virga.virt.ImageSource;
import io.virga.virt.InstanceSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Nova's libvirt {@code rescue} / {@code unrescue}. Rescue keeps the running definition as {@code
 * unrescue.xml}, makes {@code disk.rescue} (an overlay of the rescue image over the base cache) and
 * {@code disk.config.rescue}, and boots a domain of the same name and uuid whose first disk is
 * {@code disk.rescue} and second the instance's own root disk. Unrescue destroys it, defines {@code
 * unrescue.xml} again, starts it, and removes the rescue files. A rescue that fails puts the
 * instance's own domain back.
 */
final class Rescue {
  private static final Logger LOG = LoggerFactory.getLogger(Rescue.class);
  static final String UNRESCUE_XML = "unrescue.xml";
  static final String DISK_RESCUE = "disk.rescue";
  static final String CONFIG_RESCUE = "disk.config.rescue";

  private final LibvirtDriverContext ctx;
  private final Spawn spawn;
  private final Power power;

  Rescue(LibvirtDriverContext ctx, Spawn spawn, Power power) {
    this.ctx = ctx;
    this.spawn = spawn;
    this.power = power;
  }

  void rescue(InstanceSpec spec, ImageMeta rescueImage, ImageSource images) {
    Path dir = ctx.opts.instanceDir(spec.uuid());
    Path unrescueXml = dir.resolve(UNRESCUE_XML);
    String original;
    try (Guest g =
        ctx.host
            .lookup(spec.uuid())
            .orElseThrow(
                () ->
                    new LibvirtException(
                        "no domain for instance " + spec.uuid(), -1, "NO_DOMAIN", null))) {
      original = g.xml(2); // the persistent definition, not the live one
    }
    write(unrescueXml, original);
    String step = "createImage";
    try {
      InstanceSpec rescueSpec = spec.withImage(rescueImage);
      ctx.backend.createDisk(
          dir, DISK_RESCUE, rescueImage, images, (long) spec.flavor().rootGb() << 30);
      boolean configDrive = spec.configDrive() || ctx.opts.forceConfigDrive();
      if (configDrive) {
        step = "createConfigDrive";
        ctx.configDrive.build(spec, dir.resolve(CONFIG_RESCUE));
      }
      step = "getGuestXml";
      String xml =
          rescueXml(
              rescueSpec,
              dir,
              configDrive,
              new GuestDefinition(ctx).kernelBoot(rescueSpec, images));
      step = "destroy";
      ctx.host.lookup(spec.uuid()).ifPresent(Rescue::destroyQuietly);
      step = "createDomain";
      GuestDefinition.writeLibvirtXml(dir, xml);
      try (Guest g = ctx.host.define(xml)) {
        g.launch(false);
        g.waitFor(PowerState.RUNNING, ctx.opts.spawnTimeout());
      }
      LOG.info("instance {}: rescued with image {}", spec.uuid(), rescueImage.id());
    } catch (RuntimeException e) {
      LOG.warn("instance {}: rescue failed at {}; restoring its domain", spec.uuid(), step);
      try {
        restore(spec, dir, original);
      } catch (RuntimeException restoreFailed) {
        e.addSuppressed(restoreFailed);
      }
      throw new SpawnException(spec.uuid(), "rescue: " + step, e);
    }
  }

  /**
   * Back to the instance's own domain. Without {@code unrescue.xml} (never rescued, or a crash
   * before it was written) it only makes sure the instance's domain runs.
   */
  void unrescue(InstanceSpec spec, ImageSource images) {
    Path dir = ctx.opts.instanceDir(spec.uuid());
    Path unrescueXml = dir.resolve(UNRESCUE_XML);
    if (!Files.exists(unrescueXml)) {
      LOG.info("instance {}: no {}; starting its own domain", spec.uuid(), UNRESCUE_XML);
      removeRescueFiles(dir);
      power.powerOn(spec, images);
      return;
    }
    try {
      restore(spec, dir, Files.readString(unrescueXml));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + unrescueXml, e);
    }
    LOG.info("instance {}: unrescued", spec.uuid());
  }

  /** Destroy whatever runs, define and start the original XML, then drop the rescue files. */
  private void restore(InstanceSpec spec, Path dir, String originalXml) {
    ctx.host.lookup(spec.uuid()).ifPresent(Rescue::destroyQuietly);
    GuestDefinition.writeLibvirtXml(dir, originalXml);
    try (Guest g = ctx.host.define(originalXml)) {
      g.launch(false);
      g.waitFor(PowerState.RUNNING, ctx.opts.spawnTimeout());
    }
    removeRescueFiles(dir);
  }

  private static void removeRescueFiles(Path dir) {
    for (String name : List.of(DISK_RESCUE, CONFIG_RESCUE, UNRESCUE_XML)) {
      try {
        Files.deleteIfExists(dir.resolve(name));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot remove " + dir.resolve(name), e);
      }
    }
    if (Files.isDirectory(dir)) {
      DiskInfo.forget(dir, DISK_RESCUE);
    }
  }

  /** The rescue domain: disk.rescue first, the root disk second, the rescue config drive. */
  private String rescueXml(
      InstanceSpec rescueSpec,
      Path dir,
      boolean configDrive,
      Optional<GuestConfigBuilder.KernelBoot> kernel) {
    DiskMapping normal =
        DiskMapping.forInstance(rescueSpec.flavor(), configDrive, ctx.opts.cdromBus());
    List<DiskMapping.Entry> entries = new java.util.ArrayList<>();
    entries.add(new DiskMapping.Entry(DISK_RESCUE, "vda", "virtio", "disk"));
    entries.add(new DiskMapping.Entry(ImageBackend.ROOT, "vdb", "virtio", "disk"));
    normal
        .get(DiskMapping.CONFIG)
        .ifPresent(
            c -> entries.add(new DiskMapping.Entry(CONFIG_RESCUE, c.dev(), c.bus(), c.device())));
    Map<String, String> formats = new HashMap<>();
    DiskInfo.read(dir).forEach((name, fmt) -> formats.put(name, fmt.qemuName()));
    formats.put(CONFIG_RESCUE, "raw");
    GuestConfig config =
        GuestConfigBuilder.build(
            rescueSpec,
            ctx.opts,
            new DiskMapping(entries),
            formats,
            dir,
            kernel,
            ctx.cacheMode(dir));
    return GuestXmlWriter.write(config);
  }

  private static void destroyQuietly(Guest g) {
    try (g) {
      g.destroy();
    }
  }

  private static void write(Path file, String text) {
    try {
      Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
      Files.writeString(tmp, text);
      Files.move(
          tmp,
          file,
          java.nio.file.StandardCopyOption.REPLACE_EXISTING,
          java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }
}
