package io.virga.db;

import java.time.Instant;
import java.util.Optional;

/** A compute service (binary {@code nova-compute}) on a host: enabled state and heartbeat. */
public record ComputeServiceRecord(
    long id,
    String uuid,
    String host,
    String binary,
    String topic,
    String availabilityZone,
    boolean disabled,
    Optional<String> disabledReason,
    boolean forcedDown,
    Optional<Instant> lastSeenUp,
    Instant createdAt,
    Instant updatedAt) {

  /** Up when not forced down and the last heartbeat is younger than {@code downTimeSeconds}. */
  public boolean isUp(Instant now, long downTimeSeconds) {
    return !forcedDown
        && lastSeenUp.map(t -> t.plusSeconds(downTimeSeconds).isAfter(now)).orElse(false);
  }
}
