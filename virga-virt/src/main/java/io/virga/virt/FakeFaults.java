package io.virga.virt;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Injected failures, delays and hooks for {@link FakeDriver}, keyed by operation. Thread-safe; a
 * test configures it while the driver runs.
 */
public final class FakeFaults {
  /** The driver operations a fault can be attached to. */
  public enum Op {
    SPAWN,
    FETCH_IMAGE,
    DESTROY,
    DELETE_FILES,
    POWER_OFF,
    POWER_ON,
    REBOOT,
    PAUSE,
    UNPAUSE,
    SUSPEND,
    RESUME,
    SNAPSHOT,
    CLEANUP,
    REBUILD,
    RESCUE,
    UNRESCUE,
    PREPARE_MIGRATION,
    MIGRATE_DISK,
    /** Once per chunk of a cold-migration disk copy (block it to hold a copy mid-way). */
    COPY_DISK,
    FINISH_MIGRATION,
    CONFIRM_MIGRATION,
    FINISH_REVERT_MIGRATION,
    LIVE_CHECK_DESTINATION,
    LIVE_CHECK_SOURCE,
    PRE_LIVE_MIGRATION,
    LIVE_MIGRATION,
    /** Once per monitor poll of a live migration. */
    LIVE_MIGRATION_STEP,
    POST_LIVE_MIGRATION,
    /** Once per image-cache pass (the uuid is empty). */
    IMAGE_CACHE
  }

  private final Map<Op, ConcurrentLinkedDeque<Supplier<RuntimeException>>> failNext =
      new ConcurrentHashMap<>();
  private final Map<Op, Supplier<RuntimeException>> failAlways = new ConcurrentHashMap<>();
  private final Map<Op, Duration> delays = new ConcurrentHashMap<>();
  private final Map<Op, Consumer<String>> hooks = new ConcurrentHashMap<>();

  FakeFaults() {}

  /** The next call of {@code op} (any instance) throws what {@code error} supplies. */
  public FakeFaults failNext(Op op, Supplier<RuntimeException> error) {
    failNext.computeIfAbsent(op, k -> new ConcurrentLinkedDeque<>()).add(error);
    return this;
  }

  /** Every call of {@code op} throws until {@link #clear}. */
  public FakeFaults failAlways(Op op, Supplier<RuntimeException> error) {
    failAlways.put(op, error);
    return this;
  }

  /** Every call of {@code op} sleeps this long first (simulates a slow hypervisor). */
  public FakeFaults delay(Op op, Duration delay) {
    delays.put(op, delay);
    return this;
  }

  /**
   * Called with the instance uuid at the start of every {@code op}, on the caller's thread: a test
   * may block in it (a latch) to hold an operation in flight.
   */
  public FakeFaults hook(Op op, Consumer<String> hook) {
    hooks.put(op, hook);
    return this;
  }

  /** Removes every fault, delay and hook. */
  public void clear() {
    failNext.clear();
    failAlways.clear();
    delays.clear();
    hooks.clear();
  }

  /** Applies what is configured for {@code op}: hook, then delay, then a failure if any. */
  void apply(Op op, String uuid) {
    Consumer<String> hook = hooks.get(op);
    if (hook != null) {
      hook.accept(uuid);
    }
    Duration d = delays.get(op);
    if (d != null && !d.isZero()) {
      try {
        Thread.sleep(d);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new io.virga.core.VirgaException(op + " interrupted", e);
      }
    }
    ConcurrentLinkedDeque<Supplier<RuntimeException>> q = failNext.get(op);
    Supplier<RuntimeException> once = q == null ? null : q.poll();
    if (once != null) {
      throw once.get();
    }
    Supplier<RuntimeException> always = failAlways.get(op);
    if (always != null) {
      throw always.get();
    }
  }
}
