package io.virga.virt;

/**
 * A host's resources as {@code get_available_resource} reports them (Nova's names in comments).
 *
 * @param cpuInfoJson Nova's cpu_info JSON: arch, model, vendor, topology, features
 * @param diskAvailableLeastGb free disk minus what sparse disks may still grow into
 */
public record HostResources(
    String hypervisorHostname,
    String hypervisorType,
    long hypervisorVersion,
    int vcpus,
    int vcpusUsed,
    int memoryMb,
    int memoryMbUsed,
    int localGb,
    int localGbUsed,
    int diskAvailableLeastGb,
    String cpuInfoJson) {}
