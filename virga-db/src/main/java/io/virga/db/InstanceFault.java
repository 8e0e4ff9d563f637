package io.virga.db;

import java.time.Instant;
import java.util.Optional;

/** The latest fault recorded for an instance (shown by the API while it is in error). */
public record InstanceFault(
    String instanceUuid, int code, String message, Optional<String> details, Instant createdAt) {}
