package io.virga.core;

/** Nova's power_state codes, as shown in {@code OS-EXT-STS:power_state}. */
public enum PowerState {
  NOSTATE(0),
  RUNNING(1),
  PAUSED(3),
  SHUTDOWN(4),
  CRASHED(6),
  SUSPENDED(7);

  private final int code;

  PowerState(int code) {
    this.code = code;
  }

  public int code() {
    return code;
  }

  public static PowerState of(int code) {
    for (PowerState s : values()) {
      if (s.code == code) {
        return s;
      }
    }
    throw new IllegalArgumentException("unknown power_state: " + code);
  }
}
