package io.virga.db;

import org.jdbi.v3.core.Handle;

/**
 * Numeric ids for the compute tables. The same migration runs on SQLite and PostgreSQL, which share
 * no auto-increment syntax, so ids come from a counter row: the UPDATE takes the row lock
 * (PostgreSQL) or the write lock (SQLite), so concurrent callers never get the same value, and ids
 * are never reused (a libvirt domain name {@code instance-%08x} must not repeat).
 */
final class ComputeIds {
  private ComputeIds() {}

  /**
   * Must run inside the caller's transaction so the id and the row that uses it commit together.
   */
  static long next(Handle h, String counter) {
    int n =
        h.createUpdate(
                "UPDATE compute_id_counters SET next_value = next_value + 1 WHERE name = :name")
            .bind("name", counter)
            .execute();
    if (n != 1) {
      throw new IllegalStateException("no id counter named " + counter);
    }
    return h.createQuery("SELECT next_value FROM compute_id_counters WHERE name = :name")
            .bind("name", counter)
            .mapTo(Long.class)
            .one()
        - 1;
  }
}
