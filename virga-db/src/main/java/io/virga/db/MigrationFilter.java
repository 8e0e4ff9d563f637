package io.virga.db;

import io.virga.core.MigrationStatus;
import io.virga.core.MigrationType;
import java.time.Instant;
import java.util.Optional;

/**
 * The os-migrations filters; empty fields do not filter. {@code host} matches the source or the
 * destination compute.
 */
public record MigrationFilter(
    Optional<String> instanceUuid,
    Optional<String> host,
    Optional<String> sourceCompute,
    Optional<MigrationStatus> status,
    Optional<MigrationType> type,
    Optional<Instant> changesSince,
    Optional<Instant> changesBefore,
    Optional<String> userId,
    Optional<String> projectId) {

  public static MigrationFilter all() {
    return new MigrationFilter(
        Optional.empty(),
        Optional.empty(),
        Optional.empty(),
        Optional.empty(),
        Optional.empty(),
        Optional.empty(),
        Optional.empty(),
        Optional.empty(),
        Optional.empty());
  }

  public static MigrationFilter ofInstance(String uuid) {
    MigrationFilter a = all();
    return new MigrationFilter(
        Optional.of(uuid),
        a.host,
        a.sourceCompute,
        a.status,
        a.type,
        a.changesSince,
        a.changesBefore,
        a.userId,
        a.projectId);
  }
}
