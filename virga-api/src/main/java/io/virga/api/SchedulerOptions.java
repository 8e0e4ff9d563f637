package io.virga.api;

import io.virga.core.Config;

/**
 * The scheduler's configuration (Nova's names and defaults).
 *
 * @param serviceDownTimeSeconds a host whose last heartbeat is older is down
 */
public record SchedulerOptions(
    double cpuAllocationRatio,
    double ramAllocationRatio,
    double diskAllocationRatio,
    int reservedHostMemoryMb,
    int reservedHostDiskMb,
    int reservedHostCpus,
    long serviceDownTimeSeconds,
    String defaultAvailabilityZone) {

  public static SchedulerOptions from(Config c) {
    return new SchedulerOptions(
        c.decimal("cpu_allocation_ratio", 16.0),
        c.decimal("ram_allocation_ratio", 1.5),
        c.decimal("disk_allocation_ratio", 1.0),
        c.integer("reserved_host_memory_mb", 512),
        c.integer("reserved_host_disk_mb", 0),
        c.integer("reserved_host_cpus", 0),
        c.longValue("service_down_time", 60),
        c.string("default_availability_zone", "nova"));
  }
}
