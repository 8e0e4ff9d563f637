package io.virga.api;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.Optional;

/** The two time formats the compute API uses, as Nova writes them. */
final class ComputeTime {
  private static final DateTimeFormatter ISO_Z =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss'Z'").withZone(ZoneOffset.UTC);
  private static final DateTimeFormatter MICROS =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSS").withZone(ZoneOffset.UTC);

  private ComputeTime() {}

  /** {@code 2012-08-20T21:11:09Z} (created, updated, fault created). */
  static String iso(Instant t) {
    return ISO_Z.format(t.truncatedTo(ChronoUnit.SECONDS));
  }

  /** {@code 2012-08-20T21:11:09.000000} (launched_at, terminated_at, action times). */
  static String micros(Instant t) {
    return MICROS.format(t);
  }

  static String microsOrNull(Optional<Instant> t) {
    return t.map(ComputeTime::micros).orElse(null);
  }
}
