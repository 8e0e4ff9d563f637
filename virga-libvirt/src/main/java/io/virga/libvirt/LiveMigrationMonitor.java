package io.virga.libvirt;

import io.virga.virt.MigrationProgress;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Nova's {@code _live_migration_monitor}: one loop polling the job every 0.5 s while the migration
 * thread runs — raises max downtime along {@link LiveMigrationPolicy#downtimeSteps}, takes the
 * timeout action past the completion timeout, serves abort and force-complete requests (post-copy
 * when the migration was started with it, else pause the guest), and reports memory and disk
 * progress. The decisions are {@link LiveMigrationPolicy}'s.
 */
final class LiveMigrationMonitor {
  private static final Logger LOG = LoggerFactory.getLogger(LiveMigrationMonitor.class);
  static final long POLL_MS = 500;

  /** Requests from other threads (API abort / force complete) for one running migration. */
  static final class Requests {
    volatile boolean abort;
    volatile boolean forceComplete;
    volatile String abortReason = "aborted by request";
  }

  /**
   * What happened, for the caller's rollback and the log.
   *
   * @param last the last progress polled (memory and disk totals), {@link MigrationProgress#NONE}
   *     when no poll saw the job
   */
  record Outcome(
      boolean pausedOnSource, boolean postCopy, long timeoutActions, MigrationProgress last) {}

  private final String uuid;
  private final Guest guest;
  private final MigrationOptions opts;
  private final long dataGb;
  private final int flags;
  private final Requests requests;
  private final Consumer<MigrationProgress> progress;

  LiveMigrationMonitor(
      String uuid,
      Guest guest,
      MigrationOptions opts,
      long dataGb,
      int flags,
      Requests requests,
      Consumer<MigrationProgress> progress) {
    this.uuid = uuid;
    this.guest = guest;
    this.opts = opts;
    this.dataGb = dataGb;
    this.flags = flags;
    this.requests = requests;
    this.progress = progress;
  }

  /** Polls until {@code job} ends; what the monitor did (its exception is left in {@code job}). */
  Outcome run(CompletableFuture<Void> job) {
    List<LiveMigrationPolicy.DowntimeStep> steps = LiveMigrationPolicy.downtimeSteps(opts, dataGb);
    long timeout = LiveMigrationPolicy.completionTimeoutSec(opts, dataGb);
    long start = System.nanoTime();
    long downtime = -1;
    boolean aborted = false;
    boolean forced = false;
    boolean paused = false;
    boolean postCopy = false;
    long timeoutActions = 0;
    MigrationProgress last = MigrationProgress.NONE;
    while (!waitFor(job)) {
      long elapsedSec = (System.nanoTime() - start) / 1_000_000_000L;
      MigrationJobStats st;
      try {
        st = guest.jobStats(false);
      } catch (LibvirtException e) {
        LOG.debug("instance {}: job stats unavailable: {}", uuid, e.getMessage());
        continue;
      }
      if (st.type() == MigrationJobStats.NONE) {
        continue; // not started yet, or just ended
      }
      last = progressOf(st);
      progress.accept(last);
      var next = LiveMigrationPolicy.downtimeUpdate(steps, elapsedSec, downtime);
      if (next.isPresent() && trySetDowntime(next.getAsLong())) {
        downtime = next.getAsLong();
      }
      if (timeoutActions == 0 && LiveMigrationPolicy.timedOut(elapsedSec, timeout, postCopy)) {
        timeoutActions++;
        LOG.warn(
            "instance {}: live migration passed its completion timeout of {} s: {}",
            uuid,
            timeout,
            opts.timeoutAction());
        if (opts.timeoutAction() == MigrationOptions.TimeoutAction.ABORT) {
          requests.abortReason = "cancelled: completion timeout of " + timeout + " s passed";
          requests.abort = true;
        } else {
          requests.forceComplete = true;
        }
      }
      if (requests.abort && !aborted) {
        aborted = true;
        abort();
      }
      boolean byPostCopy = LiveMigrationPolicy.forceCompleteByPostCopy(flags);
      // qemu takes the switch to post-copy only once memory is being copied (after the disks)
      if (requests.forceComplete
          && !forced
          && !aborted
          && LiveMigrationPolicy.canForceNow(byPostCopy, st.memoryProcessed())) {
        forced = true;
        postCopy = byPostCopy && tryPostCopy();
        if (!postCopy) {
          guest.pause(); // the guest stops dirtying memory: the copy converges
          paused = true;
          LOG.info("instance {}: paused on the source to force the migration to complete", uuid);
        }
      }
    }
    return new Outcome(paused, postCopy, timeoutActions, last);
  }

  /** True once the job ended (either way); waits at most one poll interval. */
  private static boolean waitFor(CompletableFuture<Void> job) {
    try {
      job.get(POLL_MS, TimeUnit.MILLISECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (ExecutionException e) {
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return true;
    }
  }

  /**
   * The progress to report once the migration completed: all of the totals processed. The totals
   * are the last poll's; a migration too quick for a poll in a phase reports what that phase moved
   * as the guest's memory and the disks' local bytes ({@code diskBytes}, 0 without block
   * migration).
   */
  static MigrationProgress completed(MigrationProgress last, long memoryBytes, long diskBytes) {
    long mem = last.memoryTotal() > 0 ? last.memoryTotal() : memoryBytes;
    long disk = last.diskTotal() > 0 ? last.diskTotal() : diskBytes;
    return new MigrationProgress(mem, mem, 0, disk, disk, 0);
  }

  static MigrationProgress progressOf(MigrationJobStats s) {
    return new MigrationProgress(
        s.memoryTotal(),
        s.memoryProcessed(),
        s.memoryRemaining(),
        s.diskTotal(),
        s.diskProcessed(),
        s.diskRemaining());
  }

  private boolean trySetDowntime(long ms) {
    try {
      guest.migrateSetMaxDowntime(ms);
      LOG.debug("instance {}: max downtime {} ms", uuid, ms);
      return true;
    } catch (LibvirtException e) {
      LOG.debug("instance {}: cannot set max downtime yet: {}", uuid, e.getMessage());
      return false;
    }
  }

  private void abort() {
    try {
      guest.abortJob();
      LOG.info("instance {}: live migration aborted ({})", uuid, requests.abortReason);
    } catch (LibvirtException e) {
      LOG.warn("instance {}: abort failed (the job may have just ended): {}", uuid, e.getMessage());
    }
  }

  private boolean tryPostCopy() {
    try {
      guest.migrateStartPostCopy();
      LOG.info("instance {}: switched the live migration to post-copy", uuid);
      return true;
    } catch (LibvirtException e) {
      LOG.warn("instance {}: post-copy refused, pausing instead: {}", uuid, e.getMessage());
      return false;
    }
  }
}
