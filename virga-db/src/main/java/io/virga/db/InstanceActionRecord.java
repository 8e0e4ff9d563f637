package io.virga.db;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** An instance action (os-instance-actions) with its events, oldest event first. */
public record InstanceActionRecord(
    long id,
    String requestId,
    String instanceUuid,
    String action,
    String projectId,
    String userId,
    Optional<String> message,
    Instant startTime,
    Optional<Instant> finishTime,
    Instant updatedAt,
    List<Event> events) {

  public record Event(
      String event,
      Optional<String> host,
      Optional<String> result,
      Optional<String> traceback,
      Instant startTime,
      Optional<Instant> finishTime) {}
}
