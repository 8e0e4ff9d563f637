package io.virga.core;

/** Status of a cold or live migration record, as Nova names them. */
public enum MigrationStatus {
  PRE_MIGRATING("pre-migrating"),
  MIGRATING("migrating"),
  POST_MIGRATING("post-migrating"),
  FINISHED("finished"),
  CONFIRMING("confirming"),
  CONFIRMED("confirmed"),
  REVERTING("reverting"),
  REVERTED("reverted"),
  ACCEPTED("accepted"),
  RUNNING("running"),
  QUEUED("queued"),
  PREPARING("preparing"),
  COMPLETED("completed"),
  /** An evacuation rebuilt on its destination; the source has yet to clean up. */
  DONE("done"),
  CANCELLING("cancelling"),
  CANCELLED("cancelled"),
  FAILED("failed"),
  ERROR("error");

  private final String value;

  MigrationStatus(String value) {
    this.value = value;
  }

  public String value() {
    return value;
  }

  public static MigrationStatus of(String value) {
    for (MigrationStatus s : values()) {
      if (s.value.equals(value)) {
        return s;
      }
    }
    throw new IllegalArgumentException("unknown migration status: " + value);
  }
}
