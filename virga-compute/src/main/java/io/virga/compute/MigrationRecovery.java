package io.virga.compute;

import static io.virga.compute.MigrationSteps.quietly;

import io.virga.core.Instance;
import io.virga.core.InstanceUpdate;
import io.virga.core.Migration;
import io.virga.core.MigrationStatus;
import io.virga.core.PowerState;
import io.virga.core.TaskState;
import io.virga.core.VirgaException;
import io.virga.virt.ComputeDriver;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Nova's {@code _init_instance} rules for instances an agent restart caught in a migration: no task
 * state stays stuck, no {@code <uuid>_resize} is orphaned, and the records follow the guest.
 */
final class MigrationRecovery {
  private static final Logger log = LoggerFactory.getLogger(MigrationRecovery.class);
  private static final String EVENT = "compute_init_instance";

  private final String host;
  private final ComputeDriver driver;
  private final MigrationSteps steps;
  private final SpecBuilder specs;
  private final ImageSourceFactory images;
  private final InstanceFlows flows;

  MigrationRecovery(
      String host,
      ComputeDriver driver,
      MigrationSteps steps,
      SpecBuilder specs,
      ImageSourceFactory images,
      InstanceFlows flows) {
    this.host = host;
    this.driver = driver;
    this.steps = steps;
    this.specs = specs;
    this.images = images;
    this.flows = flows;
  }

  /** True when {@code i}'s task was a migration step and has been dealt with. */
  boolean initInstance(Instance i, String rid) {
    Optional<TaskState> task = i.taskState();
    if (task.isEmpty()) {
      return false;
    }
    return switch (task.get()) {
      case RESIZE_PREP, RESIZE_MIGRATING ->
          migration(i.uuid()).map(x -> revertOnSource(i, x, rid)).orElse(false);
      case RESIZE_FINISH -> migration(i.uuid()).map(x -> failFinish(i, x, rid)).orElse(false);
      case RESIZE_REVERTING -> migration(i.uuid()).map(x -> redoRevert(i, x, rid)).orElse(false);
      case MIGRATING -> migration(i.uuid()).map(x -> followLiveGuest(i, x, rid)).orElse(false);
      default -> false;
    };
  }

  /** The instance's newest migration in progress here; empty when the control plane has none. */
  private Optional<Migration> migration(String uuid) {
    try {
      List<Migration> mine =
          steps.conductor.migrationsInProgress(host).stream()
              .filter(x -> x.instanceUuid().equals(uuid))
              .toList();
      return mine.isEmpty() ? Optional.empty() : Optional.of(mine.get(0));
    } catch (io.virga.core.NotImplementedException e) {
      return Optional.empty();
    }
  }

  private VirgaException interrupted(String step) {
    return new VirgaException(step + " was interrupted by a compute agent restart on " + host);
  }

  /** Source: the disks back from {@code _resize}, the guest as it was, with the old flavor. */
  private void finishRevertMigration(Instance i, Migration m) {
    quietly(
        "finish_revert_migration",
        () ->
            driver.finishRevertMigration(
                specs.build(i).withFlavor(m.oldFlavor()), images.forInstance(i), m.wasRunning()));
  }

  /** Source stopped in prep or mid-copy: disks back in place, guest as it was, dest cleaned. */
  private boolean revertOnSource(Instance i, Migration m, String rid) {
    String step = i.taskState().get() == TaskState.RESIZE_PREP ? "prep_resize" : "resize_instance";
    log.warn("{} interrupted at start-up; reverting to the source", step);
    steps.tasks.eventStart(i.uuid(), rid, EVENT);
    if (step.equals("resize_instance")) {
      finishRevertMigration(i, m);
    } else if (m.wasRunning() && flows.powerState(i.uuid()) == PowerState.SHUTDOWN) {
      quietly("power on", () -> driver.powerOn(specs.build(i), images.forInstance(i)));
    }
    steps.failed(m, step, interrupted(step), MigrationStatus.ERROR, rid, EVENT);
    quietly(
        "cleanup_migration_target",
        () -> steps.peer(m.destCompute()).cleanupMigrationTarget(i.uuid(), m.uuid()));
    steps.restoreState(m, flows.powerState(i.uuid()));
    return true;
  }

  /** Destination stopped in finish_migration: clean here, the source takes the guest back. */
  private boolean failFinish(Instance i, Migration m, String rid) {
    log.warn("finish_resize interrupted at start-up; reverting to {}", m.sourceCompute());
    steps.tasks.eventStart(i.uuid(), rid, EVENT);
    quietly("destroy", () -> driver.destroy(specs.build(i), false));
    quietly(
        "cleanup_migration_target", () -> driver.cleanupMigrationTarget(specs.build(i), m.uuid()));
    steps.failed(
        m, "finish_resize", interrupted("finish_resize"), MigrationStatus.ERROR, rid, EVENT);
    steps.conductor.applyMigration(i.uuid(), m.uuid(), false);
    quietly(
        "finish_revert_resize",
        () -> steps.peer(m.sourceCompute()).finishRevertResize(i.uuid(), m.uuid()));
    return true;
  }

  /**
   * The cold migrations this host takes part in (either side) whose disks were sent — task {@code
   * resize_migrated} — but whose {@code finish_resize} has not been acted upon: the source may have
   * died between its last step and the cast, or the destination with the message in hand. Checked
   * after {@code resize_stranded_timeout}, so a cast still queued for a restarted destination wins.
   */
  List<Migration> strandedResizes() {
    try {
      return steps.conductor.migrationsInProgress(host).stream()
          .filter(m -> !m.live() && m.type() != io.virga.core.MigrationType.EVACUATION)
          .filter(m -> m.sourceCompute().equals(host) || m.destCompute().equals(host))
          .filter(m -> migratedButNotFinished(m).isPresent())
          .toList();
    } catch (io.virga.core.NotImplementedException e) {
      return List.of();
    }
  }

  private Optional<Instance> migratedButNotFinished(Migration m) {
    Instance i = steps.conductor.getInstance(m.instanceUuid());
    boolean stranded =
        i.taskState().equals(Optional.of(TaskState.RESIZE_MIGRATED))
            && i.host().equals(Optional.of(m.sourceCompute()))
            && m.status() == MigrationStatus.POST_MIGRATING;
    return stranded ? Optional.of(i) : Optional.empty();
  }

  /**
   * A migration still stranded at {@code resize_migrated}: reverted to the source, as Nova's rule
   * for an interrupted {@code resize_migrating}. The task is claimed first (compare-and-swap to
   * {@code resize_reverting}), so a {@code finish_resize} arriving later finds another task and
   * leaves the instance alone. The source restores {@code <uuid>_resize} and restarts the guest if
   * it was running; the destination removes what it received.
   */
  void revertStranded(Migration stale, String rid) {
    Migration m = steps.conductor.getMigration(stale.uuid());
    Optional<Instance> found = migratedButNotFinished(m);
    if (found.isEmpty()) {
      return; // finish_resize came after all, or something else took the instance on
    }
    Instance i = found.get();
    if (steps
        .tasks
        .tryCas(
            i.uuid(),
            Optional.of(TaskState.RESIZE_MIGRATED),
            InstanceUpdate.none().task(TaskState.RESIZE_REVERTING))
        .isEmpty()) {
      return;
    }
    log.warn(
        "migration {} stranded at resize_migrated; reverting to {}", m.uuid(), m.sourceCompute());
    steps.tasks.eventStart(i.uuid(), rid, EVENT);
    steps.failed(
        m,
        "finish_resize",
        new VirgaException(
            "finish_resize was never acted upon after a compute agent restart on " + host),
        MigrationStatus.ERROR,
        rid,
        EVENT);
    if (m.sourceCompute().equals(host)) {
      quietly(
          "cleanup_migration_target",
          () -> steps.peer(m.destCompute()).cleanupMigrationTarget(i.uuid(), m.uuid()));
      finishRevertMigration(i, m);
      steps.restoreState(m, flows.powerState(i.uuid()));
    } else {
      quietly(
          "cleanup_migration_target",
          () -> driver.cleanupMigrationTarget(specs.build(i).withFlavor(m.newFlavor()), m.uuid()));
      // the source restores <uuid>_resize, restarts the guest if it ran and ends the task
      quietly(
          "finish_revert_resize",
          () -> steps.peer(m.sourceCompute()).finishRevertResize(i.uuid(), m.uuid()));
    }
  }

  private boolean redoRevert(Instance i, Migration m, String rid) {
    if (!m.destCompute().equals(host)) {
      return false;
    }
    log.warn("revert_resize interrupted at start-up; reverting again");
    quietly("destroy", () -> driver.destroy(specs.build(i).withFlavor(m.newFlavor()), false));
    quietly(
        "cleanup_migration_target", () -> driver.cleanupMigrationTarget(specs.build(i), m.uuid()));
    steps.conductor.applyMigration(i.uuid(), m.uuid(), false);
    quietly(
        "finish_revert_resize",
        () -> steps.peer(m.sourceCompute()).finishRevertResize(i.uuid(), m.uuid()));
    return true;
  }

  /** Source stopped mid live migration: the records follow wherever libvirt says the guest is. */
  private boolean followLiveGuest(Instance i, Migration m, String rid) {
    if (!m.live() || !m.sourceCompute().equals(host)) {
      return false;
    }
    steps.tasks.eventStart(i.uuid(), rid, EVENT);
    if (driver.getInfo(i.uuid()).isPresent()) {
      log.warn("live migration {} interrupted at start-up; the guest is still here", m.uuid());
      quietly(
          "rollback_live_migration_at_destination",
          () ->
              steps
                  .peer(m.destCompute())
                  .rollbackLiveMigrationAtDestination(i.uuid(), m.uuid(), emptyData(m)));
      steps.failed(
          m, "live_migration", interrupted("live_migration"), MigrationStatus.ERROR, rid, EVENT);
      steps.tasks.tryCas(
          i.uuid(),
          Optional.of(TaskState.MIGRATING),
          InstanceUpdate.none().clearTask().power(flows.powerState(i.uuid())).progress(0));
    } else {
      log.warn(
          "live migration {} interrupted at start-up; the guest is on {} now",
          m.uuid(),
          m.destCompute());
      steps.conductor.applyMigration(i.uuid(), m.uuid(), true);
      steps.status(m, MigrationStatus.COMPLETED);
      steps.tasks.tryCas(
          i.uuid(),
          Optional.of(TaskState.MIGRATING),
          InstanceUpdate.none().clearTask().progress(0));
      steps.tasks.eventFinish(i.uuid(), rid, EVENT, Optional.empty());
    }
    return true;
  }

  private static String emptyData(Migration m) {
    return io.virga.rpc.Rpc.toJson(
        new io.virga.virt.LiveMigrationData(
            m.destCompute(), "", "", false, false, Optional.empty(), Optional.empty(), List.of()));
  }
}
