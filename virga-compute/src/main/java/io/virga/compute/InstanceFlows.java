package io.virga.compute;

import static io.virga.core.TaskState.POWERING_OFF;

import io.virga.core.ImageMeta;
import io.virga.core.Instance;
import io.virga.core.InstanceAction;
import io.virga.core.InstanceUpdate;
import io.virga.core.NotFoundException;
import io.virga.core.PowerState;
import io.virga.core.TaskState;
import io.virga.core.VmState;
import io.virga.virt.ComputeDriver;
import io.virga.virt.InstanceInfo;
import io.virga.virt.InstanceSpec;
import io.virga.virt.RebootType;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The instance actions, each Nova's task-state sequence around one driver call. Every method runs
 * on the caller's thread and assumes the caller holds the instance's place in the {@link
 * InstanceQueue}.
 */
final class InstanceFlows {
  private static final Logger log = LoggerFactory.getLogger(InstanceFlows.class);

  private final FlowContext ctx;
  private final ComputeDriver driver;
  private final TaskStates tasks;
  private final ActionRun actions;
  private final PendingDeletes pendingDeletes;

  InstanceFlows(FlowContext ctx, PendingDeletes pendingDeletes) {
    this.ctx = ctx;
    this.driver = ctx.driver();
    this.tasks = ctx.tasks();
    this.actions = ctx.actionRun();
    this.pendingDeletes = pendingDeletes;
  }

  /** One power action: the allowed-state check, its task, its event and where it ends. */
  record PowerAction(
      String name,
      InstanceAction check,
      TaskState task,
      Set<TaskState> acceptedAsIs,
      String event,
      VmState onSuccess) {}

  static final PowerAction STOP =
      action("stop", InstanceAction.STOP, POWERING_OFF, VmState.STOPPED);
  static final PowerAction START =
      action("start", InstanceAction.START, TaskState.POWERING_ON, VmState.ACTIVE);
  static final PowerAction PAUSE =
      action("pause", InstanceAction.PAUSE, TaskState.PAUSING, VmState.PAUSED);
  static final PowerAction UNPAUSE =
      action("unpause", InstanceAction.UNPAUSE, TaskState.UNPAUSING, VmState.ACTIVE);
  static final PowerAction SUSPEND =
      action("suspend", InstanceAction.SUSPEND, TaskState.SUSPENDING, VmState.SUSPENDED);
  static final PowerAction RESUME =
      action("resume", InstanceAction.RESUME, TaskState.RESUMING, VmState.ACTIVE);

  private static PowerAction action(String name, InstanceAction check, TaskState t, VmState end) {
    return new PowerAction(name, check, t, Set.of(t), "compute_" + name + "_instance", end);
  }

  /** A driver call made for an instance in its task. */
  @FunctionalInterface
  interface DriverOp {
    void run(Instance instance, InstanceSpec spec);
  }

  // ---- build ----

  /**
   * Nova's build: scheduling → networking → block_device_mapping → spawning → active; {@code
   * adminPass} goes on the config drive.
   */
  void build(Instance i, Optional<ImageMeta> image, String requestId, Optional<String> adminPass) {
    String uuid = i.uuid();
    boolean scheduled = i.taskState().equals(Optional.of(TaskState.SCHEDULING));
    if (i.vmState() != VmState.BUILDING || !(scheduled || i.taskState().isEmpty())) {
      log.warn(
          "not building: instance is {} with task {}",
          i.vmState().value(),
          i.taskState().map(TaskState::value).orElse("none"));
      return;
    }
    AtomicReference<Optional<TaskState>> current = new AtomicReference<>(i.taskState());
    ActionRun.Action build =
        ActionRun.action("build", uuid, requestId, "compute__do_build_and_run_instance")
            .startingWithFirstStep();
    // a lost task here means the API deleted it meanwhile: the queued terminate cleans up
    actions.run(
        build,
        () -> {
          InstanceSpec spec = ctx.specs().forBuild(i, image).withAdminPass(adminPass);
          driver.spawn(
              spec,
              ctx.images().forInstance(i),
              next -> {
                tasks.cas(uuid, current.get(), InstanceUpdate.none().task(next));
                current.set(Optional.of(next));
              });
          actions.finishWithNextStep(build);
          tasks.cas(uuid, current.get(), launchedAs(VmState.ACTIVE, uuid));
          log.info("instance spawned");
        },
        e ->
            tasks.tryCas(
                uuid,
                current.get(),
                InstanceUpdate.none().vm(VmState.ERROR).clearTask().power(powerState(uuid))));
  }

  // ---- power actions ----

  void power(String uuid, String requestId, PowerAction a, DriverOp op) {
    Instance i = ctx.conductor().getInstance(uuid);
    Optional<Instance> begun = tasks.begin(i, a.check(), a.task(), a.acceptedAsIs());
    if (begun.isEmpty()) {
      return;
    }
    runPower(begun.get(), Optional.of(requestId), a, op);
  }

  void stop(String uuid, String requestId) {
    power(uuid, requestId, STOP, (i, s) -> cleanShutdown(s));
  }

  /** A clean shutdown, re-sent every shutdown_retry_interval up to the shutdown timeout. */
  void cleanShutdown(InstanceSpec s) {
    driver.powerOff(s, shutdownTimeout(s), ctx.options().shutdownRetryInterval());
  }

  /** Nova's rule: the image property {@code os_shutdown_timeout} overrides shutdown_timeout. */
  Duration shutdownTimeout(InstanceSpec s) {
    return s.image()
        .property("os_shutdown_timeout")
        .flatMap(InstanceFlows::seconds)
        .orElse(ctx.options().shutdownTimeout());
  }

  private static Optional<Duration> seconds(String v) {
    try {
      long n = Long.parseLong(v.strip());
      return n >= 0 ? Optional.of(Duration.ofSeconds(n)) : Optional.empty();
    } catch (NumberFormatException e) {
      log.warn("ignoring image property os_shutdown_timeout={}: not a number of seconds", v);
      return Optional.empty();
    }
  }

  void start(String uuid, String requestId) {
    power(uuid, requestId, START, (i, s) -> driver.powerOn(s, ctx.images().forInstance(i)));
  }

  void pause(String uuid, String requestId) {
    power(uuid, requestId, PAUSE, (i, s) -> driver.pause(s));
  }

  void unpause(String uuid, String requestId) {
    power(uuid, requestId, UNPAUSE, (i, s) -> driver.unpause(s));
  }

  void suspend(String uuid, String requestId) {
    power(uuid, requestId, SUSPEND, (i, s) -> driver.suspend(s));
  }

  void resume(String uuid, String requestId) {
    power(uuid, requestId, RESUME, (i, s) -> driver.resume(s));
  }

  /**
   * The stop a power-state sync makes when a guest went down on its own ({@code force}: no clean
   * shutdown, as Nova's force_stop). The instance must have no task.
   */
  void syncStop(Instance i, boolean force) {
    Optional<Instance> begun =
        tasks.tryCas(i.uuid(), Optional.empty(), InstanceUpdate.none().task(POWERING_OFF));
    if (begun.isEmpty()) {
      return;
    }
    runPower(
        begun.get(),
        Optional.empty(),
        STOP,
        (inst, s) ->
            driver.powerOff(
                s,
                force ? Duration.ZERO : shutdownTimeout(s),
                ctx.options().shutdownRetryInterval()));
  }

  /**
   * The instance is in {@code a.task()}; do the driver call and end the task. A failure clears the
   * task and the vm_state stays (Nova's reverts_task_state).
   */
  private void runPower(Instance i, Optional<String> requestId, PowerAction a, DriverOp op) {
    String uuid = i.uuid();
    TaskState task = i.taskState().orElse(a.task());
    actions.run(
        ActionRun.action(a.name(), uuid, requestId, a.event()),
        () -> {
          op.run(i, ctx.specs().build(i));
          tasks.cas(
              uuid,
              task,
              InstanceUpdate.none().vm(a.onSuccess()).clearTask().power(powerState(uuid)));
          log.info("instance {} done", a.name());
        },
        e ->
            tasks.tryCas(
                uuid,
                Optional.of(task),
                InstanceUpdate.none().clearTask().power(powerState(uuid))));
  }

  // ---- reboot ----

  private static final Set<TaskState> SOFT_REBOOTING =
      Set.of(TaskState.REBOOTING, TaskState.REBOOT_PENDING, TaskState.REBOOT_STARTED);
  private static final Set<TaskState> HARD_REBOOTING =
      Set.of(
          TaskState.REBOOTING_HARD, TaskState.REBOOT_PENDING_HARD, TaskState.REBOOT_STARTED_HARD);

  /** rebooting → reboot_pending → reboot_started → active (the _hard variants for HARD). */
  void reboot(String uuid, String requestId, boolean hard) {
    Instance i = ctx.conductor().getInstance(uuid);
    InstanceAction check = hard ? InstanceAction.REBOOT_HARD : InstanceAction.REBOOT_SOFT;
    TaskState first = hard ? TaskState.REBOOTING_HARD : TaskState.REBOOTING;
    Optional<Instance> begun = tasks.begin(i, check, first, hard ? HARD_REBOOTING : SOFT_REBOOTING);
    if (begun.isEmpty()) {
      return;
    }
    AtomicReference<TaskState> task = new AtomicReference<>(begun.get().taskState().orElse(first));
    actions.run(
        ActionRun.action("reboot", uuid, requestId, "compute_reboot_instance"),
        () -> {
          TaskState pending = hard ? TaskState.REBOOT_PENDING_HARD : TaskState.REBOOT_PENDING;
          TaskState started = hard ? TaskState.REBOOT_STARTED_HARD : TaskState.REBOOT_STARTED;
          if (task.get() != pending && task.get() != started) {
            tasks.cas(uuid, task.get(), InstanceUpdate.none().task(pending));
            task.set(pending);
          }
          if (task.get() != started) {
            tasks.cas(uuid, task.get(), InstanceUpdate.none().task(started));
            task.set(started);
          }
          driver.reboot(
              ctx.specs().build(i),
              hard ? RebootType.HARD : RebootType.SOFT,
              ctx.images().forInstance(i));
          tasks.cas(
              uuid,
              task.get(),
              InstanceUpdate.none().vm(VmState.ACTIVE).clearTask().power(powerState(uuid)));
          log.info("instance rebooted ({})", hard ? "hard" : "soft");
        },
        e -> {
          // Nova: a failed reboot leaves the instance ACTIVE if it still runs, else ERROR
          PowerState p = powerState(uuid);
          VmState vm = p == PowerState.RUNNING ? VmState.ACTIVE : VmState.ERROR;
          tasks.tryCas(
              uuid, Optional.of(task.get()), InstanceUpdate.none().vm(vm).clearTask().power(p));
        });
  }

  // ---- terminate ----

  /** deleting → destroy → instanceDestroyed; allowed in every state and during every task. */
  void terminate(String uuid, String requestId) {
    Instance i;
    try {
      i = ctx.conductor().getInstance(uuid);
    } catch (NotFoundException e) {
      log.info("instance already deleted");
      return;
    }
    if (!i.taskState().equals(Optional.of(TaskState.DELETING))) {
      i = ctx.conductor().forceUpdateInstance(uuid, InstanceUpdate.none().task(TaskState.DELETING));
    }
    String event = "compute_terminate_instance";
    tasks.eventStart(uuid, requestId, event);
    try {
      driver.destroy(ctx.specs().build(i), true);
      // a driver may leave files it could not remove without failing; the periodic task retries
      pendingDeletes.add(uuid);
      tasks.eventFinish(uuid, requestId, event, Optional.empty());
      ctx.conductor().instanceDestroyed(uuid);
      log.info("instance destroyed");
    } catch (RuntimeException e) {
      if (driver.getInfo(uuid).isEmpty()) {
        // the domain is gone; only files remain, which the pending-delete task retries
        log.warn("instance deleted but its files remain ({}); will retry", e.getMessage());
        pendingDeletes.add(uuid);
        tasks.eventFinish(uuid, requestId, event, Optional.empty());
        ctx.conductor().instanceDestroyed(uuid);
      } else {
        log.error("delete failed: {}", e.getMessage(), e);
        tasks.fault(uuid, e);
        ctx.conductor()
            .forceUpdateInstance(
                uuid, InstanceUpdate.none().vm(VmState.ERROR).clearTask().power(powerState(uuid)));
        tasks.eventFinish(uuid, requestId, event, Optional.of(e));
      }
    } finally {
      ctx.tracker().changed();
    }
  }

  /**
   * The domain and files of an instance the control plane deleted while this host was away (a local
   * delete): removed without touching the row, which is already deleted.
   */
  void reapDeleted(Instance deleted) {
    try {
      driver.destroy(ctx.specs().build(deleted), true);
      pendingDeletes.add(deleted.uuid());
      log.info("reaped the domain of deleted instance");
    } catch (RuntimeException e) {
      log.error("cannot reap the domain of deleted instance: {}", e.getMessage(), e);
    } finally {
      ctx.tracker().changed();
    }
  }

  // ---- snapshot ----

  /** image_snapshot_pending → image_snapshot → image_pending_upload → image_uploading → none. */
  void snapshot(String uuid, String requestId, String imageId) {
    Instance i = ctx.conductor().getInstance(uuid);
    Set<TaskState> accepted = Set.of(TaskState.IMAGE_SNAPSHOT_PENDING, TaskState.IMAGE_SNAPSHOT);
    Optional<Instance> begun =
        tasks.begin(i, InstanceAction.SNAPSHOT, TaskState.IMAGE_SNAPSHOT_PENDING, accepted);
    if (begun.isEmpty()) {
      abandonSnapshot(i, Optional.of(imageId));
      return;
    }
    AtomicReference<TaskState> current =
        new AtomicReference<>(begun.get().taskState().orElse(TaskState.IMAGE_SNAPSHOT_PENDING));
    // no fault and no resource report here, unlike Nova's wrap_instance_fault: the image entry goes
    ActionRun.Action action =
        ActionRun.action("snapshot", uuid, requestId, "compute_snapshot_instance")
            .withoutFault()
            .withoutResourceChange()
            .onTaskLost(() -> abandonSnapshot(i, Optional.of(imageId)));
    actions.run(
        action,
        () -> {
          if (current.get() != TaskState.IMAGE_SNAPSHOT) {
            tasks.cas(uuid, current.get(), InstanceUpdate.none().task(TaskState.IMAGE_SNAPSHOT));
            current.set(TaskState.IMAGE_SNAPSHOT);
          }
          snapshotInstance(i, imageId, current);
          log.info("snapshot {} uploaded", imageId);
        },
        e -> {
          // Nova: the task is cleared and the instance keeps its state; the image entry goes
          abandonSnapshot(i, Optional.of(imageId));
          tasks.tryCas(uuid, Optional.of(current.get()), InstanceUpdate.none().clearTask());
        });
  }

  /**
   * Nova's _snapshot_instance, shared by snapshot and backup: the driver's snapshot walks the task
   * through image_pending_upload → image_uploading ({@code current} follows it), then it is
   * cleared.
   */
  void snapshotInstance(Instance i, String imageId, AtomicReference<TaskState> current) {
    String uuid = i.uuid();
    driver.snapshot(
        ctx.specs().build(i),
        imageId,
        ctx.images().forSnapshot(i, imageId),
        next -> {
          tasks.cas(uuid, current.get(), InstanceUpdate.none().task(next));
          current.set(next);
        });
    tasks.cas(uuid, current.get(), InstanceUpdate.none().clearTask().power(powerState(uuid)));
  }

  /** The image entry of a snapshot that did not finish is removed (never left queued/saving). */
  void abandonSnapshot(Instance i, Optional<String> imageId) {
    try {
      ctx.images().abandonSnapshot(i, imageId);
    } catch (RuntimeException e) {
      log.error("cannot clean up the snapshot image {}: {}", imageId.orElse("(any)"), e.toString());
    }
  }

  // ---- helpers ----

  /**
   * Where a spawn, rebuild or unshelve ends: {@code vm}, no task, its power state, launched now.
   */
  InstanceUpdate launchedAs(VmState vm, String uuid) {
    return InstanceUpdate.none().vm(vm).clearTask().power(powerState(uuid)).launched();
  }

  /** The hypervisor's power state for the instance, NOSTATE when it does not know it. */
  PowerState powerState(String uuid) {
    try {
      return driver.getInfo(uuid).map(InstanceInfo::powerState).orElse(PowerState.NOSTATE);
    } catch (RuntimeException e) {
      log.warn("cannot read the power state: {}", e.toString());
      return PowerState.NOSTATE;
    }
  }

  /** The driver's diagnostics of the instance (Nova's get_instance_diagnostics). */
  io.virga.core.InstanceDiagnostics diagnostics(String uuid) {
    return driver.getDiagnostics(ctx.specs().build(ctx.conductor().getInstance(uuid)));
  }

  String consoleOutput(String uuid, int maxLines) {
    Instance i = ctx.conductor().getInstance(uuid);
    String text = driver.getConsoleOutput(ctx.specs().build(i), 1 << 20);
    if (maxLines < 0) {
      return text;
    }
    String[] lines = text.split("\n", -1);
    int n = lines.length;
    // a trailing newline leaves an empty last element that is not a line
    int end = n > 0 && lines[n - 1].isEmpty() ? n - 1 : n;
    int from = Math.max(0, end - maxLines);
    StringBuilder out = new StringBuilder();
    for (int k = from; k < end; k++) {
      out.append(lines[k]).append('\n');
    }
    return out.toString();
  }
}
