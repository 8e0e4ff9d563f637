package io.virga.libvirt;

import io.virga.core.Command;
import io.virga.core.FileTrees;
import io.virga.core.Flavor;
import io.virga.core.PowerState;
import io.virga.virt.ImageSource;
import io.virga.virt.InstanceSpec;
import io.virga.virt.MigrationDisks;
import io.virga.virt.MigrationProgress;
import io.virga.virt.MigrationTarget;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The source half of cold migration and resize (DESIGN §3.3), Nova's {@code
 * migrate_disk_and_power_off}, {@code confirm_migration} and {@code finish_revert_migration}. The
 * first runs as named steps with their rollbacks ({@link MigrationSteps}): a failure anywhere puts
 * the directory and the domain back as they were.
 */
final class ColdMigrationSource {
  private static final Logger LOG = LoggerFactory.getLogger(ColdMigrationSource.class);
  static final String RESIZE_SUFFIX = "_resize";

  private final LibvirtDriverContext ctx;
  private final MigrationOptions opts;
  private final GuestDefinition definition;
  private final Power power;

  ColdMigrationSource(LibvirtDriverContext ctx, MigrationOptions opts, Power power) {
    this.ctx = ctx;
    this.opts = opts;
    this.definition = new GuestDefinition(ctx);
    this.power = power;
  }

  Path resizeDir(String uuid) {
    return ctx.opts.instancesPath().resolve(uuid + RESIZE_SUFFIX);
  }

  MigrationDisks migrateDiskAndPowerOff(
      InstanceSpec spec,
      Flavor newFlavor,
      MigrationTarget target,
      Duration timeout,
      Duration retryInterval,
      Consumer<MigrationProgress> progress) {
    Path dir = ctx.opts.instanceDir(spec.uuid());
    Path resize = resizeDir(spec.uuid());
    MigrationSteps steps = new MigrationSteps(spec.uuid(), "migrate_disk_and_power_off");
    steps.step("checkDiskSizes", () -> ColdMigrationDisks.refuseShrinking(spec, newFlavor));
    boolean shared = steps.call("detectSharedStorage", () -> sharedWith(target), () -> {});
    steps.step("powerOff", () -> power.powerOff(spec, timeout, retryInterval));
    steps.step(
        "renameInstanceDir",
        () -> {
          if (Files.exists(resize)) { // left by an earlier failed attempt
            FileTrees.deleteTree(resize);
          }
          Files.move(dir, resize, StandardCopyOption.ATOMIC_MOVE);
        },
        () -> {
          if (Files.exists(dir)) {
            FileTrees.deleteTree(dir); // a partial local copy
          }
          Files.move(resize, dir, StandardCopyOption.ATOMIC_MOVE);
        });
    MigrationDisks disks =
        steps.call(
            "describeDisks",
            () -> ColdMigrationDisks.describe(qemuImg(), resize, shared),
            () -> {});
    steps.step(
        "copyDisks",
        () -> {
          if (shared) {
            copyLocally(resize, dir, target, progress);
          } else {
            send(spec, resize, target, progress);
          }
        });
    Optional<String> xml = steps.call("saveDomainXml", () -> inactiveXml(spec), () -> {});
    steps.step(
        "undefineSourceDomain",
        () -> ctx.host.lookup(spec.uuid()).ifPresent(Destroy::destroyAndUndefine),
        () -> xml.ifPresent(x -> ctx.host.define(x).close()));
    LOG.info(
        "instance {}: migrate_disk_and_power_off done, {} disk(s), shared storage {}",
        spec.uuid(),
        disks.disks().size(),
        shared);
    return disks;
  }

  private QemuImg qemuImg() {
    return ctx.backend.cache().qemuImg();
  }

  /** The probe the destination wrote is visible here only when the instances path is shared. */
  private boolean sharedWith(MigrationTarget target) {
    if (target.sharedStorageProbe().isEmpty()) {
      return false;
    }
    String probe = target.sharedStorageProbe().get();
    if (!DiskTransferProtocol.safeName(probe.replaceFirst("^\\.", "p"))) {
      throw new IllegalArgumentException("not a probe file name: " + probe);
    }
    return Files.exists(ctx.opts.instancesPath().resolve(probe));
  }

  private Optional<String> inactiveXml(InstanceSpec spec) {
    return ctx.host
        .lookup(spec.uuid())
        .map(
            g -> {
              try (g) {
                return g.xml(2);
              }
            });
  }

  /** Shared storage: a sparse local copy into a new {@code <uuid>}, kept for revert. */
  private void copyLocally(
      Path from, Path to, MigrationTarget target, Consumer<MigrationProgress> progress)
      throws IOException {
    List<Path> files = ColdMigrationDisks.filesToSend(from);
    // the destination wrote the migration id into its probe: the copy is marked as its own
    String migrationId =
        Files.readString(
            ctx.opts.instancesPath().resolve(target.sharedStorageProbe().orElseThrow()));
    ColdMigrationDest.claimDir(to, migrationId.strip());
    long total = 0;
    for (Path f : files) {
      total += Files.size(f);
    }
    long done = 0;
    for (Path f : files) {
      Command.of("cp", "--sparse=always", QemuImg.abs(f), QemuImg.abs(to.resolve(f.getFileName())))
          .check();
      done += Files.size(f);
      progress.accept(new MigrationProgress(0, 0, 0, total, done, total - done));
    }
  }

  /** Not shared: every file through the destination's receiver. */
  private void send(
      InstanceSpec spec, Path from, MigrationTarget target, Consumer<MigrationProgress> progress)
      throws IOException {
    if (target.port() <= 0) {
      throw new IllegalStateException("the destination opened no disk receiver");
    }
    var plans = DiskSender.plan(ColdMigrationDisks.filesToSend(from));
    long total = plans.stream().mapToLong(DiskSender.Plan::dataBytes).sum();
    progress.accept(new MigrationProgress(0, 0, 0, total, 0, total));
    long t0 = System.nanoTime();
    new DiskSender(
            target.address(),
            target.port(),
            target.token(),
            opts.transferBandwidthMiBs() << 20,
            DiskTransferTls.from(opts))
        .send(
            plans,
            done -> progress.accept(new MigrationProgress(0, 0, 0, total, done, total - done)));
    long ms = Math.max(1, (System.nanoTime() - t0) / 1_000_000);
    LOG.info(
        "instance {}: sent {} data bytes to {} in {} ms ({} MiB/s)",
        spec.uuid(),
        total,
        target.host(),
        ms,
        total * 1000 / ms >> 20);
  }

  /**
   * {@code confirm_migration}: the {@code <uuid>_resize} directory goes. The source domain was
   * undefined when the disks left, so a domain with this uuid here now belongs to the destination
   * (same-host resize) and is left alone.
   */
  void confirm(InstanceSpec spec) {
    Path resize = resizeDir(spec.uuid());
    if (Files.exists(resize)) {
      FileTrees.deleteTree(resize);
    }
    LOG.info("instance {}: confirm_migration removed {}", spec.uuid(), resize);
  }

  /**
   * {@code finish_revert_migration}: {@code spec} has the old flavor. A copy left in {@code <uuid>}
   * (shared storage) goes, {@code <uuid>_resize} becomes {@code <uuid>} again, missing bases are
   * rebuilt, the XML regenerated and the domain defined; started only when {@code powerOn}.
   * Idempotent: with no {@code _resize} directory the one in place is used.
   */
  void finishRevert(InstanceSpec spec, ImageSource images, boolean powerOn) {
    Path dir = ctx.opts.instanceDir(spec.uuid());
    Path resize = resizeDir(spec.uuid());
    MigrationSteps steps = new MigrationSteps(spec.uuid(), "finish_revert_migration");
    steps.step(
        "restoreInstanceDir",
        () -> {
          if (Files.exists(resize)) {
            if (Files.exists(dir)) {
              FileTrees.deleteTree(dir);
            }
            Files.move(resize, dir, StandardCopyOption.ATOMIC_MOVE);
          } else if (!Files.isDirectory(dir)) {
            throw new IllegalStateException("neither " + resize + " nor " + dir + " exists");
          }
        });
    steps.step("ensureBacking", () -> ctx.backend.ensureBacking(dir, spec.image(), images));
    String xml =
        steps.call(
            "getGuestXml",
            () ->
                definition.regenerate(
                    spec, dir, Files.exists(dir.resolve(DiskMapping.CONFIG)), images),
            () -> {});
    steps.step(
        "createDomain",
        () -> {
          try (Guest g = ctx.host.define(xml)) {
            if (powerOn && !g.isActive()) {
              g.launch(false);
              g.waitFor(PowerState.RUNNING, ctx.opts.spawnTimeout());
            }
          }
        });
    LOG.info("instance {}: finish_revert_migration done (powerOn={})", spec.uuid(), powerOn);
  }
}
