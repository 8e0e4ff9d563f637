package io.virga.libvirt;

import java.util.ArrayDeque;
import java.util.Deque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The small engine every migration flow runs on (Proxmox's phases with their cleanups): each step
 * is named and paired with its rollback; when a step fails, the rollbacks of the steps that
 * completed run in reverse order (a failing rollback is logged and the others still run) and a
 * {@link MigrationException} names the step that failed.
 */
final class MigrationSteps {
  private static final Logger LOG = LoggerFactory.getLogger(MigrationSteps.class);

  /** A step's body or rollback. */
  @FunctionalInterface
  interface Action {
    void run() throws Exception;
  }

  /** A step that yields a value. */
  @FunctionalInterface
  interface Producer<T> {
    T get() throws Exception;
  }

  private record Done(String name, Action undo) {}

  private final String uuid;
  private final String flow;
  private final Deque<Done> done = new ArrayDeque<>();

  MigrationSteps(String uuid, String flow) {
    this.uuid = uuid;
    this.flow = flow;
  }

  /** Runs {@code step}; {@code undo} is kept for a later failure. */
  void step(String name, Action step, Action undo) {
    call(
        name,
        () -> {
          step.run();
          return null;
        },
        undo);
  }

  /** A step without anything to undo. */
  void step(String name, Action step) {
    step(name, step, () -> {});
  }

  <T> T call(String name, Producer<T> step, Action undo) {
    long t0 = System.nanoTime();
    T out;
    try {
      out = step.get();
    } catch (Exception e) {
      LOG.warn("instance {}: {} failed at {}: {}", uuid, flow, name, e.toString());
      rollback(e);
      throw new MigrationException(uuid, name, e);
    }
    LOG.debug(
        "instance {}: {}: {} took {} ms", uuid, flow, name, (System.nanoTime() - t0) / 1_000_000);
    done.push(new Done(name, undo));
    return out;
  }

  /** Undoes every completed step, newest first; their failures are added to {@code cause}. */
  void rollback(Exception cause) {
    while (!done.isEmpty()) {
      Done d = done.pop();
      try {
        d.undo().run();
      } catch (Exception e) {
        cause.addSuppressed(e);
        LOG.error("instance {}: {}: undoing {} failed: {}", uuid, flow, d.name(), e.toString());
      }
    }
  }
}
