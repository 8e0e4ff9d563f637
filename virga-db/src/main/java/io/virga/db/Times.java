package io.virga.db;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Optional;

/** Times are stored as epoch milliseconds (portable between SQLite and PostgreSQL). */
final class Times {
  private Times() {}

  static long now() {
    return System.currentTimeMillis();
  }

  static Instant of(ResultSet rs, String col) throws SQLException {
    return Instant.ofEpochMilli(rs.getLong(col));
  }

  static Optional<Instant> optional(ResultSet rs, String col) throws SQLException {
    long v = rs.getLong(col);
    return rs.wasNull() ? Optional.empty() : Optional.of(Instant.ofEpochMilli(v));
  }

  static Optional<String> string(ResultSet rs, String col) throws SQLException {
    return Optional.ofNullable(rs.getString(col));
  }

  static Long millis(Optional<Instant> t) {
    return t.map(Instant::toEpochMilli).orElse(null);
  }
}
