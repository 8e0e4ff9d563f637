package io.virga.core;

import java.util.List;
import java.util.Map;

/**
 * What a hypervisor tells about a running instance (Nova's {@code Diagnostics} object), for {@code
 * GET /servers/{id}/diagnostics}.
 *
 * @param state power state name: running, paused, shutdown, crashed, suspended, pending
 * @param driver the driver's name ({@code libvirt}, {@code fake})
 * @param hypervisor the hypervisor type ({@code kvm}, {@code qemu}, {@code fake})
 * @param memoryMaxKib the domain's maximum memory
 * @param memoryUsedKib its current memory
 * @param memoryStats the balloon's statistics by libvirt's names (actual, rss, …), KiB
 */
public record InstanceDiagnostics(
    String state,
    String driver,
    String hypervisor,
    boolean configDrive,
    List<Cpu> cpus,
    long memoryMaxKib,
    long memoryUsedKib,
    Map<String, Long> memoryStats,
    List<Disk> disks) {

  public InstanceDiagnostics {
    cpus = List.copyOf(cpus);
    memoryStats = Map.copyOf(memoryStats);
    disks = List.copyOf(disks);
  }

  /** Nova's power state names (STATE_MAP). */
  public static String stateName(PowerState p) {
    return p == PowerState.NOSTATE ? "pending" : p.name().toLowerCase(java.util.Locale.ROOT);
  }

  /** A virtual CPU and the CPU time it used (nanoseconds). */
  public record Cpu(int id, long timeNs) {}

  /** A disk by its guest device name, with its I/O counters (-1 where unknown). */
  public record Disk(
      String device,
      long readBytes,
      long readRequests,
      long writeBytes,
      long writeRequests,
      long errors) {}
}
