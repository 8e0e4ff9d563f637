package io.virga.virt;

/**
 * Progress of a migration, as the driver reports it while it runs (bytes; zero when unknown).
 * Memory figures come from libvirt's job stats for live migration; disk figures from the block copy
 * (live block migration) or the disk transfer channel (cold migration).
 */
public record MigrationProgress(
    long memoryTotal,
    long memoryProcessed,
    long memoryRemaining,
    long diskTotal,
    long diskProcessed,
    long diskRemaining) {

  public static final MigrationProgress NONE = new MigrationProgress(0, 0, 0, 0, 0, 0);

  /** Percent done over memory and disk together, 0–100, as {@code progress} in server show. */
  public int percent() {
    long total = memoryTotal + diskTotal;
    if (total <= 0) {
      return 0;
    }
    long done = memoryProcessed + diskProcessed;
    return (int) Math.max(0, Math.min(100, done * 100 / total));
  }
}
