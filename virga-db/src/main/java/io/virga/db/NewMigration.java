package io.virga.db;

import io.virga.core.Flavor;
import io.virga.core.MigrationStatus;
import io.virga.core.MigrationType;
import io.virga.core.VmState;

/** A migration record to create when its destination claim succeeds. */
public record NewMigration(
    String uuid,
    String instanceUuid,
    MigrationType type,
    MigrationStatus status,
    String sourceCompute,
    String sourceNode,
    Flavor oldFlavor,
    Flavor newFlavor,
    long oldInstanceTypeId,
    long newInstanceTypeId,
    VmState oldVmState,
    String userId,
    String projectId) {}
