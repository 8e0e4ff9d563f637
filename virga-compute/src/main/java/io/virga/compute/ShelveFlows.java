package io.virga.compute;

import io.virga.core.ConductorApi;
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
  private final ComputeDriver driver;
  private final ConductorApi conductor;
  private final TaskStates tasks;
  private final SpecBuilder specs;
  private final ImageSourceFactory images;
  private final ComputeOptions options;
  private final LifecycleOptions lifecycle;
  private final ResourceTracker tracker;
  private final InstanceFlows flows;

  ShelveFlows(
      String host,
      ComputeDriver driver,
      TaskStates tasks,
      SpecBuilder specs,
      ImageSourceFactory images,
      ComputeOptions options,
      LifecycleOptions lifecycle,
      ResourceTracker tracker,
      InstanceFlows flows) {
    this.host = host;
    this.driver = driver;
    this.conductor = tasks.conductor();
    this.tasks = tasks;
    this.specs = specs;
    this.images = images;
    this.options = options;
    this.lifecycle = lifecycle;
    this.tracker = tracker;
    this.flows = flows;
  }

  // ---- shelve ----

  /**
   * shelving → shelving_image_pending_upload → shelving_image_uploading → shelved (then
   * shelving_offloading → shelved_offloaded when {@code shelved_offload_time} is 0).
   */
  void shelve(String uuid, String requestId, String imageId) {
    Instance i = conductor.getInstance(uuid);
    Optional<Instance> begun =
        tasks.begin(i, InstanceAction.SHELVE, TaskState.SHELVING, Set.of(TaskState.SHELVING));
    if (begun.isEmpty()) {
      flows.abandonSnapshot(i, Optional.of(imageId));
      return;
    }
    String event = "compute_shelve_instance";
    tasks.eventStart(uuid, requestId, event);
    AtomicReference<TaskState> current = new AtomicReference<>(TaskState.SHELVING);
    try {
      InstanceSpec spec = specs.build(i);
      cleanShutdown(uuid, spec);
      driver.snapshot(
          spec,
          imageId,
          images.forSnapshot(i, imageId),
          next -> {
            TaskState shelving =
                next == TaskState.IMAGE_UPLOADING
                    ? TaskState.SHELVING_IMAGE_UPLOADING
                    : TaskState.SHELVING_IMAGE_PENDING_UPLOAD;
            tasks.cas(uuid, current.get(), InstanceUpdate.none().task(shelving));
            current.set(shelving);
          });
      boolean offloadNow = lifecycle.shelvedOffloadTime() == 0;
      InstanceUpdate shelved =
          InstanceUpdate.none().vm(VmState.SHELVED).power(flows.powerState(uuid));
      Instance now =
          tasks.cas(
              uuid,
              current.get(),
              offloadNow ? shelved.task(TaskState.SHELVING_OFFLOADING) : shelved.clearTask());
      log.info("instance shelved into image {}", imageId);
      tasks.eventFinish(uuid, requestId, event, Optional.empty());
      if (offloadNow) {
        runOffload(now, Optional.of(requestId), TaskState.SHELVING_OFFLOADING);
      }
    } catch (UnexpectedTaskStateException e) {
      log.warn("shelve lost its task state: {}", e.getMessage());
      flows.abandonSnapshot(i, Optional.of(imageId));
      tasks.eventFinish(uuid, requestId, event, Optional.of(e));
    } catch (RuntimeException e) {
      log.error("shelve failed: {}", e.getMessage(), e);
      tasks.fault(uuid, e);
      flows.abandonSnapshot(i, Optional.of(imageId));
      forgetShelve(uuid);
      PowerState p = flows.powerState(uuid);
      InstanceUpdate back = InstanceUpdate.none().clearTask().power(p);
      tasks.tryCas(
          uuid,
          Optional.of(current.get()),
          p == PowerState.SHUTDOWN && i.vmState() == VmState.ACTIVE
              ? back.vm(VmState.STOPPED)
              : back);
      tasks.eventFinish(uuid, requestId, event, Optional.of(e));
    } finally {
      tracker.changed();
    }
  }

  private void cleanShutdown(String uuid, InstanceSpec spec) {
    PowerState p = flows.powerState(uuid);
    if (p == PowerState.RUNNING || p == PowerState.PAUSED) {
      driver.powerOff(spec, flows.shutdownTimeout(spec), options.shutdownRetryInterval());
    }
  }

  // ---- offload ----

  /** The API's shelveOffload: shelving_offloading → shelved_offloaded. */
  void offload(String uuid, String requestId) {
    Instance i = conductor.getInstance(uuid);
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
    Instance i = conductor.getInstance(uuid);
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
    String event = "compute_shelve_offload_instance";
    requestId.ifPresent(r -> tasks.eventStart(uuid, r, event));
    try {
      InstanceSpec spec = specs.build(i);
      cleanShutdown(uuid, spec);
      driver.destroy(spec, true);
      if (conductor.instanceOffloaded(uuid, Optional.of(task)).isEmpty()) {
        throw new UnexpectedTaskStateException(
            "instance " + uuid + " left task " + task.value() + " behind our back");
      }
      conductor.removeSystemMetadata(uuid, SHELVED_HOST);
      log.info("instance offloaded from {}", host);
      requestId.ifPresent(r -> tasks.eventFinish(uuid, r, event, Optional.empty()));
    } catch (UnexpectedTaskStateException e) {
      log.warn("offload lost its task state: {}", e.getMessage());
      requestId.ifPresent(r -> tasks.eventFinish(uuid, r, event, Optional.of(e)));
    } catch (RuntimeException e) {
      log.error("offload failed: {}", e.getMessage(), e);
      tasks.fault(uuid, e);
      tasks.tryCas(
          uuid,
          Optional.of(task),
          InstanceUpdate.none().vm(VmState.SHELVED).clearTask().power(flows.powerState(uuid)));
      requestId.ifPresent(r -> tasks.eventFinish(uuid, r, event, Optional.of(e)));
    } finally {
      tracker.changed();
    }
  }

  /** Instances of this host shelved for longer than {@code shelved_offload_time} (if it is > 0). */
  List<String> expiredShelved() {
    List<String> out = new ArrayList<>();
    if (lifecycle.shelvedOffloadTime() <= 0) {
      return out;
    }
    Instant limit = Instant.now().minus(Duration.ofSeconds(lifecycle.shelvedOffloadTime()));
    for (Instance i : conductor.instancesOnHost(host)) {
      if (i.vmState() != VmState.SHELVED || i.taskState().isPresent()) {
        continue;
      }
      String at = conductor.systemMetadata(i.uuid()).get(SHELVED_AT);
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
    Instance i = conductor.getInstance(uuid);
    Optional<Instance> begun =
        tasks.begin(i, InstanceAction.UNSHELVE, TaskState.UNSHELVING, Set.of(TaskState.UNSHELVING));
    if (begun.isEmpty()) {
      return;
    }
    String event = "compute_unshelve_instance";
    tasks.eventStart(uuid, requestId, event);
    boolean offloaded = i.vmState() == VmState.SHELVED_OFFLOADED;
    AtomicReference<TaskState> current = new AtomicReference<>(TaskState.UNSHELVING);
    InstanceSpec spec = null;
    try {
      if (offloaded) {
        tasks.cas(uuid, current.get(), InstanceUpdate.none().task(TaskState.SPAWNING));
        current.set(TaskState.SPAWNING);
        ImageMeta shelved = conductor.getImage(imageId);
        spec = specs.build(i).withImage(shelved);
        driver.spawn(spec, images.forInstance(i), t -> {});
      } else {
        spec = specs.build(i);
        driver.powerOn(spec, images.forInstance(i));
      }
      tasks.cas(
          uuid,
          current.get(),
          InstanceUpdate.none()
              .vm(VmState.ACTIVE)
              .clearTask()
              .power(flows.powerState(uuid))
              .launched());
      forgetShelve(uuid);
      deleteShelveImage(i, imageId);
      log.info("instance unshelved on {}", host);
      tasks.eventFinish(uuid, requestId, event, Optional.empty());
    } catch (UnexpectedTaskStateException e) {
      log.warn("unshelve lost its task state: {}", e.getMessage());
      tasks.eventFinish(uuid, requestId, event, Optional.of(e));
    } catch (RuntimeException e) {
      log.error("unshelve failed: {}", e.getMessage(), e);
      tasks.fault(uuid, e);
      if (offloaded) {
        conductor.instanceOffloaded(uuid, Optional.of(current.get()));
      } else {
        tasks.tryCas(
            uuid,
            Optional.of(current.get()),
            InstanceUpdate.none().clearTask().power(flows.powerState(uuid)));
      }
      tasks.eventFinish(uuid, requestId, event, Optional.of(e));
    } finally {
      tracker.changed();
    }
  }

  private void deleteShelveImage(Instance i, String imageId) {
    try {
      images.deleteImage(i, imageId);
    } catch (RuntimeException e) {
      log.error("cannot delete shelve image {}: {}", imageId, e.toString());
    }
  }

  private void forgetShelve(String uuid) {
    try {
      for (String k : List.of(SHELVED_IMAGE_ID, SHELVED_AT, SHELVED_HOST)) {
        conductor.removeSystemMetadata(uuid, k);
      }
    } catch (RuntimeException e) {
      log.warn("cannot clear the shelve metadata: {}", e.toString());
    }
  }

  // ---- backup ----

  /** image_backup → image_pending_upload → image_uploading → none, then the rotation. */
  void backup(String uuid, String requestId, String imageId, String backupType, int rotation) {
    Instance i = conductor.getInstance(uuid);
    Optional<Instance> begun =
        tasks.begin(
            i, InstanceAction.BACKUP, TaskState.IMAGE_BACKUP, Set.of(TaskState.IMAGE_BACKUP));
    if (begun.isEmpty()) {
      flows.abandonSnapshot(i, Optional.of(imageId));
      return;
    }
    String event = "compute_backup_instance";
    tasks.eventStart(uuid, requestId, event);
    AtomicReference<TaskState> current = new AtomicReference<>(TaskState.IMAGE_BACKUP);
    try {
      driver.snapshot(
          specs.build(i),
          imageId,
          images.forSnapshot(i, imageId),
          next -> {
            tasks.cas(uuid, current.get(), InstanceUpdate.none().task(next));
            current.set(next);
          });
      tasks.cas(
          uuid, current.get(), InstanceUpdate.none().clearTask().power(flows.powerState(uuid)));
      current.set(null);
      images.rotateBackups(i, backupType, rotation);
      log.info("backup {} ({}) uploaded; rotation {}", imageId, backupType, rotation);
      tasks.eventFinish(uuid, requestId, event, Optional.empty());
    } catch (UnexpectedTaskStateException e) {
      log.warn("backup lost its task state: {}", e.getMessage());
      flows.abandonSnapshot(i, Optional.of(imageId));
      tasks.eventFinish(uuid, requestId, event, Optional.of(e));
    } catch (RuntimeException e) {
      log.error("backup failed: {}", e.getMessage(), e);
      flows.abandonSnapshot(i, Optional.of(imageId));
      if (current.get() != null) {
        tasks.fault(uuid, e);
        tasks.tryCas(uuid, Optional.of(current.get()), InstanceUpdate.none().clearTask());
      }
      tasks.eventFinish(uuid, requestId, event, Optional.of(e));
    }
  }
}
