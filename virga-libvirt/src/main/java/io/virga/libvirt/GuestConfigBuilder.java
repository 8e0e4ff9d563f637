package io.virga.libvirt;

import io.virga.core.InvalidInputException;
import io.virga.virt.InstanceSpec;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Nova's {@code _get_guest_config}: the domain model for one instance on this host. */
final class GuestConfigBuilder {
  static final String PRODUCT = "OpenStack Nova";
  static final String MANUFACTURER = "OpenStack Foundation";
  static final String FAMILY = "Virtual Machine";
  static final String CONSOLE_ARGS = "console=tty0 console=ttyS0";
  private static final DateTimeFormatter CREATION =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneOffset.UTC);

  private GuestConfigBuilder() {}

  /** Direct kernel boot from cached kernel/ramdisk images. */
  record KernelBoot(Path kernel, Optional<Path> ramdisk, String cmdline) {}

  /** Virga's version, written where Nova writes its own (SMBIOS version, nova:package). */
  static String version() {
    return Optional.ofNullable(GuestConfigBuilder.class.getPackage().getImplementationVersion())
        .orElse("0.1.0");
  }

  /**
   * @param diskFormats file name → qemu format, as recorded in disk.info at creation
   */
  static GuestConfig build(
      InstanceSpec spec,
      LibvirtOptions opts,
      DiskMapping mapping,
      Map<String, String> diskFormats,
      Path instanceDir,
      Optional<KernelBoot> kernel,
      String cacheMode) {
    var flavor = spec.flavor();
    List<GuestConfig.Disk> disks = new ArrayList<>();
    for (DiskMapping.Entry e : mapping.entries()) {
      String format = diskFormats.get(e.name());
      if (format == null) {
        throw new IllegalStateException(
            "no recorded format for " + e.name() + " of " + spec.uuid());
      }
      disks.add(
          new GuestConfig.Disk(
              e.device(), format, cacheMode, instanceDir.resolve(e.name()), e.dev(), e.bus()));
    }
    GuestConfig.Os os =
        kernel
            .map(
                k ->
                    new GuestConfig.Os(
                        "x86_64",
                        opts.machineType(),
                        Optional.of(k.kernel()),
                        k.ramdisk(),
                        Optional.of(k.cmdline()),
                        List.<String>of()))
            .orElseGet(
                () ->
                    new GuestConfig.Os(
                        "x86_64",
                        opts.machineType(),
                        Optional.empty(),
                        Optional.empty(),
                        Optional.empty(),
                        List.of("hd")));
    String version = version();
    return new GuestConfig(
        opts.virtType(),
        spec.domainName(),
        spec.uuid(),
        flavor.memoryMb() * 1024L,
        flavor.vcpus(),
        Optional.of(cputune(flavor.extraSpecs())),
        new GuestConfig.Cpu(opts.cpuMode(), opts.cpuModel(), flavor.vcpus(), 1, 1),
        os,
        new GuestConfig.SysInfo(MANUFACTURER, PRODUCT, version, spec.uuid(), spec.uuid(), FAMILY),
        new GuestConfig.NovaMetadata(
            version,
            spec.displayName(),
            CREATION.format(spec.createdAt()),
            flavor.name(),
            flavor.memoryMb(),
            flavor.rootGb(),
            flavor.swapMb(),
            flavor.ephemeralGb(),
            flavor.vcpus(),
            spec.userId(),
            spec.userId(),
            spec.projectId(),
            spec.projectId(),
            spec.image().id()),
        opts.virtType().equals("kvm"),
        disks,
        instanceDir.resolve("console.log"),
        opts.memStatsPeriod());
  }

  /** The kernel command line: the image's os_command_line, else Nova's root + serial default. */
  static String cmdline(InstanceSpec spec) {
    return spec.image().property("os_command_line").orElse("root=/dev/vda " + CONSOLE_ARGS);
  }

  static GuestConfig.CpuTune cputune(Map<String, String> extraSpecs) {
    return new GuestConfig.CpuTune(
        number(extraSpecs, "quota:cpu_shares"),
        number(extraSpecs, "quota:cpu_period"),
        number(extraSpecs, "quota:cpu_quota"));
  }

  private static Optional<Long> number(Map<String, String> specs, String key) {
    String v = specs.get(key);
    if (v == null) {
      return Optional.empty();
    }
    try {
      return Optional.of(Long.parseLong(v.strip()));
    } catch (NumberFormatException e) {
      throw new InvalidInputException("flavor extra spec " + key + " must be an integer");
    }
  }
}
