package io.virga.compute;

import io.virga.core.ImageMeta;
import io.virga.core.Instance;
import io.virga.core.InstanceAction;
import io.virga.core.InstanceUpdate;
import io.virga.core.InvalidInputException;
import io.virga.core.MigrationStatus;
import io.virga.core.PowerState;
import io.virga.core.TaskState;
import io.virga.core.VmState;
import io.virga.virt.ComputeDriver;
import io.virga.virt.InstanceSpec;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rest of a server's life on the agent (Nova's {@code rebuild_instance}, {@code
 * rescue_instance}, {@code unrescue_instance}): each its task-state sequence around the driver
 * call, with the same rules as {@link InstanceFlows} — begin by compare-and-swap, an instance
 * action event, a fault and a resting state on failure, never a task left set.
 */
final class LifecycleFlows {
  private static final Logger log = LoggerFactory.getLogger(LifecycleFlows.class);
  static final Set<TaskState> REBUILD_TASKS =
      Set.of(
          TaskState.REBUILDING, TaskState.REBUILD_BLOCK_DEVICE_MAPPING, TaskState.REBUILD_SPAWNING);

  private final FlowContext ctx;
  private final ComputeDriver driver;
  private final TaskStates tasks;
  private final ActionRun actions;
  private final InstanceFlows flows;

  LifecycleFlows(FlowContext ctx, InstanceFlows flows) {
    this.ctx = ctx;
    this.driver = ctx.driver();
    this.tasks = ctx.tasks();
    this.actions = ctx.actionRun();
    this.flows = flows;
  }

  // ---- rebuild ----

  /**
   * rebuilding → rebuild_block_device_mapping → rebuild_spawning → the power state it had: a
   * stopped instance is stopped again, any other ends active (Nova's rebuild_instance). A failure
   * leaves it in ERROR with a fault.
   */
  void rebuild(
      String uuid,
      String requestId,
      String imageRef,
      boolean preserveEphemeral,
      Optional<String> adminPass) {
    rebuild(uuid, requestId, imageRef, preserveEphemeral, Optional.empty(), adminPass);
  }

  /**
   * An evacuation's destination half: its migration and the caller's shared-storage claim (empty
   * from 2.14 on: this host detects it).
   */
  record Evacuation(String migrationUuid, Optional<Boolean> onSharedStorage) {}

  /**
   * Evacuate's destination half (Nova's rebuild_instance with recreate): the scheduler already
   * assigned the instance here; when this host sees its disks (shared instances path) it is
   * recreated from them with its data, else built from its image; the evacuation migration ends
   * done (or failed).
   */
  void evacuate(
      String uuid,
      String requestId,
      String migrationUuid,
      Optional<Boolean> onSharedStorage,
      Optional<String> adminPass) {
    Instance i = ctx.conductor().getInstance(uuid);
    rebuild(
        uuid,
        requestId,
        i.imageRef(),
        false,
        Optional.of(new Evacuation(migrationUuid, onSharedStorage)),
        adminPass);
  }

  private void rebuild(
      String uuid,
      String requestId,
      String imageRef,
      boolean preserveEphemeral,
      Optional<Evacuation> evacuation,
      Optional<String> adminPass) {
    Instance found = ctx.conductor().getInstance(uuid);
    Optional<Instance> begun =
        tasks.begin(
            found, InstanceAction.REBUILD, TaskState.REBUILDING, Set.of(TaskState.REBUILDING));
    if (begun.isEmpty()) {
      return;
    }
    Instance i = begun.get();
    if (!i.imageRef().equals(imageRef)) {
      log.warn("rebuild asked for image {} but the instance names {}", imageRef, i.imageRef());
    }
    VmState original =
        evacuation.isPresent() && i.vmState() == VmState.ERROR ? VmState.ACTIVE : i.vmState();
    AtomicReference<TaskState> current = new AtomicReference<>(TaskState.REBUILDING);
    Consumer<TaskState> next =
        t -> {
          tasks.cas(uuid, Optional.of(current.get()), InstanceUpdate.none().task(t));
          current.set(t);
        };
    actions.run(
        ActionRun.action("rebuild", uuid, requestId, "compute_rebuild_instance"),
        () -> {
          InstanceSpec spec = ctx.specs().forBuild(i).withAdminPass(adminPass);
          if (flows.powerState(uuid) == PowerState.RUNNING) {
            flows.cleanShutdown(spec);
          }
          recreateOrRebuild(i, spec, evacuation, preserveEphemeral, next);
          VmState end = VmState.ACTIVE;
          if (original == VmState.STOPPED) {
            flows.cleanShutdown(spec);
            end = VmState.STOPPED;
          }
          tasks.cas(uuid, current.get(), flows.launchedAs(end, uuid));
          log.info("instance rebuilt with image {}", i.imageRef());
          evacuation.ifPresent(m -> migrationStatus(m.migrationUuid(), MigrationStatus.DONE));
        },
        e -> {
          evacuation.ifPresent(m -> migrationStatus(m.migrationUuid(), MigrationStatus.FAILED));
          tasks.tryCas(
              uuid,
              Optional.of(current.get()),
              InstanceUpdate.none().vm(VmState.ERROR).clearTask().power(flows.powerState(uuid)));
        });
  }

  /** An evacuation onto disks this host sees recreates the guest from them; the rest rebuild. */
  private void recreateOrRebuild(
      Instance i,
      InstanceSpec spec,
      Optional<Evacuation> evacuation,
      boolean preserveEphemeral,
      Consumer<TaskState> next) {
    if (evacuation.isPresent() && onSharedStorage(spec, evacuation.get())) {
      driver.recreateFromDisks(spec, ctx.images().forInstance(i), next);
      log.info("instance recreated from its disks on shared storage");
    } else {
      driver.rebuild(spec, ctx.images().forInstance(i), preserveEphemeral, next);
    }
  }

  /**
   * Nova's check in rebuild_instance: from 2.14 the host detects shared storage itself; before, the
   * caller's onSharedStorage must match what this host finds (InvalidSharedStorage otherwise).
   */
  private boolean onSharedStorage(InstanceSpec spec, Evacuation e) {
    boolean onDisk = driver.instanceOnDisk(spec);
    if (e.onSharedStorage().isPresent() && e.onSharedStorage().get() != onDisk) {
      throw new InvalidInputException(
          "Invalid state of instance files on shared storage: the evacuation says "
              + (e.onSharedStorage().get() ? "shared" : "not shared")
              + " but host "
              + driver.hostname()
              + (onDisk ? " sees" : " does not see")
              + " the instance's files");
    }
    return onDisk;
  }

  private void migrationStatus(String migrationUuid, MigrationStatus status) {
    try {
      ctx.conductor()
          .updateMigrationStatus(
              migrationUuid,
              java.util.List.of(MigrationStatus.ACCEPTED, MigrationStatus.PRE_MIGRATING),
              status,
              Optional.empty());
    } catch (RuntimeException e) {
      log.error("cannot mark evacuation {} {}: {}", migrationUuid, status.value(), e.toString());
    }
  }

  // ---- rescue / unrescue ----

  /**
   * rescuing → rescued: a clean shutdown, then the rescue domain. When the driver fails it puts the
   * instance's own domain back; the instance is then active (running) or error, with a fault.
   */
  void rescue(
      String uuid, String requestId, String rescueImageRef, Optional<String> rescuePassword) {
    Instance i = ctx.conductor().getInstance(uuid);
    Optional<Instance> begun =
        tasks.begin(i, InstanceAction.RESCUE, TaskState.RESCUING, Set.of(TaskState.RESCUING));
    if (begun.isEmpty()) {
      return;
    }
    actions.run(
        ActionRun.action("rescue", uuid, requestId, "compute_rescue_instance"),
        () -> {
          InstanceSpec spec = ctx.specs().build(i).withAdminPass(rescuePassword);
          ImageMeta rescueImage = ctx.conductor().getImage(rescueImageRef);
          if (flows.powerState(uuid) == PowerState.RUNNING) {
            flows.cleanShutdown(spec);
          }
          driver.rescue(spec, rescueImage, ctx.images().forInstance(i));
          tasks.cas(
              uuid,
              TaskState.RESCUING,
              InstanceUpdate.none().vm(VmState.RESCUED).clearTask().power(flows.powerState(uuid)));
          log.info("instance rescued with image {}", rescueImageRef);
        },
        e -> {
          // the driver put the instance's own domain back: active if it runs, else error
          PowerState p = flows.powerState(uuid);
          VmState vm = p == PowerState.RUNNING ? VmState.ACTIVE : VmState.ERROR;
          tasks.tryCas(
              uuid,
              Optional.of(TaskState.RESCUING),
              InstanceUpdate.none().vm(vm).clearTask().power(p));
        });
  }

  /** unrescuing → active: the rescue domain goes, the instance's own domain runs again. */
  void unrescue(String uuid, String requestId) {
    Instance i = ctx.conductor().getInstance(uuid);
    Optional<Instance> begun =
        tasks.begin(i, InstanceAction.UNRESCUE, TaskState.UNRESCUING, Set.of(TaskState.UNRESCUING));
    if (begun.isEmpty()) {
      return;
    }
    finishUnrescue(begun.get(), Optional.of(requestId), TaskState.UNRESCUING);
  }

  /**
   * Puts the instance's own domain back and ends {@code task} active (recovery uses it for a rescue
   * or unrescue the agent's restart interrupted).
   */
  void finishUnrescue(Instance i, Optional<String> requestId, TaskState task) {
    String uuid = i.uuid();
    actions.run(
        ActionRun.action("unrescue", uuid, requestId, "compute_unrescue_instance"),
        () -> {
          driver.unrescue(ctx.specs().build(i), ctx.images().forInstance(i));
          tasks.cas(
              uuid,
              task,
              InstanceUpdate.none().vm(VmState.ACTIVE).clearTask().power(flows.powerState(uuid)));
          log.info("instance unrescued");
        },
        // Nova: an unrescue that fails errors the instance out
        e ->
            tasks.tryCas(
                uuid,
                Optional.of(task),
                InstanceUpdate.none().vm(VmState.ERROR).clearTask().power(flows.powerState(uuid))));
  }
}
