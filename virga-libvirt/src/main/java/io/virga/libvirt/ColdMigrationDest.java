package io.virga.libvirt;

import io.virga.core.FileTrees;
import io.virga.core.PowerState;
import io.virga.virt.ImageSource;
import io.virga.virt.InstanceSpec;
import io.virga.virt.MigrationDisks;
import io.virga.virt.MigrationTarget;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The destination half of cold migration and resize (DESIGN §3.3): {@code prep_resize}'s driver
 * part (shared-storage probe, disk receiver), {@code finish_migration} (rebuild bases, grow disks,
 * swap, config drive, XML, define, start) and the cleanup that undoes both. The instance directory
 * this host makes for a migration carries a {@value #MARKER} file with the migration id: only such
 * a directory is ever removed by {@link #cleanupMigrationTarget}, so on shared storage the source's
 * own directory is never touched.
 */
final class ColdMigrationDest {
  private static final Logger LOG = LoggerFactory.getLogger(ColdMigrationDest.class);
  static final String MARKER = ".migration-id";
  static final String PROBE_PREFIX = ".virga-shared-probe-";
  private static final SecureRandom RANDOM = new SecureRandom();

  /** The config drive build beside the disk steps: a process wait, fine on a virtual thread. */
  private static final ExecutorService SIDE_JOBS = Executors.newVirtualThreadPerTaskExecutor();

  /**
   * A config drive built while the disks travel: used by {@code finish_migration} when the spec
   * there gives the same content ({@link ConfigDriveBuilder#contentKey}), else built again.
   */
  private record Prebuilt(Path file, List<Object> key, CompletableFuture<Void> job) {
    /**
     * Waits for the build to end (a few hundred ms; a failed one removed its own files), then
     * removes the file: once the migration's target is cleaned up nothing of it is still being
     * written in the instances path. A build that outlasts the wait is left to remove the file when
     * it ends.
     */
    void discard() {
      try {
        job.get(60, java.util.concurrent.TimeUnit.SECONDS);
      } catch (java.util.concurrent.ExecutionException e) {
        // the build failed and removed its own tree; the file may not exist
      } catch (InterruptedException | java.util.concurrent.TimeoutException e) {
        if (e instanceof InterruptedException) {
          Thread.currentThread().interrupt();
        }
        job.handle((ok, err) -> null).thenRun(() -> deleteQuietly(file));
        return;
      }
      deleteQuietly(file);
    }
  }

  private record Open(DiskReceiver receiver, String probe, Optional<Prebuilt> iso) {
    void close(Path instancesPath) {
      receiver.close();
      deleteQuietly(instancesPath.resolve(probe));
      iso.ifPresent(Prebuilt::discard);
    }
  }

  private final LibvirtDriverContext ctx;
  private final MigrationOptions opts;
  private final GuestDefinition definition;
  private final Map<String, Open> open = new ConcurrentHashMap<>();

  ColdMigrationDest(LibvirtDriverContext ctx, MigrationOptions opts) {
    this.ctx = ctx;
    this.opts = opts;
    this.definition = new GuestDefinition(ctx);
  }

  /** {@code prep_resize}: a probe in the instances path, and a receiver for the disks. */
  MigrationTarget prepare(InstanceSpec spec, String migrationId, String hostname) {
    String probe = PROBE_PREFIX + HexFormat.of().formatHex(bytes(8));
    String token = HexFormat.of().formatHex(bytes(32));
    Path dir = ctx.opts.instanceDir(spec.uuid());
    try {
      Files.createDirectories(ctx.opts.instancesPath());
      Files.writeString(ctx.opts.instancesPath().resolve(probe), migrationId);
      DiskReceiver r =
          DiskReceiver.open(
              opts.myIp(),
              dir,
              migrationId,
              token,
              DiskTransferTls.from(opts),
              d -> claimDir(d, migrationId));
      Open prev = open.put(migrationId, new Open(r, probe, prebuildConfigDrive(spec, probe)));
      if (prev != null) {
        prev.close(ctx.opts.instancesPath());
      }
      LOG.info(
          "instance {}: migration {} receives disks on {}:{}",
          spec.uuid(),
          migrationId,
          opts.myIp(),
          r.port());
      return new MigrationTarget(hostname, opts.myIp(), r.port(), token, Optional.of(probe));
    } catch (IOException e) {
      deleteQuietly(ctx.opts.instancesPath().resolve(probe));
      throw new MigrationException(spec.uuid(), "prep_resize", e);
    }
  }

  /** The config drive's build (xorriso) starts now, beside the transfer, in the instances path. */
  private Optional<Prebuilt> prebuildConfigDrive(InstanceSpec spec, String probe) {
    if (!(spec.configDrive() || ctx.opts.forceConfigDrive())) {
      return Optional.empty();
    }
    Path file = ctx.opts.instancesPath().resolve(probe + DiskMapping.CONFIG);
    CompletableFuture<Void> job =
        CompletableFuture.runAsync(
            () -> {
              long t0 = System.nanoTime();
              ctx.configDrive.build(spec, file);
              LOG.debug(
                  "instance {}: config drive built beside the transfer in {} ms",
                  spec.uuid(),
                  (System.nanoTime() - t0) / 1_000_000);
            },
            SIDE_JOBS);
    return Optional.of(new Prebuilt(file, ConfigDriveBuilder.contentKey(spec), job));
  }

  private static byte[] bytes(int n) {
    byte[] b = new byte[n];
    RANDOM.nextBytes(b);
    return b;
  }

  /** The receiver's first file: the directory is made for this migration, or refused. */
  static void claimDir(Path dir, String migrationId) {
    try {
      if (Files.isDirectory(dir)) {
        if (!ownedBy(dir, migrationId)) {
          throw new IllegalStateException(
              dir + " exists and belongs to no migration " + migrationId);
        }
        return;
      }
      Files.createDirectories(dir);
      Files.writeString(dir.resolve(MARKER), migrationId);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static boolean ownedBy(Path dir, String migrationId) {
    try {
      Path m = dir.resolve(MARKER);
      return Files.isRegularFile(m) && Files.readString(m).strip().equals(migrationId);
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * {@code finish_migration}: {@code spec} has the new flavor. Steps in order, each undone by
   * removing what it made; on failure the domain and the whole directory go.
   */
  void finish(InstanceSpec spec, MigrationDisks disks, ImageSource images, boolean powerOn) {
    Path dir = ctx.opts.instanceDir(spec.uuid());
    Optional<Prebuilt> iso = closeReceivers(spec.uuid());
    try {
      finishSteps(spec, dir, disks, images, powerOn, iso);
    } catch (RuntimeException e) {
      if (Files.exists(
          dir.resolve(MARKER))) { // made for a migration: the source keeps the original
        removeAll(spec, dir);
      }
      throw e;
    }
    LOG.info("instance {}: finish_migration done (powerOn={})", spec.uuid(), powerOn);
  }

  private void finishSteps(
      InstanceSpec spec,
      Path dir,
      MigrationDisks disks,
      ImageSource images,
      boolean powerOn,
      Optional<Prebuilt> prebuilt) {
    MigrationSteps steps = new MigrationSteps(spec.uuid(), "finish_migration");
    steps.step("checkReceivedDisks", () -> checkReceived(dir, disks));
    // the ISO needs nothing from the disks: built during the transfer (prep_resize), or now
    // while the disks are made ready, as in spawn
    boolean configDrive = spec.configDrive() || ctx.opts.forceConfigDrive();
    CompletableFuture<Void> iso =
        CompletableFuture.runAsync(
            () -> placeConfigDrive(spec, dir.resolve(DiskMapping.CONFIG), configDrive, prebuilt),
            SIDE_JOBS);
    boolean disksReady = false;
    try {
      steps.step("ensureBacking", () -> ctx.backend.ensureBacking(dir, spec.image(), images));
      steps.step("resizeDisks", () -> ColdMigrationDisks.grow(ctx, dir, spec.flavor(), disks));
      steps.step("createSwap", () -> ColdMigrationDisks.recreateSwap(ctx, dir, spec.flavor()));
      disksReady = true;
    } finally {
      if (!disksReady) { // never remove the directory under a running build
        iso.handle((ok, err) -> null).join();
      }
    }
    // the wait for a build still running is this step's time in the log
    steps.step("createConfigDrive", () -> unwrap(iso));
    String xml =
        steps.call(
            "getGuestXml", () -> definition.regenerate(spec, dir, configDrive, images), () -> {});
    steps.step(
        "createDomain",
        () -> {
          try (Guest g = ctx.host.define(xml)) {
            if (powerOn) {
              g.launch(false);
              g.waitFor(PowerState.RUNNING, ctx.opts.spawnTimeout());
            }
          }
        },
        () -> undefineIfIn(spec, dir));
  }

  private void placeConfigDrive(
      InstanceSpec spec, Path target, boolean configDrive, Optional<Prebuilt> prebuilt) {
    deleteQuietly(target);
    try {
      if (configDrive && prebuilt.isPresent() && usable(prebuilt.get(), spec)) {
        Files.move(prebuilt.get().file(), target, StandardCopyOption.ATOMIC_MOVE);
        return;
      }
      if (configDrive) {
        ctx.configDrive.build(spec, target);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      prebuilt.ifPresent(Prebuilt::discard);
    }
  }

  /** The drive built during the transfer has this spec's content and was built without error. */
  private static boolean usable(Prebuilt p, InstanceSpec spec) {
    if (!p.key().equals(ConfigDriveBuilder.contentKey(spec))) {
      LOG.info("instance {}: config drive content changed since prep_resize", spec.uuid());
      return false;
    }
    try {
      p.job().join();
      return Files.isRegularFile(p.file());
    } catch (CompletionException e) {
      LOG.warn("instance {}: early config drive build failed: {}", spec.uuid(), e.getCause());
      return false;
    }
  }

  private static void unwrap(CompletableFuture<Void> job) {
    try {
      job.join();
    } catch (CompletionException e) {
      throw e.getCause() instanceof RuntimeException re ? re : e;
    }
  }

  private static void checkReceived(Path dir, MigrationDisks disks) {
    for (MigrationDisks.Disk d : disks.disks()) {
      if (!Files.isRegularFile(dir.resolve(d.name()))) {
        throw new IllegalStateException(d.name() + " did not arrive in " + dir);
      }
    }
  }

  /** Destination cleanup: receiver killed, probe gone, and the directory if this host made it. */
  void cleanup(InstanceSpec spec, String migrationId) {
    Open o = open.remove(migrationId);
    if (o != null) {
      o.close(ctx.opts.instancesPath());
    }
    Path dir = ctx.opts.instanceDir(spec.uuid());
    if (ownedBy(dir, migrationId)) {
      removeAll(spec, dir);
      LOG.info("instance {}: removed what migration {} left here", spec.uuid(), migrationId);
    }
  }

  /** Closes the receivers of {@code uuid}'s migration; its early config drive, if any. */
  private Optional<Prebuilt> closeReceivers(String uuid) {
    Path dir = ctx.opts.instanceDir(uuid);
    Optional<Prebuilt> iso = Optional.empty();
    for (var e : open.entrySet()) {
      if (ownedBy(dir, e.getKey()) && open.remove(e.getKey(), e.getValue())) {
        Open o = e.getValue();
        o.receiver().close();
        deleteQuietly(ctx.opts.instancesPath().resolve(o.probe()));
        iso = o.iso();
      }
    }
    return iso;
  }

  private void removeAll(InstanceSpec spec, Path dir) {
    undefineIfIn(spec, dir);
    FileTrees.deleteTree(dir);
  }

  /** Destroys and undefines the domain only when its disks are in {@code dir} (ours). */
  void undefineIfIn(InstanceSpec spec, Path dir) {
    ctx.host
        .lookup(spec.uuid())
        .ifPresent(
            g -> {
              try (g) {
                if (DomainDisks.of(g.xml(2)).anyIn(dir)) {
                  g.destroy();
                  g.undefine();
                }
              }
            });
  }

  static void deleteQuietly(Path p) {
    try {
      Files.deleteIfExists(p);
    } catch (IOException e) {
      LOG.warn("cannot remove {}: {}", p, e.toString());
    }
  }

  /** Kills every receiver (driver close). */
  void closeAll() {
    open.values().forEach(o -> o.close(ctx.opts.instancesPath()));
    open.clear();
  }
}
