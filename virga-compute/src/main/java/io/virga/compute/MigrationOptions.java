package io.virga.compute;

import io.virga.core.Config;

/**
 * The agent's migration options (Nova's names and defaults).
 *
 * @param maxConcurrentLiveMigrations live migrations this host runs as the source at once; more
 *     wait in status {@code queued} and can be aborted there ({@code
 *     max_concurrent_live_migrations}, 1; 0 means no limit)
 */
public record MigrationOptions(int maxConcurrentLiveMigrations) {

  public MigrationOptions {
    if (maxConcurrentLiveMigrations < 0) {
      throw new IllegalArgumentException("max_concurrent_live_migrations must be 0 or more");
    }
  }

  public static MigrationOptions defaults() {
    return new MigrationOptions(1);
  }

  public static MigrationOptions fromConfig(Config c) {
    return new MigrationOptions(c.integer("max_concurrent_live_migrations", 1));
  }

  /** Worker threads of the live-migration pool: the limit, or a generous bound for "no limit". */
  int poolSize() {
    return maxConcurrentLiveMigrations == 0 ? 64 : maxConcurrentLiveMigrations;
  }
}
