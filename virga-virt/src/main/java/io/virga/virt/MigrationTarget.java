package io.virga.virt;

import java.util.Optional;

/**
 * What the destination of a cold migration or resize tells the source in {@code prep_resize}
 * (DESIGN §3.3): how to reach its disk receiver, and the name of a probe file it created in its
 * instances path so the source can detect shared storage (the file is visible locally only when
 * both hosts see the same instances directory).
 *
 * @param host the destination's compute host name
 * @param address where the destination's disk receiver listens (an address the source can reach)
 * @param port the receiver's TCP port; 0 when the destination opened no receiver
 * @param token the per-migration secret the receiver accepts (never logged)
 * @param sharedStorageProbe file name, relative to the instances path, the destination created
 */
public record MigrationTarget(
    String host, String address, int port, String token, Optional<String> sharedStorageProbe) {}
