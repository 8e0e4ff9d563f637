package io.virga.libvirt;

/**
 * One poll of {@code virDomainGetJobStats} (bytes, ms); absent fields read 0.
 *
 * @param type libvirt's virDomainJobType ({@link #NONE} … {@link #CANCELLED})
 */
record MigrationJobStats(
    int type,
    long timeElapsedMs,
    long dataTotal,
    long dataProcessed,
    long dataRemaining,
    long memoryTotal,
    long memoryProcessed,
    long memoryRemaining,
    long diskTotal,
    long diskProcessed,
    long diskRemaining,
    long downtimeMs) {
  static final int NONE = 0;
  static final int BOUNDED = 1;
  static final int UNBOUNDED = 2;
  static final int COMPLETED = 3;
  static final int FAILED = 4;
  static final int CANCELLED = 5;
}
