package io.virga.libvirt;

import io.virga.core.Config;
import io.virga.core.Flavor;
import io.virga.core.NotFoundException;
import io.virga.core.TaskState;
import io.virga.virt.ComputeDriver;
import io.virga.virt.HostResources;
import io.virga.virt.ImageSource;
import io.virga.virt.InstanceInfo;
import io.virga.virt.InstanceSpec;
import io.virga.virt.LifecycleEvent;
import io.virga.virt.LiveMigrationData;
import io.virga.virt.MigrationDisks;
import io.virga.virt.MigrationProgress;
import io.virga.virt.MigrationTarget;
import io.virga.virt.RebootType;
import io.virga.virt.SnapshotUpload;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The real {@link ComputeDriver}: libvirt + qemu (kvm or TCG) over the local instances directory.
 * Each flow lives in its own class, named after Nova's: {@link Spawn}, {@link Power}, {@link
 * Destroy}, {@link LibvirtHostResources}.
 */
public final class LibvirtDriver implements ComputeDriver {
  private static final org.slf4j.Logger LOG =
      org.slf4j.LoggerFactory.getLogger(LibvirtDriver.class);
  private final LibvirtDriverContext ctx;
  private final Spawn spawn;
  private final Power power;
  private final Destroy destroy;
  private final LibvirtHostResources resources;
  private final SnapshotFlow snapshots;
  private final ImageCacheManager cacheManager;
  private final Rebuild rebuild;
  private final RecreateFromDisks recreate;
  private final Rescue rescue;
  private final ColdMigrationSource coldSource;
  private final ColdMigrationDest coldDest;
  private final LiveMigrationChecks liveChecks;
  private final LiveMigrationDest liveDest;
  private final LiveMigration live;
  private final Diagnostics diagnostics;
  private volatile String hostname;

  /**
   * The driver as configured: options from {@code config}, images from its base cache. The compute
   * host name is {@code host} when set, else the hypervisor's hostname.
   */
  public static LibvirtDriver fromConfig(Config config) {
    LibvirtOptions opts = LibvirtOptions.from(config);
    QemuImg qemuImg = QemuImg.fromConfig(config);
    ImageCache cache =
        new ImageCache(opts.instancesPath(), qemuImg, config.bool("force_raw_images", true));
    LibvirtDriver driver =
        new LibvirtDriver(
            opts,
            new LibvirtHost(opts.connectionUri()),
            ImageBackend.forType(opts.imagesType(), qemuImg, cache),
            new ConfigDriveBuilder(opts.isoTool()),
            SnapshotFlow.fromConfig(config, opts.instancesPath(), qemuImg),
            ImageCacheManager.fromConfig(config, cache),
            MigrationOptions.from(config));
    config.get("host").filter(h -> !h.isBlank()).ifPresent(h -> driver.hostname = h);
    return driver;
  }

  /** A driver with default snapshot and cache-ageing options. */
  LibvirtDriver(
      LibvirtOptions opts, LibvirtHost host, ImageBackend backend, ConfigDriveBuilder configDrive) {
    this(
        opts,
        host,
        backend,
        configDrive,
        SnapshotFlow.fromConfig(
            Config.of(java.util.Map.of()), opts.instancesPath(), backend.cache().qemuImg()),
        ImageCacheManager.fromConfig(Config.of(java.util.Map.of()), backend.cache()),
        MigrationOptions.from(Config.of(java.util.Map.of())));
  }

  LibvirtDriver(
      LibvirtOptions opts,
      LibvirtHost host,
      ImageBackend backend,
      ConfigDriveBuilder configDrive,
      SnapshotFlow snapshots,
      ImageCacheManager cacheManager,
      MigrationOptions migration) {
    this.ctx = new LibvirtDriverContext(host, opts, backend, configDrive);
    this.spawn = new Spawn(ctx);
    this.power = new Power(ctx);
    this.destroy = new Destroy(ctx);
    this.resources = new LibvirtHostResources(ctx);
    this.snapshots = snapshots;
    this.cacheManager = cacheManager;
    this.rebuild = new Rebuild(ctx, spawn);
    this.recreate = new RecreateFromDisks(ctx);
    this.rescue = new Rescue(ctx, power);
    this.coldSource = new ColdMigrationSource(ctx, migration, power);
    this.coldDest = new ColdMigrationDest(ctx, migration);
    this.liveChecks = new LiveMigrationChecks(ctx, migration);
    this.liveDest = new LiveMigrationDest(ctx, coldDest);
    this.live = new LiveMigration(ctx, migration, destroy);
    this.diagnostics = new Diagnostics(ctx);
  }

  public LibvirtOptions options() {
    return ctx.opts;
  }

  public LibvirtHost host() {
    return ctx.host;
  }

  /** Connects, and restores any domain a snapshot interrupted by a crash left transient. */
  @Override
  public void init() {
    ctx.host.connect();
    int recovered = snapshots.recoverStaleSnapshots(ctx.host);
    if (recovered > 0) {
      LOG.info("cleaned up {} snapshot(s) interrupted before this start", recovered);
    }
  }

  @Override
  public String hostname() {
    String h = hostname;
    if (h == null) {
      h = ctx.host.hostname();
      hostname = h;
    }
    return h;
  }

  @Override
  public boolean isHostUp() {
    return ctx.host.isUp();
  }

  @Override
  public void spawn(InstanceSpec spec, ImageSource images, Consumer<TaskState> taskState) {
    spawn.spawn(spec, images, taskState);
  }

  @Override
  public void destroy(InstanceSpec spec, boolean destroyDisks) {
    destroy.destroy(spec, destroyDisks);
  }

  @Override
  public void powerOff(InstanceSpec spec, Duration timeout, Duration retryInterval) {
    power.powerOff(spec, timeout, retryInterval);
  }

  /** Power off with the configured shutdown_timeout and shutdown_retry_interval. */
  public void powerOff(InstanceSpec spec) {
    power.powerOff(spec, ctx.opts.shutdownTimeout(), ctx.opts.shutdownRetryInterval());
  }

  @Override
  public void powerOn(InstanceSpec spec, ImageSource images) {
    power.powerOn(spec, images);
  }

  @Override
  public void reboot(InstanceSpec spec, RebootType type, ImageSource images) {
    power.reboot(spec, type, images);
  }

  @Override
  public void pause(InstanceSpec spec) {
    power.pause(spec);
  }

  @Override
  public void unpause(InstanceSpec spec) {
    power.unpause(spec);
  }

  @Override
  public void suspend(InstanceSpec spec) {
    power.suspend(spec);
  }

  @Override
  public void resume(InstanceSpec spec) {
    power.resume(spec);
  }

  @Override
  public Optional<InstanceInfo> getInfo(String uuid) {
    return ctx.host
        .lookup(uuid)
        .map(
            g -> {
              try (g) {
                return g.info();
              }
            });
  }

  @Override
  public List<String> listInstanceUuids() {
    List<String> out = new ArrayList<>();
    for (Guest g : ctx.host.listAll()) {
      try (g) {
        out.add(g.uuid());
      }
    }
    return out;
  }

  @Override
  public HostResources getAvailableResource() {
    return resources.get();
  }

  /** The tail of console.log; {@code maxBytes < 0} returns all of it. */
  @Override
  public io.virga.core.InstanceDiagnostics getDiagnostics(InstanceSpec spec) {
    return diagnostics.get(spec);
  }

  @Override
  public String getConsoleOutput(InstanceSpec spec, int maxBytes) {
    Path log = ctx.opts.instanceDir(spec.uuid()).resolve(Spawn.CONSOLE_LOG);
    if (!Files.exists(log)) {
      if (getInfo(spec.uuid()).isEmpty()) {
        throw new NotFoundException("instance " + spec.uuid() + " is not on this host");
      }
      return "";
    }
    try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "r")) {
      long len = f.length();
      int n = (int) (maxBytes < 0 ? Math.min(len, Integer.MAX_VALUE) : Math.min(len, maxBytes));
      byte[] b = new byte[n];
      f.seek(len - n);
      f.readFully(b);
      return new String(b, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read console log " + log, e);
    }
  }

  @Override
  public void registerLifecycleListener(Consumer<LifecycleEvent> listener) {
    ctx.host.setLifecycleListener(listener);
  }

  /** DESIGN §3.5, in {@link SnapshotFlow} (h6-snapshot's flow). */
  @Override
  public void snapshot(
      InstanceSpec spec, String imageId, SnapshotUpload upload, Consumer<TaskState> taskState) {
    snapshots.snapshot(ctx.host, spec.uuid(), ctx.opts.instanceDir(spec.uuid()), upload, taskState);
  }

  /** DESIGN §3.7, in {@link Rebuild}. */
  @Override
  public void rebuild(
      InstanceSpec spec,
      ImageSource images,
      boolean preserveEphemeral,
      Consumer<TaskState> taskState) {
    rebuild.rebuild(spec, images, preserveEphemeral, taskState);
  }

  /** Evacuate on shared storage, in {@link RecreateFromDisks}. */
  @Override
  public boolean instanceOnDisk(InstanceSpec spec) {
    return recreate.instanceOnDisk(spec);
  }

  @Override
  public void recreateFromDisks(
      InstanceSpec spec, ImageSource images, Consumer<TaskState> taskState) {
    recreate.recreate(spec, images, taskState, hostname());
  }

  @Override
  public boolean instanceDisksTakenOver(InstanceSpec spec) {
    return recreate.recreatedBy(spec).filter(h -> !h.equals(hostname())).isPresent();
  }

  /** DESIGN §3.7, in {@link Rescue}. */
  @Override
  public void rescue(InstanceSpec spec, io.virga.core.ImageMeta rescueImage, ImageSource images) {
    rescue.rescue(spec, rescueImage, images);
  }

  @Override
  public void unrescue(InstanceSpec spec, ImageSource images) {
    rescue.unrescue(spec, images);
  }

  /** Image cache ageing with {@link ImageCacheManager} (h2-images' pass). */
  @Override
  public void manageImageCache(Collection<String> imageIdsInUse) {
    var r = cacheManager.runWithImages(imageIdsInUse);
    if (!r.removed().isEmpty()) {
      LOG.info("image cache: removed {} unused base(s): {}", r.removed().size(), r.removed());
    }
  }

  @Override
  public List<String> cleanupLeftovers(List<String> deletedUuids) {
    return destroy.cleanupLeftovers(deletedUuids);
  }

  // ---- Cold migration and resize (DESIGN §3.3): ColdMigrationSource / ColdMigrationDest ----

  @Override
  public MigrationTarget prepareMigrationTarget(InstanceSpec spec, String migrationId) {
    return coldDest.prepare(spec, migrationId, hostname());
  }

  @Override
  public MigrationDisks migrateDiskAndPowerOff(
      InstanceSpec spec,
      Flavor newFlavor,
      MigrationTarget target,
      Duration timeout,
      Duration retryInterval,
      Consumer<MigrationProgress> progress) {
    return coldSource.migrateDiskAndPowerOff(
        spec, newFlavor, target, timeout, retryInterval, progress);
  }

  @Override
  public void finishMigration(
      InstanceSpec spec, MigrationDisks disks, ImageSource images, boolean powerOn) {
    coldDest.finish(spec, disks, images, powerOn);
  }

  @Override
  public void cleanupMigrationTarget(InstanceSpec spec, String migrationId) {
    coldDest.cleanup(spec, migrationId);
  }

  @Override
  public void confirmMigration(InstanceSpec spec) {
    coldSource.confirm(spec);
  }

  @Override
  public void finishRevertMigration(InstanceSpec spec, ImageSource images, boolean powerOn) {
    coldSource.finishRevert(spec, images, powerOn);
  }

  // ---- Live migration (DESIGN §3.4): LiveMigrationChecks / LiveMigrationDest / LiveMigration ----

  @Override
  public LiveMigrationData checkCanLiveMigrateDestination(
      InstanceSpec spec, Optional<Boolean> blockMigration) {
    return liveChecks.checkDestination(spec, blockMigration, hostname());
  }

  @Override
  public void cleanupLiveMigrationDestinationCheck(LiveMigrationData data) {
    liveChecks.cleanupDestinationCheck(data);
  }

  @Override
  public LiveMigrationData checkCanLiveMigrateSource(
      InstanceSpec spec, LiveMigrationData dest, Optional<Boolean> blockMigration) {
    return liveChecks.checkSource(spec, dest, blockMigration);
  }

  @Override
  public LiveMigrationData preLiveMigration(
      InstanceSpec spec, LiveMigrationData data, ImageSource images) {
    return liveDest.pre(spec, data, images);
  }

  @Override
  public void liveMigration(
      InstanceSpec spec, LiveMigrationData data, Consumer<MigrationProgress> progress) {
    live.migrate(spec, data, progress);
  }

  @Override
  public boolean liveMigrationAbort(String uuid) {
    return live.abort(uuid);
  }

  @Override
  public boolean liveMigrationForceComplete(String uuid) {
    return live.forceComplete(uuid);
  }

  @Override
  public void postLiveMigrationAtSource(InstanceSpec spec, LiveMigrationData data) {
    live.postAtSource(spec, data);
  }

  @Override
  public void postLiveMigrationAtDestination(InstanceSpec spec, LiveMigrationData data) {
    liveDest.post(spec);
  }

  @Override
  public void rollbackLiveMigrationAtDestination(InstanceSpec spec, LiveMigrationData data) {
    liveDest.rollback(spec, data);
  }

  @Override
  public void close() {
    coldDest.closeAll();
    ctx.host.close();
  }
}
