package io.virga.core;

/**
 * A compute host's periodic report: its resources (Nova's compute node fields) and liveness.
 *
 * @param cpuInfoJson Nova's cpu_info JSON
 */
public record HostReport(
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
    String cpuInfoJson) {}
