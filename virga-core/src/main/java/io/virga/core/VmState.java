package io.virga.core;

/** Nova's vm_state: the stable state an instance rests in between tasks. */
public enum VmState {
  ACTIVE("active"),
  BUILDING("building"),
  PAUSED("paused"),
  SUSPENDED("suspended"),
  STOPPED("stopped"),
  RESCUED("rescued"),
  RESIZED("resized"),
  SOFT_DELETED("soft-delete"),
  DELETED("deleted"),
  ERROR("error"),
  SHELVED("shelved"),
  SHELVED_OFFLOADED("shelved_offloaded");

  private final String value;

  VmState(String value) {
    this.value = value;
  }

  /** The string Nova stores and shows in {@code OS-EXT-STS:vm_state}. */
  public String value() {
    return value;
  }

  public static VmState of(String value) {
    for (VmState s : values()) {
      if (s.value.equals(value)) {
        return s;
      }
    }
    throw new IllegalArgumentException("unknown vm_state: " + value);
  }
}
