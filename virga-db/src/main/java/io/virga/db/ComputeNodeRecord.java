package io.virga.db;

import java.time.Instant;

/** A hypervisor's last reported resources (Nova's compute_nodes row). */
public record ComputeNodeRecord(
    long id,
    String uuid,
    String host,
    String hypervisorHostname,
    String hypervisorType,
    long hypervisorVersion,
    String hostIp,
    int vcpus,
    int vcpusUsed,
    int memoryMb,
    int memoryMbUsed,
    int localGb,
    int localGbUsed,
    int diskAvailableLeastGb,
    int runningVms,
    String cpuInfoJson,
    Instant createdAt,
    Instant updatedAt) {}
