package io.virga.libvirt;

import io.virga.core.Config;
import io.virga.core.DiskFormat;
import io.virga.core.InvalidStateException;
import io.virga.core.NotFoundException;
import io.virga.core.TaskState;
import io.virga.libvirt.SnapshotDomain.PowerState;
import io.virga.virt.SnapshotUpload;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Nova's libvirt {@code snapshot()}: copy an instance's root disk into one flat image and hand it
 * to the upload (DESIGN §3.5). Running and paused guests take {@link #liveSnapshot} (the guest
 * never stops); stopped and suspended guests, or every guest when {@code disable_live_snapshot},
 * take {@link #coldSnapshot}. The domain ends persistent and in its prior power state on every
 * path, and the temporary files under the snapshots directory are removed on every path.
 */
final class SnapshotFlow {
  private static final Logger LOG = LoggerFactory.getLogger(SnapshotFlow.class);
  private static final Duration POLL = Duration.ofMillis(20);

  private final SnapshotOptions options;
  private final QemuImg qemuImg;

  SnapshotFlow(SnapshotOptions options, QemuImg qemuImg) {
    this.options = options;
    this.qemuImg = qemuImg;
  }

  SnapshotFlow(SnapshotOptions options) {
    this(options, new QemuImg());
  }

  /** As configured (options in {@link SnapshotOptions}), sharing the driver's qemu-img runner. */
  static SnapshotFlow fromConfig(Config config, Path instancesPath, QemuImg qemuImg) {
    return new SnapshotFlow(SnapshotOptions.from(config, instancesPath), qemuImg);
  }

  SnapshotOptions options() {
    return options;
  }

  /**
   * Agent-start recovery for this host's snapshots directory: {@link
   * SnapshotRecovery#cleanupStaleSnapshots(Path, BiConsumer)} with libvirt restoring any domain a
   * dead snapshot left transient.
   */
  int recoverStaleSnapshots(LibvirtHost host) {
    return SnapshotRecovery.cleanupStaleSnapshots(
        options.snapshotsDirectory(), LibvirtSnapshotDomain.restoreTransient(host));
  }

  /**
   * What {@code LibvirtDriver.snapshot} delegates to: looks the instance's domain up by uuid, takes
   * the root disk {@code <instanceDir>/disk} with its format recorded in disk.info, and runs {@link
   * #snapshot(SnapshotDomain, Path, Optional, SnapshotUpload, Consumer)}.
   */
  void snapshot(
      LibvirtHost host,
      String uuid,
      Path instanceDir,
      SnapshotUpload upload,
      Consumer<TaskState> taskState) {
    try (Guest g =
        host.lookup(uuid)
            .orElseThrow(
                () -> new NotFoundException("instance " + uuid + " is not defined on this host"))) {
      snapshot(
          new LibvirtSnapshotDomain(host, g),
          instanceDir.resolve("disk"),
          DiskInfo.format(instanceDir, "disk").map(DiskFormat::qemuName),
          upload,
          taskState);
    }
  }

  /**
   * Snapshot the domain's root disk {@code rootDisk} into {@code upload}, telling {@code taskState}
   * image_pending_upload when the copy starts and image_uploading before the upload.
   *
   * @param recordedFormat the root disk's format from disk.info, when the caller has it
   */
  void snapshot(
      SnapshotDomain domain,
      Path rootDisk,
      Optional<String> recordedFormat,
      SnapshotUpload upload,
      Consumer<TaskState> taskState) {
    PowerState state = domain.powerState();
    if (state == PowerState.OTHER) {
      throw new InvalidStateException(
          "domain " + domain.name() + " is neither running, paused, stopped nor suspended");
    }
    SnapshotRootDisk root = SnapshotRootDisk.find(domain.liveXml(), rootDisk, recordedFormat);
    String format = options.outputFormat(root.format());
    boolean live =
        !options.disableLiveSnapshot()
            && (state == PowerState.RUNNING || state == PowerState.PAUSED);
    Path tmp = createTempDir();
    try {
      Path out = tmp.resolve("snapshot." + format);
      Steps steps = new Steps();
      if (live) {
        taskState.accept(TaskState.IMAGE_PENDING_UPLOAD);
        liveSnapshot(domain, root, tmp, out, format, steps);
      } else {
        coldSnapshot(domain, state, root, out, format, taskState, steps);
      }
      LOG.info(
          "domain {}: {} snapshot of {} extracted as {} ({}), beginning upload",
          domain.name(),
          live ? "live" : "cold",
          root.target(),
          format,
          steps);
      taskState.accept(TaskState.IMAGE_UPLOADING);
      upload.upload(out, format);
    } finally {
      SnapshotRecovery.deleteTree(tmp);
    }
  }

  /**
   * Nova's {@code _live_snapshot}: mirror the top layer of the running disk into a delta with the
   * same backing file, end the mirror without pivoting, then flatten the delta.
   */
  void liveSnapshot(
      SnapshotDomain domain, SnapshotRootDisk root, Path tmp, Path out, String fmt, Steps steps) {
    String dev = root.target();
    // an earlier failed attempt may have left a job behind; aborting is idempotent
    if (domain.blockJobInfo(dev).isPresent()) {
      domain.blockJobAbort(dev);
    }
    QemuImg.Info info = qemuImg.info(root.path(), root.format(), true);
    Path delta = tmp.resolve("disk.delta");
    createDelta(delta, info);
    steps.mark("delta");
    boolean persistent = domain.isPersistent();
    String xml = persistent ? domain.persistentXml() : null;
    if (persistent) {
      // kept until the define below succeeds, so an agent killed in between can restore it
      SnapshotRecovery.saveDefinition(tmp, domain.name(), root.path(), xml);
    }
    RuntimeException failure = null;
    try {
      boolean copying = false;
      try {
        if (persistent) {
          // a persistent domain refuses a shallow block copy: make it transient meanwhile
          domain.undefineKeepRunning();
        }
        domain.blockCopyShallowReuseExternal(dev, delta.toString());
        copying = true;
        waitForMirrorReady(domain, dev);
        steps.mark("mirror");
      } catch (RuntimeException e) {
        failure = e;
      }
      if (copying) {
        try {
          domain.blockJobAbort(dev);
        } catch (RuntimeException e) {
          failure = chain(failure, e);
        }
      }
    } finally {
      if (persistent) {
        failure = redefine(domain, root, xml, tmp, failure);
      }
    }
    if (failure != null) {
      throw failure;
    }
    steps.mark("abort+define");
    qemuImg.convert(delta, "qcow2", out, fmt, options.compression() && fmt.equals("qcow2"));
    steps.mark("convert");
    SnapshotRecovery.deleteQuietly(delta);
  }

  /**
   * The cold path: Nova's {@code _prepare_domain_for_snapshot} (managedSave a running or paused
   * guest), {@code snapshot_extract}, then {@code _snapshot_domain} (restore the power state).
   */
  void coldSnapshot(
      SnapshotDomain domain,
      PowerState state,
      SnapshotRootDisk root,
      Path out,
      String fmt,
      Consumer<TaskState> taskState,
      Steps steps) {
    boolean wasActive = state == PowerState.RUNNING || state == PowerState.PAUSED;
    if (wasActive) {
      domain.managedSave();
      steps.mark("managedSave");
    }
    RuntimeException failure = null;
    try {
      taskState.accept(TaskState.IMAGE_PENDING_UPLOAD);
      qemuImg.convert(
          root.path(), root.format(), out, fmt, options.compression() && fmt.equals("qcow2"));
      steps.mark("convert");
    } catch (RuntimeException e) {
      failure = e;
    } finally {
      if (wasActive) {
        try {
          domain.start(state == PowerState.PAUSED);
          steps.mark("restore");
        } catch (RuntimeException e) {
          failure = chain(failure, e);
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  /** The delta has the root disk's backing file (with its recorded format) and virtual size. */
  private void createDelta(Path delta, QemuImg.Info disk) {
    if (disk.backingFile().isEmpty()) {
      qemuImg.create(delta, "qcow2", disk.virtualSize());
      return;
    }
    String backingFormat =
        disk.backingFormat()
            .orElseThrow(
                () ->
                    new SnapshotException(
                        "root disk's backing file "
                            + disk.backingFile().get()
                            + " has no recorded format; refusing to let qemu probe it"));
    qemuImg.createOverlay(
        delta, Path.of(disk.backingFile().get()), backingFormat, disk.virtualSize());
  }

  private void waitForMirrorReady(SnapshotDomain domain, String dev) {
    long deadline = System.nanoTime() + options.blockJobTimeout().toNanos();
    while (true) {
      Guest.BlockJob job =
          domain
              .blockJobInfo(dev)
              .orElseThrow(
                  () ->
                      new SnapshotException(
                          "domain "
                              + domain.name()
                              + ": the block copy of "
                              + dev
                              + " ended before its mirror was ready"));
      if (job.ready() && SnapshotRootDisk.mirrorReady(domain.liveXml(), dev)) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new SnapshotException(
            "domain "
                + domain.name()
                + ": the block copy of "
                + dev
                + " was not ready after "
                + options.blockJobTimeout().toSeconds()
                + " s (snapshot_block_job_timeout); "
                + job.cur()
                + " of "
                + job.end()
                + " bytes copied");
      }
      sleep(POLL);
    }
  }

  /**
   * Makes the domain persistent again, unless its root disk is gone: then the instance was deleted
   * during the snapshot and defining it would bring a deleted server back.
   */
  private RuntimeException redefine(
      SnapshotDomain domain,
      SnapshotRootDisk root,
      String xml,
      Path tmp,
      RuntimeException failure) {
    if (!Files.exists(root.path())) {
      LOG.warn(
          "domain {}: root disk {} disappeared during the snapshot (instance deleted);"
              + " not defining it again",
          domain.name(),
          root.path());
      return chain(
          failure,
          new SnapshotException(
              "domain "
                  + domain.name()
                  + ": the instance was deleted during the snapshot (its root disk is gone)"));
    }
    try {
      domain.define(xml);
      return failure;
    } catch (RuntimeException e) {
      LOG.error(
          "domain {}: could not define its saved XML again; it stays transient until the agent"
              + " restarts and restores it from the snapshots directory",
          domain.name(),
          e);
      SnapshotRecovery.keepDefinition(tmp, options.snapshotsDirectory());
      return chain(failure, e);
    } finally {
      SnapshotRecovery.discardDefinition(tmp);
    }
  }

  /** Time per step, for the log line operators read when a snapshot is slow. */
  static final class Steps {
    private final long start = System.nanoTime();
    private long last = start;
    private final StringBuilder text = new StringBuilder();

    void mark(String step) {
      long now = System.nanoTime();
      text.append(step).append(' ').append((now - last) / 1_000_000).append(" ms, ");
      last = now;
    }

    @Override
    public String toString() {
      return text + "total " + (System.nanoTime() - start) / 1_000_000 + " ms";
    }
  }

  private static RuntimeException chain(RuntimeException first, RuntimeException next) {
    if (first == null) {
      return next;
    }
    first.addSuppressed(next);
    return first;
  }

  private Path createTempDir() {
    try {
      Files.createDirectories(options.snapshotsDirectory());
      return Files.createTempDirectory(options.snapshotsDirectory(), SnapshotRecovery.TEMP_PREFIX);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot create a temporary directory in " + options.snapshotsDirectory(), e);
    }
  }

  private static void sleep(Duration d) {
    try {
      Thread.sleep(d);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SnapshotException("interrupted while waiting for the block copy", e);
    }
  }
}
