package io.virga.api;

import io.virga.core.Flavor;
import io.virga.db.InstanceRepository;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * This API process's host claims in order, so that a scheduling pass weighs hosts with the claims
 * its read of their usage came too early to see — the requests of one process spread over the hosts
 * even when their passes run at the same time, as Nova's scheduler keeps one in-memory view of its
 * hosts that every request consumes from. Claims by other API processes are seen at a pass's next
 * read (as with several Nova schedulers, the claim still never oversubscribes).
 *
 * <p>A read runs with no claim in flight ({@link #read}: the write lock; a claim holds the read
 * lock from its pick to its commit), so every claim up to the position a read answers is in what it
 * read, and every later one is in {@link #usage}'s overlay. Picks are made under this log's
 * monitor: a pick and its entry are one step, so two passes never both take a host for the same
 * free RAM.
 */
final class ClaimLog {
  /** Entries older than this are dropped; a pass whose read is half as old reads again. */
  private static final long HORIZON_NANOS = Duration.ofMinutes(5).toNanos();

  private final ReentrantReadWriteLock reads = new ReentrantReadWriteLock();
  private final ArrayDeque<Entry> entries = new ArrayDeque<>(); // guarded by this
  private long position; // guarded by this

  /** A claim made, or being made, at {@code position}; cancelled when the database refused it. */
  static final class Entry {
    final long position;
    final String host;
    final Flavor flavor;
    final long atNanos;
    boolean cancelled; // guarded by the log

    private Entry(long position, String host, Flavor flavor, long atNanos) {
      this.position = position;
      this.host = host;
      this.flavor = flavor;
      this.atNanos = atNanos;
    }
  }

  /** Runs {@code read} with no claim in flight; answers the position its view includes. */
  long read(Runnable read) {
    reads.writeLock().lock();
    try {
      long seen;
      synchronized (this) {
        seen = position;
      }
      read.run();
      return seen;
    } finally {
      reads.writeLock().unlock();
    }
  }

  /** Whether a read made at {@code readNanos} is too old to be completed from this log. */
  static boolean tooOld(long readNanos) {
    return System.nanoTime() - readNanos > HORIZON_NANOS / 2;
  }

  /** Runs picks and claims (the database's too) while no {@link #read} runs. */
  <T> T claiming(Supplier<T> claims) {
    reads.readLock().lock();
    try {
      return claims.get();
    } finally {
      reads.readLock().unlock();
    }
  }

  /**
   * Under this log's monitor: each host's usage as read at {@code since} plus the claims logged
   * after it, for the hosts that have any (the others are as read).
   */
  Map<String, InstanceRepository.Usage> usage(
      long since, Function<String, InstanceRepository.Usage> read) {
    Map<String, InstanceRepository.Usage> out = new HashMap<>();
    Iterator<Entry> newestFirst = entries.descendingIterator();
    while (newestFirst.hasNext()) {
      Entry e = newestFirst.next();
      if (e.position <= since) {
        break;
      }
      if (!e.cancelled) {
        out.put(e.host, out.getOrDefault(e.host, read.apply(e.host)).plus(e.flavor, 1));
      }
    }
    return out;
  }

  /** Under this log's monitor: a claim of {@code host} for {@code flavor}, about to be made. */
  Entry add(String host, Flavor flavor) {
    long now = System.nanoTime();
    while (!entries.isEmpty() && now - entries.peekFirst().atNanos > HORIZON_NANOS) {
      entries.pollFirst();
    }
    Entry e = new Entry(++position, host, flavor, now);
    entries.addLast(e);
    return e;
  }

  /** The database refused the claim: it no longer counts. */
  synchronized void cancel(Entry e) {
    e.cancelled = true;
  }
}
