package io.virga.compute;

import io.virga.core.ImageMeta;
import io.virga.core.Instance;
import io.virga.core.InstanceAction;
import io.virga.core.InstanceUpdate;
import io.virga.core.PowerState;
import io.virga.core.TaskState;
import io.virga.core.VmState;
import io.virga.virt.ComputeDriver;
import io.virga.virt.InstanceSpec;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Nova's {@code shelve_instance}, {@code shelve_offload_instance}, {@code unshelve_instance} and
 * {@code backup_instance} on the agent, each its task-state sequence around the driver's snapshot,
 * destroy, power-on or spawn, with an instance action event; a failure records a fault, removes the
 * image entry a failed snapshot left, and clears the task.
 */
final class ShelveFlows {
  private static final Logger log = LoggerFactory.getLogger(ShelveFlows.class);

  /** System-metadata keys the API writes at shelve (Nova's). */
  static final String SHELVED_IMAGE_ID = "shelved_image_id";

  static final String SHELVED_AT = "shelved_at";
  static final String SHELVED_HOST = "shelved_host";

  private final String host;
  private final FlowContext ctx;
  private final ComputeDriver driver;
  private final TaskStates tasks;
  private final ActionRun actions;
  private final LifecycleOptions lifecycle;
  private final InstanceFlows flows;

  ShelveFlows(String host, FlowContext ctx, LifecycleOptions lifecycle, InstanceFlows flows) {
    this.host = host;
    this.ctx = ctx;
    this.driver = ctx.driver();
    this.tasks = ctx.tasks();
    this.actions = ctx.actionRun();
    this.lifecycle = lifecycle;
    this.flows = flows;
  }

  // ---- shelve ----

  /**
   * shelving → shelving_image_pending_upload → shelving_image_uploading → shelved (then
   * shelving_offloading → shelved_offloaded when {@code shelved_offload_time} is 0).
   */
  void shelve(String uuid, String requestId, String imageId) {
    Instance i = ctx.conductor().getInstance(uuid);
    Optional<Instance> begun =
        tasks.begin(i, InstanceAction.SHELVE, TaskState.SHELVING, Set.of(TaskState.SHELVING));
    if (begun.isEmpty()) {
      flows.abandonSnapshot(i, Optional.of(imageId));
      return;
    }
    AtomicReference<TaskState> current = new AtomicReference<>(TaskState.SHELVING);
    AtomicReference<Instance> shelved = new AtomicReference<>();
    boolean offloadNow = lifecycle.shelvedOffloadTime() == 0;
    ActionRun.Action action =
        ActionRun.action("shelve", uuid, requestId, "compute_shelve_instance")
            .onTaskLost(() -> flows.abandonSnapshot(i, Optional.of(imageId)));
    boolean done =
        actions.run(
            action,
            () -> shelved.set(shelveInstance(i, imageId, current, offloadNow)),
            e -> {
              flows.abandonSnapshot(i, Optional.of(imageId));
              forgetShelve(uuid);
              // a guest the shutdown already stopped stays stopped
              PowerState p = flows.powerState(uuid);
              InstanceUpdate back = InstanceUpdate.none().clearTask().power(p);
              tasks.tryCas(
                  uuid,
                  Optional.of(current.get()),
                  p == PowerState.SHUTDOWN && i.vmState() == VmState.ACTIVE
                      ? back.vm(VmState.STOPPED)
                      : back);
            });
    if (done && offloadNow) {
      runOffload(shelved.get(), Optional.of(requestId), TaskState.SHELVING_OFFLOADING);
    }
  }

  /** Nova's _shelve_instance: a clean stop, the snapshot, then shelved (or on to offloading). */
  private Instance shelveInstance(
      Instance i, String imageId, AtomicReference<TaskState> current, boolean offloadNow) {
    String uuid = i.uuid();
    InstanceSpec spec = ctx.specs().build(i);
    cleanShutdown(uuid, spec);
    driver.snapshot(
        spec,
        imageId,
        ctx.images().forSnapshot(i, imageId),
        next -> {
          TaskState shelving =
              next == TaskState.IMAGE_UPLOADING
                  ? TaskState.SHELVING_IMAGE_UPLOADING
                  : TaskState.SHELVING_IMAGE_PENDING_UPLOAD;
          tasks.cas(uuid, current.get(), InstanceUpdate.none().task(shelving));
          current.set(shelving);
        });
    InstanceUpdate shelved =
        InstanceUpdate.none().vm(VmState.SHELVED).power(flows.powerState(uuid));
    Instance now =
        tasks.cas(
            uuid,
            current.get(),
            offloadNow ? shelved.task(TaskState.SHELVING_OFFLOADING) : shelved.clearTask());
    log.info("instance shelved into image {}", imageId);
    return now;
  }

  private void cleanShutdown(String uuid, InstanceSpec spec) {
    PowerState p = flows.powerState(uuid);
    if (p == PowerState.RUNNING || p == PowerState.PAUSED) {
      flows.cleanShutdown(spec);
    }
  }

  // ---- offload ----

  /** The API's shelveOffload: shelving_offloading → shelved_offloaded. */
  void offload(String uuid, String requestId) {
    Instance i = ctx.conductor().getInstance(uuid);
    Optional<Instance> begun =
        tasks.begin(
            i,
            InstanceAction.SHELVE_OFFLOAD,
            TaskState.SHELVING_OFFLOADING,
            Set.of(TaskState.SHELVING_OFFLOADING));
    begun.ifPresent(b -> runOffload(b, Optional.of(requestId), TaskState.SHELVING_OFFLOADING));
  }

  /** The periodic offload of an instance shelved longer than {@code shelved_offload_time}. */
  void offloadExpired(String uuid, String requestId) {
    Instance i = ctx.conductor().getInstance(uuid);
    if (i.vmState() != VmState.SHELVED || i.taskState().isPresent()) {
      return;
    }
    tasks
        .tryCas(uuid, Optional.empty(), InstanceUpdate.none().task(TaskState.SHELVING_OFFLOADING))
        .ifPresent(b -> runOffload(b, Optional.of(requestId), TaskState.SHELVING_OFFLOADING));
  }

  /** Domain and disks destroyed, then shelved_offloaded with the host freed in one write. */
  void runOffload(Instance i, Optional<String> requestId, TaskState task) {
    String uuid = i.uuid();
    actions.run(
        ActionRun.action("offload", uuid, requestId, "compute_shelve_offload_instance"),
        () -> {
          InstanceSpec spec = ctx.specs().build(i);
          cleanShutdown(uuid, spec);
          driver.destroy(spec, true);
          if (ctx.conductor().instanceOffloaded(uuid, Optional.of(task)).isEmpty()) {
            throw new UnexpectedTaskStateException(
                "instance " + uuid + " left task " + task.value() + " behind our back");
          }
          ctx.conductor().removeSystemMetadata(uuid, SHELVED_HOST);
          log.info("instance offloaded from {}", host);
        },
        e ->
            tasks.tryCas(
                uuid,
                Optional.of(task),
                InstanceUpdate.none()
                    .vm(VmState.SHELVED)
                    .clearTask()
                    .power(flows.powerState(uuid))));
  }

  /** Instances of this host shelved for longer than {@code shelved_offload_time} (if it is > 0). */
  List<String> expiredShelved() {
    List<String> out = new ArrayList<>();
    if (lifecycle.shelvedOffloadTime() <= 0) {
      return out;
    }
    Instant limit = Instant.now().minus(Duration.ofSeconds(lifecycle.shelvedOffloadTime()));
    for (Instance i : ctx.conductor().instancesOnHost(host)) {
      if (i.vmState() != VmState.SHELVED || i.taskState().isPresent()) {
        continue;
      }
      String at = ctx.conductor().systemMetadata(i.uuid()).get(SHELVED_AT);
      try {
        if (at == null || !Instant.parse(at).isAfter(limit)) {
          out.add(i.uuid());
        }
      } catch (DateTimeParseException e) {
        out.add(i.uuid());
      }
    }
    return out;
  }

  // ---- unshelve ----

  /**
   * unshelving → (spawning) → active: a shelved instance still on this host is powered on; an
   * offloaded one, scheduled here by the API, is spawned from the shelve image. The image is then
   * deleted. A failed spawn leaves it shelved_offloaded with no host, as before.
   */
  void unshelve(String uuid, String requestId, String imageId) {
    Instance i = ctx.conductor().getInstance(uuid);
    Optional<Instance> begun =
        tasks.begin(i, InstanceAction.UNSHELVE, TaskState.UNSHELVING, Set.of(TaskState.UNSHELVING));
    if (begun.isEmpty()) {
      return;
    }
    boolean offloaded = i.vmState() == VmState.SHELVED_OFFLOADED;
    AtomicReference<TaskState> current = new AtomicReference<>(TaskState.UNSHELVING);
    actions.run(
        ActionRun.action("unshelve", uuid, requestId, "compute_unshelve_instance"),
        () -> {
          if (offloaded) {
            tasks.cas(uuid, current.get(), InstanceUpdate.none().task(TaskState.SPAWNING));
            current.set(TaskState.SPAWNING);
            ImageMeta shelved = ctx.conductor().getImage(imageId);
            InstanceSpec spec = ctx.specs().build(i).withImage(shelved);
            driver.spawn(spec, ctx.images().forInstance(i), t -> {});
          } else {
            driver.powerOn(ctx.specs().build(i), ctx.images().forInstance(i));
          }
          tasks.cas(uuid, current.get(), flows.launchedAs(VmState.ACTIVE, uuid));
          forgetShelve(uuid);
          deleteShelveImage(i, imageId);
          log.info("instance unshelved on {}", host);
        },
        e -> {
          if (offloaded) {
            // back to shelved_offloaded with no host, as before the unshelve
            ctx.conductor().instanceOffloaded(uuid, Optional.of(current.get()));
          } else {
            tasks.tryCas(
                uuid,
                Optional.of(current.get()),
                InstanceUpdate.none().clearTask().power(flows.powerState(uuid)));
          }
        });
  }

  private void deleteShelveImage(Instance i, String imageId) {
    try {
      ctx.images().deleteImage(i, imageId);
    } catch (RuntimeException e) {
      log.error("cannot delete shelve image {}: {}", imageId, e.toString());
    }
  }

  private void forgetShelve(String uuid) {
    try {
      for (String k : List.of(SHELVED_IMAGE_ID, SHELVED_AT, SHELVED_HOST)) {
        ctx.conductor().removeSystemMetadata(uuid, k);
      }
    } catch (RuntimeException e) {
      log.warn("cannot clear the shelve metadata: {}", e.toString());
    }
  }

  // ---- backup ----

  /** image_backup → image_pending_upload → image_uploading → none, then the rotation. */
  void backup(String uuid, String requestId, String imageId, String backupType, int rotation) {
    Instance i = ctx.conductor().getInstance(uuid);
    Optional<Instance> begun =
        tasks.begin(
            i, InstanceAction.BACKUP, TaskState.IMAGE_BACKUP, Set.of(TaskState.IMAGE_BACKUP));
    if (begun.isEmpty()) {
      flows.abandonSnapshot(i, Optional.of(imageId));
      return;
    }
    // the task is cleared (null) once the image is up; a failed rotation then records no fault
    AtomicReference<TaskState> current = new AtomicReference<>(TaskState.IMAGE_BACKUP);
    ActionRun.Action action =
        ActionRun.action("backup", uuid, requestId, "compute_backup_instance")
            .withoutFault()
            .withoutResourceChange()
            .onTaskLost(() -> flows.abandonSnapshot(i, Optional.of(imageId)));
    actions.run(
        action,
        () -> {
          flows.snapshotInstance(i, imageId, current);
          current.set(null);
          ctx.images().rotateBackups(i, backupType, rotation);
          log.info("backup {} ({}) uploaded; rotation {}", imageId, backupType, rotation);
        },
        e -> {
          flows.abandonSnapshot(i, Optional.of(imageId));
          if (current.get() != null) {
            tasks.fault(uuid, e);
            tasks.tryCas(uuid, Optional.of(current.get()), InstanceUpdate.none().clearTask());
          }
        });
  }
}
