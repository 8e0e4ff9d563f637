package io.virga.virt;

import io.virga.core.PowerState;

/** What the hypervisor says of one instance right now. */
public record InstanceInfo(
    PowerState powerState, long maxMemoryKb, long memoryKb, int vcpus, long cpuTimeNs) {}
