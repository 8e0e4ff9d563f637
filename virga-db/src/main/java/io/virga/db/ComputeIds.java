package io.virga.db;

import java.util.HashMap;
import java.util.Map;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.SqlStatements;

/**
 * Numeric ids for the compute tables. The same migration runs on SQLite and PostgreSQL, which share
 * no auto-increment syntax, so ids come from a counter row, and ids are never reused (a libvirt
 * domain name {@code instance-%08x} must not repeat).
 *
 * <p>SQLite: the UPDATE runs in the caller's transaction, under SQLite's single write lock anyway.
 * PostgreSQL: an UPDATE in the caller's transaction would hold the counter's row lock until that
 * transaction commits, so every transaction inserting into one table (each instance action event of
 * every boot) would queue behind the others; instead each process reserves blocks of {@value
 * #BLOCK} ids at a time on a connection of its own (auto-commit) and hands them out from memory.
 * Processes get disjoint blocks; an id whose transaction rolls back is a harmless gap.
 */
final class ComputeIds {
  /** The Jdbi attribute holding a database's {@link Blocks} (PostgreSQL only). */
  static final String BLOCKS = "virga.compute-id-blocks";

  static final int BLOCK = 100;

  private ComputeIds() {}

  /**
   * Must run inside the caller's transaction (on SQLite the id and the row that uses it commit
   * together).
   */
  static long next(Handle h, String counter) {
    Object blocks = h.getConfig(SqlStatements.class).getAttribute(BLOCKS);
    if (blocks instanceof Blocks b) {
      return b.next(counter);
    }
    return h.createQuery(
                "UPDATE compute_id_counters SET next_value = next_value + 1 WHERE name = :name"
                    + " RETURNING next_value")
            .bind("name", counter)
            .mapTo(Long.class)
            .findOne()
            .orElseThrow(() -> new IllegalStateException("no id counter named " + counter))
        - 1;
  }

  /** One process's reserved ids per counter: [next, end). */
  static final class Blocks {
    private final Jdbi own;
    private final Map<String, long[]> ranges = new HashMap<>();

    Blocks(Jdbi own) {
      this.own = own;
    }

    synchronized long next(String counter) {
      long[] r = ranges.get(counter);
      if (r == null || r[0] >= r[1]) {
        long end =
            own.withHandle(
                    h ->
                        h.createQuery(
                                "UPDATE compute_id_counters SET next_value = next_value + :n"
                                    + " WHERE name = :name RETURNING next_value")
                            .bind("n", BLOCK)
                            .bind("name", counter)
                            .mapTo(Long.class)
                            .findOne())
                .orElseThrow(() -> new IllegalStateException("no id counter named " + counter));
        r = new long[] {end - BLOCK, end};
        ranges.put(counter, r);
      }
      return r[0]++;
    }
  }
}
