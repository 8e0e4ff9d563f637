package io.virga.libvirt;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The typed model of a libvirt domain as Virga writes it (Nova's {@code LibvirtConfigGuest}): only
 * what we set; libvirt fills in addresses, controllers and defaults. {@link GuestXmlWriter} turns
 * it into XML.
 */
record GuestConfig(
    String virtType,
    String name,
    String uuid,
    long memoryKib,
    int vcpus,
    Optional<CpuTune> cputune,
    Cpu cpu,
    Os os,
    SysInfo sysinfo,
    NovaMetadata metadata,
    boolean hypervisorTimers,
    List<Disk> disks,
    Path consoleLog,
    int memStatsPeriod) {

  public GuestConfig {
    disks = List.copyOf(disks);
  }

  /** {@code <cputune>} from the flavor's {@code quota:cpu_*} extra specs. */
  public record CpuTune(Optional<Long> shares, Optional<Long> period, Optional<Long> quota) {
    public boolean isEmpty() {
      return shares.isEmpty() && period.isEmpty() && quota.isEmpty();
    }
  }

  /**
   * @param mode host-model, host-passthrough, custom, or none (no mode attribute: qemu's default
   *     model, qemu64 under TCG)
   */
  public record Cpu(String mode, Optional<String> model, int sockets, int cores, int threads) {}

  /** Boot from the disks ({@code bootDev}) or straight into a kernel. */
  public record Os(
      String arch,
      String machine,
      Optional<Path> kernel,
      Optional<Path> initrd,
      Optional<String> cmdline,
      List<String> bootDevs) {
    public Os {
      bootDevs = List.copyOf(bootDevs);
    }
  }

  /** SMBIOS system entries; cloud-init identifies OpenStack by product and serial. */
  public record SysInfo(
      String manufacturer,
      String product,
      String version,
      String serial,
      String uuid,
      String family) {}

  /** Nova's {@code nova:instance} metadata element (namespace 1.1). */
  public record NovaMetadata(
      String packageVersion,
      String name,
      String creationTime,
      String flavorName,
      int memoryMb,
      int diskGb,
      int swapMb,
      int ephemeralGb,
      int vcpus,
      String userId,
      String userName,
      String projectId,
      String projectName,
      String rootImageId) {}

  /**
   * @param device disk or cdrom
   * @param format qemu driver type: qcow2 or raw — always explicit (DESIGN §5)
   * @param cache none or writeback
   */
  public record Disk(
      String device, String format, String cache, Path source, String dev, String bus) {}
}
