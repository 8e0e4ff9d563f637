package io.virga.virt;

import java.time.Instant;

/** A hypervisor lifecycle event for one instance, handed to the compute manager. */
public record LifecycleEvent(String uuid, Transition transition, Instant at) {
  public enum Transition {
    STARTED,
    STOPPED,
    PAUSED,
    RESUMED,
    SUSPENDED,
    CRASHED
  }
}
