package io.virga.core;

/** Nova's migration_type, as os-migrations shows it. */
public enum MigrationType {
  MIGRATION("migration"),
  RESIZE("resize"),
  LIVE_MIGRATION("live-migration"),
  EVACUATION("evacuation");

  private final String value;

  MigrationType(String value) {
    this.value = value;
  }

  public String value() {
    return value;
  }

  public static MigrationType of(String value) {
    for (MigrationType t : values()) {
      if (t.value.equals(value)) {
        return t;
      }
    }
    throw new IllegalArgumentException("unknown migration type: " + value);
  }
}
