package io.virga.libvirt;

import io.virga.core.FileTrees;
import io.virga.virt.ImageSource;
import io.virga.virt.InstanceSpec;
import io.virga.virt.LiveMigrationData;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The destination half of live migration (DESIGN §3.4): {@code pre_live_migration} (instance
 * directory, disk.info, bases from the image service, for block migration empty overlays of the
 * same virtual size over them, console log, config drive, destination XML), {@code
 * post_live_migration_at_destination} and {@code rollback_live_migration_at_destination}. A
 * directory made here carries {@link ColdMigrationDest#MARKER} ({@value #LIVE}) so a rollback
 * removes only what this host made, never a shared directory.
 */
final class LiveMigrationDest {
  private static final Logger LOG = LoggerFactory.getLogger(LiveMigrationDest.class);
  static final String LIVE = "live-migration";

  private final LibvirtDriverContext ctx;
  private final GuestDefinition definition;
  private final ColdMigrationDest cold;

  LiveMigrationDest(LibvirtDriverContext ctx, ColdMigrationDest cold) {
    this.ctx = ctx;
    this.definition = new GuestDefinition(ctx);
    this.cold = cold;
  }

  LiveMigrationData pre(InstanceSpec spec, LiveMigrationData data, ImageSource images) {
    Path dir = ctx.opts.instanceDir(spec.uuid());
    MigrationSteps steps = new MigrationSteps(spec.uuid(), "pre_live_migration");
    boolean configDrive = spec.configDrive() || ctx.opts.forceConfigDrive();
    if (!data.sharedInstancePath()) {
      steps.step(
          "createInstanceDir",
          () -> {
            if (Files.exists(dir)) {
              throw new IllegalStateException(dir + " already exists on " + data.destHost());
            }
            ColdMigrationDest.claimDir(dir, LIVE);
            Files.createFile(dir.resolve(Spawn.CONSOLE_LOG));
          },
          () -> FileTrees.deleteTree(dir));
      // the same disks as spawn makes them: overlays of the flavor's size over this host's bases,
      // which block migration (NON_SHARED_INC) fills with the source's top layer
      steps.step("createImage", () -> createDisks(spec, dir, images));
      if (configDrive) {
        steps.step(
            "createConfigDrive",
            () -> ctx.configDrive.build(spec, dir.resolve(DiskMapping.CONFIG)));
      }
    } else {
      steps.step("ensureBacking", () -> ctx.backend.ensureBacking(dir, spec.image(), images));
    }
    String xml =
        steps.call(
            "getGuestXml", () -> definition.regenerate(spec, dir, configDrive, images), () -> {});
    LOG.info(
        "instance {}: pre_live_migration done (shared path {})",
        spec.uuid(),
        data.sharedInstancePath());
    return data.withDestinationXml(xml);
  }

  private void createDisks(InstanceSpec spec, Path dir, ImageSource images) {
    var f = spec.flavor();
    ctx.backend.createRoot(dir, spec.image(), images, (long) f.rootGb() << 30);
    if (f.ephemeralGb() > 0) {
      ctx.backend.createEphemeral(dir, f.ephemeralGb());
    }
    if (f.swapMb() > 0) {
      ctx.backend.createSwap(dir, f.swapMb());
    }
  }

  /** After success: the domain persistent here, libvirt.xml written, the marker gone. */
  void post(InstanceSpec spec) {
    Path dir = ctx.opts.instanceDir(spec.uuid());
    ctx.host
        .lookup(spec.uuid())
        .ifPresent(
            g -> {
              try (g) {
                String inactive = g.xml(2);
                ctx.host.define(inactive).close(); // PERSIST_DEST did it; harmless again
                if (Files.isDirectory(dir)) {
                  GuestDefinition.writeLibvirtXml(dir, inactive);
                }
              }
            });
    ColdMigrationDest.deleteQuietly(dir.resolve(ColdMigrationDest.MARKER));
  }

  /** After failure or abort: whatever pre_live_migration made here goes; idempotent. */
  void rollback(InstanceSpec spec, LiveMigrationData data) {
    Path dir = ctx.opts.instanceDir(spec.uuid());
    if (!data.sharedInstancePath() && ColdMigrationDest.ownedBy(dir, LIVE)) {
      try {
        cold.undefineIfIn(spec, dir);
      } catch (LibvirtException e) { // libvirtd down here: the files go all the same
        LOG.warn("instance {}: cannot check for a domain here: {}", spec.uuid(), e.getMessage());
      }
      FileTrees.deleteTree(dir);
      LOG.info("instance {}: rolled back pre_live_migration here", spec.uuid());
    }
  }
}
