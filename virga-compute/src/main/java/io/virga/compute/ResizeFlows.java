package io.virga.compute;

import static io.virga.compute.MigrationSteps.quietly;

import io.virga.core.Instance;
import io.virga.core.InstanceUpdate;
import io.virga.core.Migration;
import io.virga.core.MigrationStatus;
import io.virga.core.PowerState;
import io.virga.core.TaskState;
import io.virga.core.VmState;
import io.virga.rpc.Rpc;
import io.virga.virt.ComputeDriver;
import io.virga.virt.InstanceSpec;
import io.virga.virt.MigrationDisks;
import io.virga.virt.MigrationTarget;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Resize and cold migration (DESIGN §3.3), Nova's steps: destination {@code prep_resize} → source
 * {@code resize_instance} → destination {@code finish_resize}; then {@code confirm_resize} on the
 * source, or {@code revert_resize} on the destination followed by {@code finish_revert_resize} on
 * the source. Each step runs in the instance's queue on its host and casts the next step to the
 * other host. A failure before the instance moved leaves it on the source, running if it was.
 */
final class ResizeFlows {
  private static final Logger log = LoggerFactory.getLogger(ResizeFlows.class);

  private final ComputeDriver driver;
  private final MigrationSteps steps;
  private final SpecBuilder specs;
  private final ImageSourceFactory images;
  private final InstanceFlows flows;
  private final ComputeOptions options;
  private final ResourceTracker tracker;

  ResizeFlows(
      ComputeDriver driver,
      MigrationSteps steps,
      SpecBuilder specs,
      ImageSourceFactory images,
      InstanceFlows flows,
      ComputeOptions options,
      ResourceTracker tracker) {
    this.driver = driver;
    this.steps = steps;
    this.specs = specs;
    this.images = images;
    this.flows = flows;
    this.options = options;
    this.tracker = tracker;
  }

  /** Destination: the claim is made (the migration record); open a target, cast the source. */
  void prepResize(String uuid, String migrationUuid, String rid) {
    Migration m = steps.conductor.getMigration(migrationUuid);
    Instance i = steps.conductor.getInstance(uuid);
    String event = "compute_prep_resize";
    steps.tasks.eventStart(uuid, rid, event);
    if (!i.taskState().equals(Optional.of(TaskState.RESIZE_PREP))) {
      log.warn("prep_resize dropped: the instance left resize_prep");
      steps.failed(m, "prep_resize", unexpected(i), MigrationStatus.ERROR, rid, event);
      return;
    }
    try {
      InstanceSpec spec = specs.build(i).withFlavor(m.newFlavor());
      MigrationTarget target = driver.prepareMigrationTarget(spec, migrationUuid);
      steps.peer(m.sourceCompute()).resizeInstance(uuid, migrationUuid, Rpc.toJson(target));
      steps.tasks.eventFinish(uuid, rid, event, Optional.empty());
    } catch (RuntimeException e) {
      quietly("cleanup_migration_target", () -> cleanupTarget(i, m));
      steps.failed(m, "prep_resize", e, MigrationStatus.ERROR, rid, event);
      steps.restoreState(m, flows.powerState(uuid));
    } finally {
      tracker.changed();
    }
  }

  /** Source: migrate_disk_and_power_off to the destination's target, then cast finish_resize. */
  void resizeInstance(String uuid, String migrationUuid, String targetJson, String rid) {
    Migration m = steps.conductor.getMigration(migrationUuid);
    Instance i = steps.conductor.getInstance(uuid);
    String event = "compute_resize_instance";
    steps.tasks.eventStart(uuid, rid, event);
    InstanceSpec spec = specs.build(i).withFlavor(m.oldFlavor());
    boolean moved = false;
    try {
      steps.tasks.cas(
          uuid, TaskState.RESIZE_PREP, InstanceUpdate.none().task(TaskState.RESIZE_MIGRATING));
      steps.status(m, MigrationStatus.MIGRATING, MigrationStatus.PRE_MIGRATING);
      MigrationTarget target = Rpc.fromJson(targetJson, MigrationTarget.class);
      MigrationDisks disks =
          driver.migrateDiskAndPowerOff(
              spec,
              m.newFlavor(),
              target,
              flows.shutdownTimeout(spec),
              options.shutdownRetryInterval(),
              steps.progress(m));
      moved = true;
      steps.status(m, MigrationStatus.POST_MIGRATING, MigrationStatus.MIGRATING);
      steps.tasks.cas(
          uuid,
          TaskState.RESIZE_MIGRATING,
          InstanceUpdate.none().task(TaskState.RESIZE_MIGRATED).power(flows.powerState(uuid)));
      steps.peer(m.destCompute()).finishResize(uuid, migrationUuid, Rpc.toJson(disks));
      steps.tasks.eventFinish(uuid, rid, event, Optional.empty());
      log.info("disks of instance sent to {} for migration {}", m.destCompute(), m.uuid());
    } catch (RuntimeException e) {
      steps.failed(m, "resize_instance", e, MigrationStatus.ERROR, rid, event);
      restoreSource(spec, m, moved);
      quietly(
          "cleanup_migration_target",
          () -> steps.peer(m.destCompute()).cleanupMigrationTarget(uuid, m.uuid()));
    } finally {
      tracker.changed();
    }
  }

  /** Source, after a failure: disks back in place, the guest running again if it was. */
  private void restoreSource(InstanceSpec spec, Migration m, boolean moved) {
    String uuid = spec.uuid();
    Instance now = steps.conductor.getInstance(uuid);
    // a server deleted meanwhile gets its disks back in place for the queued terminate, unstarted
    boolean start = m.wasRunning() && !deleted(now);
    quietly(
        "restore the source",
        () -> {
          if (moved) {
            driver.finishRevertMigration(spec, images.forInstance(now), start);
          } else if (start && flows.powerState(uuid) != PowerState.RUNNING) {
            driver.powerOn(spec, images.forInstance(now));
          }
        });
    steps.restoreState(m, flows.powerState(uuid));
  }

  /** Deleted, or being deleted: its migration steps only clean up. */
  static boolean deleted(Instance i) {
    return i.vmState() == VmState.DELETED || i.taskState().equals(Optional.of(TaskState.DELETING));
  }

  /** Destination: the instance moves here with its new flavor (finish_migration) → resized. */
  void finishResize(String uuid, String migrationUuid, String disksJson, String rid) {
    Migration m = steps.conductor.getMigration(migrationUuid);
    String event = "compute_finish_resize";
    steps.tasks.eventStart(uuid, rid, event);
    Instance i = steps.conductor.getInstance(uuid);
    try {
      if (!i.taskState().equals(Optional.of(TaskState.RESIZE_MIGRATED))) {
        throw unexpected(i);
      }
      i = steps.conductor.applyMigration(uuid, migrationUuid, true);
      steps.tasks.cas(
          uuid, TaskState.RESIZE_MIGRATED, InstanceUpdate.none().task(TaskState.RESIZE_FINISH));
      MigrationDisks disks = Rpc.fromJson(disksJson, MigrationDisks.class);
      driver.finishMigration(specs.build(i), disks, images.forInstance(i), m.wasRunning());
      // finished before the instance shows VERIFY_RESIZE, so a confirm finds it (Nova's order)
      steps.status(m, MigrationStatus.FINISHED, MigrationStatus.POST_MIGRATING);
      steps.tasks.cas(
          uuid,
          TaskState.RESIZE_FINISH,
          InstanceUpdate.none()
              .vm(VmState.RESIZED)
              .clearTask()
              .power(flows.powerState(uuid))
              .progress(100));
      steps.tasks.eventFinish(uuid, rid, event, Optional.empty());
      log.info("instance resized here from {} (migration {})", m.sourceCompute(), m.uuid());
    } catch (RuntimeException e) {
      steps.failed(m, "finish_resize", e, MigrationStatus.ERROR, rid, event);
      Instance at = i;
      quietly("cleanup_migration_target", () -> cleanupTarget(at, m));
      quietly(
          "move the instance back",
          () -> steps.conductor.applyMigration(uuid, migrationUuid, false));
      // the source still has <uuid>_resize: it restores and restarts the guest
      quietly(
          "finish_revert_resize",
          () -> steps.peer(m.sourceCompute()).finishRevertResize(uuid, migrationUuid));
    } finally {
      tracker.changed();
    }
  }

  /** Destination: undo prep_resize (a failure on the source, or the destination's recovery). */
  void cleanupMigrationTarget(String uuid, String migrationUuid) {
    Migration m = steps.conductor.getMigration(migrationUuid);
    Instance i = steps.conductor.getInstance(uuid);
    cleanupTarget(i, m);
    tracker.changed();
  }

  private void cleanupTarget(Instance i, Migration m) {
    InstanceSpec spec = specs.build(i).withFlavor(m.newFlavor());
    if (!m.sameHost()) {
      // a guest finish_migration defined here before failing; never on the source's own host
      if (driver.getInfo(i.uuid()).isPresent()
          && !i.host().equals(Optional.of(m.sourceCompute()))) {
        driver.destroy(spec, false);
      }
    }
    driver.cleanupMigrationTarget(spec, m.uuid());
  }

  /** Source: confirm_resize removes {@code <uuid>_resize} and the old domain. */
  void confirmResize(String uuid, String migrationUuid, String rid) {
    Migration m = steps.conductor.getMigration(migrationUuid);
    Instance i = steps.conductor.getInstance(uuid);
    String event = "compute_confirm_resize";
    steps.tasks.eventStart(uuid, rid, event);
    try {
      driver.confirmMigration(specs.build(i).withFlavor(m.oldFlavor()));
      steps.status(
          m, MigrationStatus.CONFIRMED, MigrationStatus.CONFIRMING, MigrationStatus.FINISHED);
      Instance now = steps.conductor.getInstance(uuid);
      if (now.vmState() == VmState.RESIZED && now.taskState().isEmpty()) {
        VmState vm = now.powerState() == PowerState.RUNNING ? VmState.ACTIVE : VmState.STOPPED;
        steps.tasks.tryCas(uuid, Optional.empty(), InstanceUpdate.none().vm(vm).progress(0));
      }
      steps.tasks.eventFinish(uuid, rid, event, Optional.empty());
      log.info("resize confirmed (migration {})", m.uuid());
    } catch (RuntimeException e) {
      steps.failed(m, "confirm_resize", e, MigrationStatus.ERROR, rid, event);
      quietly(
          "mark error",
          () ->
              steps.tasks.tryCas(uuid, Optional.empty(), InstanceUpdate.none().vm(VmState.ERROR)));
    } finally {
      tracker.changed();
    }
  }

  /** Destination: revert_resize destroys the guest here, then the source takes it back. */
  void revertResize(String uuid, String migrationUuid, String rid) {
    Migration m = steps.conductor.getMigration(migrationUuid);
    Instance i = steps.conductor.getInstance(uuid);
    String event = "compute_revert_resize";
    steps.tasks.eventStart(uuid, rid, event);
    try {
      InstanceSpec spec = specs.build(i).withFlavor(m.newFlavor());
      driver.destroy(spec, false);
      driver.cleanupMigrationTarget(spec, m.uuid());
      steps.conductor.applyMigration(uuid, migrationUuid, false);
      steps.peer(m.sourceCompute()).finishRevertResize(uuid, migrationUuid);
      steps.tasks.eventFinish(uuid, rid, event, Optional.empty());
    } catch (RuntimeException e) {
      steps.failed(m, "revert_resize", e, MigrationStatus.ERROR, rid, event);
      quietly(
          "mark error",
          () ->
              steps.tasks.tryCas(
                  uuid,
                  Optional.of(TaskState.RESIZE_REVERTING),
                  InstanceUpdate.none().vm(VmState.ERROR).clearTask()));
    } finally {
      tracker.changed();
    }
  }

  /**
   * Source: finish_revert_resize — the old flavor and {@code <uuid>_resize} back, started only if
   * it was running. Also the end of a failed finish_resize.
   */
  void finishRevertResize(String uuid, String migrationUuid, String rid) {
    Migration m = steps.conductor.getMigration(migrationUuid);
    Instance i = steps.conductor.getInstance(uuid);
    String event = "compute_finish_revert_resize";
    steps.tasks.eventStart(uuid, rid, event);
    if (deleted(i)) {
      // nothing to give back to a deleted server: drop what the source kept for it
      log.info("server deleted during migration {}; removing its source copy", m.uuid());
      quietly(
          "confirm_migration",
          () -> driver.confirmMigration(specs.build(i).withFlavor(m.oldFlavor())));
      steps.failed(
          m,
          "finish_revert_resize",
          new io.virga.core.VirgaException("the server was deleted"),
          MigrationStatus.ERROR,
          rid,
          event);
      tracker.changed();
      return;
    }
    try {
      driver.finishRevertMigration(
          specs.build(i).withFlavor(m.oldFlavor()), images.forInstance(i), m.wasRunning());
      steps.status(m, MigrationStatus.REVERTED, MigrationStatus.REVERTING);
      steps.restoreState(m, flows.powerState(uuid));
      steps.tasks.eventFinish(uuid, rid, event, Optional.empty());
      log.info("resize reverted (migration {})", m.uuid());
    } catch (RuntimeException e) {
      steps.failed(m, "finish_revert_resize", e, MigrationStatus.ERROR, rid, event);
      quietly(
          "mark error",
          () ->
              steps.conductor.forceUpdateInstance(
                  uuid,
                  InstanceUpdate.none()
                      .vm(VmState.ERROR)
                      .clearTask()
                      .power(flows.powerState(uuid))));
    } finally {
      tracker.changed();
    }
  }

  private static UnexpectedTaskStateException unexpected(Instance i) {
    return new UnexpectedTaskStateException(
        "instance "
            + i.uuid()
            + " is "
            + i.vmState().value()
            + " with task "
            + i.taskState().map(TaskState::value).orElse("none"));
  }
}
