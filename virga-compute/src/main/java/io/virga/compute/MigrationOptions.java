package io.virga.compute;

import io.virga.core.Config;
import java.time.Duration;

/**
 * The agent's migration options (Nova's names and defaults).
 *
 * @param maxConcurrentLiveMigrations live migrations this host runs as the source at once; more
 *     wait in status {@code queued} and can be aborted there ({@code
 *     max_concurrent_live_migrations}, 1; 0 means no limit)
 * @param resizeStrandedTimeout after an agent start, how long a cold migration whose disks were
 *     sent (task {@code resize_migrated}) may wait for its {@code finish_resize} to be acted upon
 *     before it is reverted to the source ({@code resize_stranded_timeout}, 120 s; Virga's own
 *     option: Nova leaves such an instance to the redelivery of the lost message)
 */
public record MigrationOptions(int maxConcurrentLiveMigrations, Duration resizeStrandedTimeout) {

  public MigrationOptions {
    if (maxConcurrentLiveMigrations < 0) {
      throw new IllegalArgumentException("max_concurrent_live_migrations must be 0 or more");
    }
    if (resizeStrandedTimeout.isNegative()) {
      throw new IllegalArgumentException("resize_stranded_timeout must be 0 or more");
    }
  }

  public MigrationOptions(int maxConcurrentLiveMigrations) {
    this(maxConcurrentLiveMigrations, Duration.ofSeconds(120));
  }

  public static MigrationOptions defaults() {
    return new MigrationOptions(1);
  }

  public static MigrationOptions fromConfig(Config c) {
    return new MigrationOptions(
        c.integer("max_concurrent_live_migrations", 1), c.seconds("resize_stranded_timeout", 120));
  }

  /** Worker threads of the live-migration pool: the limit, or a generous bound for "no limit". */
  int poolSize() {
    return maxConcurrentLiveMigrations == 0 ? 64 : maxConcurrentLiveMigrations;
  }
}
