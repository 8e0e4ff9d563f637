package io.virga.libvirt;

import io.virga.core.NotFoundException;
import io.virga.virt.InstanceSpec;
import io.virga.virt.LiveMigrationData;
import io.virga.virt.MigrationProgress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The source half of live migration (DESIGN §3.4), Nova's {@code live_migration} → {@code
 * _live_migration_operation} on its own platform thread, watched by {@link LiveMigrationMonitor};
 * abort and force-complete requests reach the monitor through {@link #abort} and {@link
 * #forceComplete}; {@code post_live_migration_at_source} removes what stays behind.
 */
final class LiveMigration {
  private static final Logger LOG = LoggerFactory.getLogger(LiveMigration.class);
  private static final int XML_SECURE = 1;
  private static final int XML_MIGRATABLE = 8;

  private final LibvirtDriverContext ctx;
  private final MigrationOptions opts;
  private final Destroy destroy;
  private final Map<String, LiveMigrationMonitor.Requests> running = new ConcurrentHashMap<>();

  LiveMigration(LibvirtDriverContext ctx, MigrationOptions opts, Destroy destroy) {
    this.ctx = ctx;
    this.opts = opts;
    this.destroy = destroy;
  }

  void migrate(InstanceSpec spec, LiveMigrationData data, Consumer<MigrationProgress> progress) {
    String uuid = spec.uuid();
    LiveMigrationMonitor.Requests requests = new LiveMigrationMonitor.Requests();
    if (running.putIfAbsent(uuid, requests) != null) {
      throw new io.virga.core.InvalidStateException("instance " + uuid + " is already migrating");
    }
    try (Guest g =
        ctx.host
            .lookup(uuid)
            .orElseThrow(
                () -> new NotFoundException("instance " + uuid + " is not on this host"))) {
      run(spec, g, data, requests, progress);
    } finally {
      running.remove(uuid);
    }
  }

  private void run(
      InstanceSpec spec,
      Guest g,
      LiveMigrationData data,
      LiveMigrationMonitor.Requests requests,
      Consumer<MigrationProgress> progress) {
    String uuid = spec.uuid();
    String sourceXml = g.xml(XML_SECURE | XML_MIGRATABLE);
    Optional<String> destXml =
        data.destinationXml().map(d -> LiveMigrationXml.update(sourceXml, d));
    int flags = LiveMigrationPolicy.flags(opts, data.blockMigration());
    var params =
        new MigrationParams(
            destXml,
            data.blockMigration() ? data.migrateDisks() : List.of(),
            data.destAddress().isBlank()
                ? Optional.empty()
                : Optional.of("tcp://" + data.destAddress()),
            opts.bandwidthMiBs(),
            opts.parallelConnections());
    long diskBytes = data.blockMigration() ? localDiskBytes(ctx.opts.instanceDir(uuid)) : 0;
    long dataGb =
        LiveMigrationPolicy.dataGb(spec.flavor().memoryMb(), diskBytes, data.blockMigration());
    CompletableFuture<Void> job = new CompletableFuture<>();
    long t0 = System.nanoTime();
    Thread.ofPlatform()
        .name("live-migration-" + uuid)
        .daemon()
        .start(
            () -> {
              try {
                g.migrateToUri3(data.destMigrationUri(), params, flags);
                job.complete(null);
              } catch (Throwable t) {
                job.completeExceptionally(t);
              }
            });
    LOG.info(
        "instance {}: live migration to {} started (block {}, flags {}, {} GiB of data)",
        uuid,
        data.destMigrationUri(),
        data.blockMigration(),
        flags,
        dataGb);
    var outcome =
        new LiveMigrationMonitor(uuid, g, opts, dataGb, flags, requests, progress).run(job);
    long ms = (System.nanoTime() - t0) / 1_000_000;
    try {
      job.join();
    } catch (CompletionException e) {
      failed(uuid, g, outcome, requests, e.getCause() == null ? e : e.getCause(), ms);
    }
    progress.accept(
        LiveMigrationMonitor.completed(
            outcome.last(), (long) spec.flavor().memoryMb() << 20, diskBytes));
    LOG.info(
        "instance {}: live migration completed in {} ms (post-copy {}, paused {})",
        uuid,
        ms,
        outcome.postCopy(),
        outcome.pausedOnSource());
  }

  /** The guest stays on the source: resumed if force-complete paused it; the error says why. */
  private static void failed(
      String uuid,
      Guest g,
      LiveMigrationMonitor.Outcome outcome,
      LiveMigrationMonitor.Requests requests,
      Throwable cause,
      long ms) {
    if (outcome.pausedOnSource()) {
      try {
        g.resume();
      } catch (LibvirtException e) {
        LOG.warn("instance {}: cannot resume after the failed migration: {}", uuid, e.getMessage());
      }
    }
    String why =
        requests.abort
            ? (requests.abortReason.startsWith("cancelled") ? "" : "cancelled: ")
                + requests.abortReason
            : "failed";
    LOG.warn("instance {}: live migration {} after {} ms: {}", uuid, why, ms, cause.getMessage());
    throw new MigrationException(uuid, "liveMigrationOperation (" + why + ")", cause);
  }

  private static long localDiskBytes(Path dir) {
    long sum = 0;
    for (String name : List.of(ImageBackend.ROOT, ImageBackend.EPHEMERAL, ImageBackend.SWAP)) {
      try {
        Path p = dir.resolve(name);
        sum += Files.exists(p) ? Files.size(p) : 0;
      } catch (IOException e) {
        LOG.debug("cannot size {}: {}", name, e.toString());
      }
    }
    return sum;
  }

  boolean abort(String uuid) {
    LiveMigrationMonitor.Requests r = running.get(uuid);
    if (r == null) {
      return false;
    }
    r.abort = true;
    return true;
  }

  boolean forceComplete(String uuid) {
    LiveMigrationMonitor.Requests r = running.get(uuid);
    if (r == null) {
      return false;
    }
    r.forceComplete = true;
    return true;
  }

  /** After success: the source's files go unless the instances path is shared. */
  void postAtSource(InstanceSpec spec, LiveMigrationData data) {
    ctx.host
        .lookup(spec.uuid())
        .ifPresent(
            g -> {
              try (g) {
                if (!g.isActive()) { // UNDEFINE_SOURCE normally did this
                  g.undefine();
                }
              }
            });
    if (!data.sharedInstancePath() && !destroy.deleteInstanceFiles(spec.uuid())) {
      LOG.warn(
          "instance {}: source files not all removed; the periodic cleanup retries", spec.uuid());
    }
  }
}
