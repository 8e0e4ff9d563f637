package io.virga.compute;

import static io.virga.core.TaskState.BLOCK_DEVICE_MAPPING;
import static io.virga.core.TaskState.DELETING;
import static io.virga.core.TaskState.IMAGE_PENDING_UPLOAD;
import static io.virga.core.TaskState.IMAGE_SNAPSHOT;
import static io.virga.core.TaskState.IMAGE_SNAPSHOT_PENDING;
import static io.virga.core.TaskState.IMAGE_UPLOADING;
import static io.virga.core.TaskState.NETWORKING;
import static io.virga.core.TaskState.PAUSING;
import static io.virga.core.TaskState.REBOOTING;
import static io.virga.core.TaskState.REBOOTING_HARD;
import static io.virga.core.TaskState.REBOOT_PENDING;
import static io.virga.core.TaskState.REBOOT_PENDING_HARD;
import static io.virga.core.TaskState.REBOOT_STARTED;
import static io.virga.core.TaskState.REBOOT_STARTED_HARD;
import static io.virga.core.TaskState.RESUMING;
import static io.virga.core.TaskState.SCHEDULING;
import static io.virga.core.TaskState.SPAWNING;
import static io.virga.core.TaskState.SUSPENDING;
import static io.virga.core.TaskState.UNPAUSING;

import io.virga.core.ConductorApi;
import io.virga.core.Instance;
import io.virga.core.InstanceAction;
import io.virga.core.InstanceUpdate;
import io.virga.core.PowerState;
import io.virga.core.TaskState;
import io.virga.core.VirgaException;
import io.virga.core.VmState;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Nova's {@code _init_instance}: at agent start, each instance of this host stuck in a task by a
 * crash or restart is finished, retried or cleared. Casts queued in-process do not survive a
 * restart, so tasks the API set but the agent never saw (rebooting, pausing …) are handled here
 * too.
 */
final class InstanceRecovery {
  private static final Logger log = LoggerFactory.getLogger(InstanceRecovery.class);
  private static final Set<TaskState> BUILD_TASKS =
      Set.of(SCHEDULING, BLOCK_DEVICE_MAPPING, NETWORKING, SPAWNING);
  private static final Set<TaskState> REBUILD_TASKS =
      Set.of(
          TaskState.REBUILDING, TaskState.REBUILD_BLOCK_DEVICE_MAPPING, TaskState.REBUILD_SPAWNING);
  private static final Set<TaskState> SNAPSHOT_TASKS =
      Set.of(IMAGE_SNAPSHOT_PENDING, IMAGE_PENDING_UPLOAD, IMAGE_UPLOADING, IMAGE_SNAPSHOT);
  private static final Set<TaskState> SOFT_REBOOT =
      Set.of(REBOOTING, REBOOT_PENDING, REBOOT_STARTED);
  private static final Set<TaskState> PAUSE_SUSPEND_TASKS =
      Set.of(PAUSING, UNPAUSING, SUSPENDING, RESUMING);

  private final String host;
  private final ConductorApi conductor;
  private final TaskStates tasks;
  private final InstanceFlows flows;
  private final MigrationRecovery migrations;
  private final LifecycleFlows lifecycle;
  private final ShelveFlows shelve;

  InstanceRecovery(String host, TaskStates tasks, InstanceFlows flows) {
    this(host, tasks, flows, null, null, null);
  }

  /**
   * @param migrations recovery of migration steps; null when this agent does no migrations
   * @param lifecycle rebuild and rescue flows; shelve the shelve flows (null in tests without them)
   */
  InstanceRecovery(
      String host,
      TaskStates tasks,
      InstanceFlows flows,
      MigrationRecovery migrations,
      LifecycleFlows lifecycle,
      ShelveFlows shelve) {
    this.host = host;
    this.conductor = tasks.conductor();
    this.tasks = tasks;
    this.flows = flows;
    this.migrations = migrations;
    this.lifecycle = lifecycle;
    this.shelve = shelve;
  }

  /** An instance being recovered and its task as recovery now sees it. */
  private record Recovering(Instance instance, Optional<TaskState> task) {
    String uuid() {
      return instance.uuid();
    }
  }

  /**
   * Nova's {@code _init_instance}, as a sequence of steps: each one either finishes the instance's
   * recovery (true) or hands it on, its task possibly cleared, to the next.
   */
  void initInstance(Instance i, String requestId) {
    if (!ownedHere(i) || needsNothing(i)) {
      return;
    }
    Recovering r = new Recovering(i, i.taskState());
    if (finishDeleted(r, requestId)
        || (shelve != null && recoverShelve(r.instance(), r.task(), requestId))
        || failInterruptedBuild(r)
        || failInterruptedRebuild(r)
        || restoreInterruptedRescue(r)) {
      return;
    }
    r = clearInterruptedSnapshot(r);
    if (migrations != null && migrations.initInstance(r.instance(), requestId)) {
      return;
    }
    r = clearResizePrep(r);
    if (finishDelete(r, requestId)) {
      return;
    }
    PowerState power = flows.powerState(r.uuid());
    if (retryInterruptedReboot(r, power, requestId)
        || settleInterruptedPowerTask(r, power, requestId)) {
      return;
    }
    if (r.task().isEmpty() && power != r.instance().powerState()) {
      tasks.tryCas(r.uuid(), Optional.empty(), InstanceUpdate.none().power(power));
    }
  }

  private boolean ownedHere(Instance i) {
    if (!i.host().equals(Optional.of(host))) {
      log.warn("instance appears to be owned by {}, not this host; skipping", i.host());
      return false;
    }
    return true;
  }

  /**
   * Soft-deleted, or in ERROR with no delete, resize, rebuild or rescue to finish (Nova leaves an
   * errored instance alone, except the tasks that would stay stuck: rebuild and rescue are both
   * allowed from ERROR).
   */
  private static boolean needsNothing(Instance i) {
    return i.vmState() == VmState.SOFT_DELETED
        || (i.vmState() == VmState.ERROR
            && !is(i.taskState(), Set.of(TaskState.RESIZE_MIGRATING, DELETING, TaskState.RESCUING))
            && !is(i.taskState(), REBUILD_TASKS));
  }

  private boolean finishDeleted(Recovering r, String requestId) {
    if (r.instance().vmState() != VmState.DELETED) {
      return false;
    }
    if (is(r.task(), SNAPSHOT_TASKS)) {
      // deleted by the API while this agent was down, in the middle of a snapshot
      flows.abandonSnapshot(r.instance(), Optional.empty());
    }
    flows.terminate(r.uuid(), requestId);
    return true;
  }

  private boolean failInterruptedBuild(Recovering r) {
    if (r.instance().vmState() != VmState.BUILDING && !is(r.task(), BUILD_TASKS)) {
      return false;
    }
    if (r.instance().vmState() == VmState.BUILDING && is(r.task(), Set.of(SCHEDULING))) {
      // no run of this agent started it (the build's first step leaves scheduling): the API
      // claimed this host and its cast (with the admin password and the group to re-check) waits
      // in the queue, queued behind this recovery. Nova's compute never sees such a build at start
      // either (it sets the host itself) and builds it when the cast arrives.
      log.info("build assigned to this host was never started; leaving it to its queued cast");
      return true;
    }
    log.warn("instance failed to spawn: the agent stopped during the build; setting ERROR");
    tasks.fault(
        r.uuid(),
        new VirgaException(
            "Build of instance "
                + r.uuid()
                + " was interrupted by a compute agent restart; delete it and boot again."));
    force(r.uuid(), InstanceUpdate.none().vm(VmState.ERROR).clearTask());
    return true;
  }

  private boolean failInterruptedRebuild(Recovering r) {
    if (!is(r.task(), REBUILD_TASKS)) {
      return false;
    }
    log.warn("instance failed to rebuild; setting ERROR");
    failEvacuations(r.instance());
    force(r.uuid(), InstanceUpdate.none().vm(VmState.ERROR).clearTask());
    return true;
  }

  /** The rescue domain may or may not exist: put the instance's own domain back, as unrescue. */
  private boolean restoreInterruptedRescue(Recovering r) {
    if (lifecycle == null || !is(r.task(), Set.of(TaskState.RESCUING, TaskState.UNRESCUING))) {
      return false;
    }
    TaskState task = r.task().get();
    log.warn("{} interrupted at start-up; restoring the instance's own domain", task.value());
    if (task == TaskState.RESCUING) {
      tasks.fault(
          r.uuid(),
          new VirgaException(
              "Rescue of instance "
                  + r.uuid()
                  + " was interrupted by a compute agent restart; rescue it again."));
    }
    lifecycle.finishUnrescue(r.instance(), Optional.empty(), task);
    return true;
  }

  private Recovering clearInterruptedSnapshot(Recovering r) {
    if (r.instance().vmState() == VmState.ERROR || !is(r.task(), SNAPSHOT_TASKS)) {
      return r;
    }
    log.info("snapshot interrupted at start-up ({}); clearing the task", r.task().get().value());
    flows.abandonSnapshot(r.instance(), Optional.empty());
    return new Recovering(force(r.uuid(), InstanceUpdate.none().clearTask()), Optional.empty());
  }

  private Recovering clearResizePrep(Recovering r) {
    if (r.instance().vmState() == VmState.ERROR || !is(r.task(), Set.of(TaskState.RESIZE_PREP))) {
      return r;
    }
    log.info("resize_prep at start-up; clearing the task");
    return new Recovering(force(r.uuid(), InstanceUpdate.none().clearTask()), Optional.empty());
  }

  private boolean finishDelete(Recovering r, String requestId) {
    if (!is(r.task(), Set.of(DELETING))) {
      return false;
    }
    log.info("the previous run started deleting the instance; finishing the delete");
    // a delete overwrites the task of a snapshot it interrupts: its image entry may remain
    flows.abandonSnapshot(r.instance(), Optional.empty());
    flows.terminate(r.uuid(), requestId);
    return true;
  }

  private boolean retryInterruptedReboot(Recovering r, PowerState power, String requestId) {
    if (!retryReboot(r.instance(), power)) {
      return false;
    }
    TaskState task = r.task().get();
    boolean hard = rebootType(task, power);
    if (hard && SOFT_REBOOT.contains(task)) {
      // a soft reboot that got as far as stopping the guest has become a hard one
      force(r.uuid(), InstanceUpdate.none().task(REBOOT_PENDING_HARD));
    }
    log.info("reboot interrupted at start-up ({}); rebooting again", task.value());
    flows.reboot(r.uuid(), requestId, hard);
    return true;
  }

  /** Pause, unpause, suspend, resume, stop, start or migrate cut short: settle or redo it. */
  private boolean settleInterruptedPowerTask(Recovering r, PowerState power, String requestId) {
    String uuid = r.uuid();
    Optional<TaskState> task = r.task();
    if (power == PowerState.RUNNING
        && is(task, Set.of(REBOOT_STARTED, REBOOT_STARTED_HARD, PAUSING, UNPAUSING))) {
      log.warn("instance running with task {} at start-up; clearing it", task.get().value());
      force(uuid, InstanceUpdate.none().vm(VmState.ACTIVE).clearTask().power(power));
    } else if (power == PowerState.PAUSED && is(task, Set.of(UNPAUSING))) {
      log.warn("instance paused with task unpausing at start-up; unpausing it");
      flows.unpause(uuid, requestId);
    } else if (is(task, PAUSE_SUSPEND_TASKS)) {
      log.warn("task {} interrupted at start-up; clearing it", task.get().value());
      force(
          uuid, InstanceUpdate.none().vm(vmStateFor(r.instance(), power)).clearTask().power(power));
    } else if (is(task, Set.of(TaskState.POWERING_OFF))) {
      log.info("stop interrupted at start-up; stopping again");
      flows.stop(uuid, requestId);
    } else if (is(task, Set.of(TaskState.POWERING_ON))) {
      log.info("start interrupted at start-up; starting again");
      flows.start(uuid, requestId);
    } else if (is(task, Set.of(TaskState.RESIZE_MIGRATING, TaskState.MIGRATING))) {
      // no migration record to follow (MigrationRecovery handles those): only clear the task
      log.warn("migration interrupted at start-up ({}); resetting the task", task.get().value());
      force(uuid, InstanceUpdate.none().clearTask().power(power));
    } else {
      return false;
    }
    return true;
  }

  private static final Set<TaskState> SHELVING_TASKS =
      Set.of(
          TaskState.SHELVING,
          TaskState.SHELVING_IMAGE_PENDING_UPLOAD,
          TaskState.SHELVING_IMAGE_UPLOADING,
          TaskState.IMAGE_BACKUP);

  /**
   * Shelve, backup, offload and unshelve interrupted by a restart: the unfinished image entry goes
   * and the task is cleared (the instance stays where it was); an offload is finished; an unshelve
   * that was spawning here is undone back to shelved_offloaded. True when handled.
   */
  private boolean recoverShelve(Instance i, Optional<TaskState> task, String requestId) {
    String uuid = i.uuid();
    if (is(task, SHELVING_TASKS)) {
      log.warn("{} interrupted at start-up; clearing it", task.get().value());
      flows.abandonSnapshot(i, Optional.empty());
      for (String k : java.util.List.of(ShelveFlows.SHELVED_IMAGE_ID, ShelveFlows.SHELVED_AT)) {
        conductor.removeSystemMetadata(uuid, k);
      }
      PowerState power = flows.powerState(uuid);
      VmState vm =
          power == PowerState.SHUTDOWN && i.vmState() == VmState.ACTIVE
              ? VmState.STOPPED
              : i.vmState();
      force(uuid, InstanceUpdate.none().vm(vm).clearTask().power(power));
      return true;
    }
    if (is(task, Set.of(TaskState.SHELVING_OFFLOADING))) {
      log.info("offload interrupted at start-up; offloading again");
      shelve.runOffload(i, Optional.empty(), TaskState.SHELVING_OFFLOADING);
      return true;
    }
    if (is(task, Set.of(TaskState.UNSHELVING, SPAWNING))
        && (i.vmState() == VmState.SHELVED_OFFLOADED || i.vmState() == VmState.SHELVED)) {
      log.warn("unshelve interrupted at start-up; the instance stays {}", i.vmState().value());
      tasks.fault(
          uuid,
          new VirgaException(
              "Unshelve of instance "
                  + uuid
                  + " was interrupted by a compute agent restart;"
                  + " unshelve it again."));
      if (i.vmState() == VmState.SHELVED_OFFLOADED) {
        flows.reapDeleted(i); // whatever the interrupted spawn left here
        conductor.instanceOffloaded(uuid, task);
      } else {
        force(uuid, InstanceUpdate.none().clearTask().power(flows.powerState(uuid)));
      }
      return true;
    }
    return false;
  }

  /** An evacuation onto this host that a restart interrupted has failed (its claim released). */
  private void failEvacuations(Instance i) {
    try {
      for (io.virga.core.Migration m : conductor.migrationsInProgress(host)) {
        if (m.type() == io.virga.core.MigrationType.EVACUATION
            && m.instanceUuid().equals(i.uuid())
            && m.destCompute().equals(host)) {
          conductor.updateMigrationStatus(
              m.uuid(),
              java.util.List.of(),
              io.virga.core.MigrationStatus.FAILED,
              Optional.empty());
        }
      }
    } catch (io.virga.core.NotImplementedException e) {
      // a conductor without migration records: nothing to fail
    }
  }

  /** Nova's _retry_reboot. */
  private static boolean retryReboot(Instance i, PowerState power) {
    Optional<TaskState> t = i.taskState();
    // REBOOTING/REBOOTING_HARD: the API's cast was lost with the process (in-process RPC)
    boolean pendingSoft =
        is(t, Set.of(REBOOT_PENDING, REBOOTING))
            && InstanceAction.REBOOT_SOFT.allowedVmStates().contains(i.vmState());
    boolean pendingHard =
        is(t, Set.of(REBOOT_PENDING_HARD, REBOOTING_HARD))
            && InstanceAction.REBOOT_HARD.allowedVmStates().contains(i.vmState());
    boolean startedNotRunning =
        is(t, Set.of(REBOOT_STARTED, REBOOT_STARTED_HARD)) && power != PowerState.RUNNING;
    return pendingSoft || pendingHard || startedNotRunning;
  }

  /** Nova's get_reboot_type: soft only while the guest still runs a soft reboot. */
  private static boolean rebootType(TaskState t, PowerState power) {
    return !(SOFT_REBOOT.contains(t) && power == PowerState.RUNNING);
  }

  private static VmState vmStateFor(Instance i, PowerState power) {
    return switch (power) {
      case RUNNING -> VmState.ACTIVE;
      case PAUSED -> VmState.PAUSED;
      default ->
          i.taskState().equals(Optional.of(SUSPENDING))
                  || i.taskState().equals(Optional.of(RESUMING))
              ? VmState.SUSPENDED
              : i.vmState();
    };
  }

  private Instance force(String uuid, InstanceUpdate update) {
    return conductor.forceUpdateInstance(uuid, update);
  }

  private static boolean is(Optional<TaskState> t, Set<TaskState> set) {
    return t.isPresent() && set.contains(t.get());
  }
}
