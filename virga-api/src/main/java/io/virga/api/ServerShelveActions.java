package io.virga.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.virga.core.ConflictException;
import io.virga.core.InstanceAction;
import io.virga.core.InstanceUpdate;
import io.virga.core.InvalidInputException;
import io.virga.core.InvalidStateException;
import io.virga.core.NoValidHostException;
import io.virga.core.TaskState;
import io.virga.core.VmState;
import io.virga.db.ImageRecord;
import io.virga.db.InstanceLifecycleRepository;
import io.virga.db.InstanceRecord;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code shelve}, {@code shelveOffload}, {@code unshelve} and {@code createBackup} (Nova's
 * compute/api.py): lock and state checks, the image entry the agent snapshots into, the task-state
 * compare-and-swap (the entry is removed again if it loses), the instance action, the cast — and
 * for an offloaded server, scheduling anew with the same claims as a boot.
 */
final class ServerShelveActions {
  private static final Logger LOG = LoggerFactory.getLogger(ServerShelveActions.class);

  private final ComputeDeps deps;
  private final ServerOperations ops;
  private final InstanceLifecycleRepository lifecycle;

  ServerShelveActions(
      ComputeDeps deps, ServerOperations ops, InstanceLifecycleRepository lifecycle) {
    this.deps = deps;
    this.ops = ops;
    this.lifecycle = lifecycle;
  }

  // ---- shelve ----

  void shelve(ComputeRoutes.Call c, String uuid) {
    InstanceRecord r = ops.visible(c.auth(), uuid);
    ServerLocks.check(c.auth(), r);
    InstanceAction.SHELVE.check(uuid, r.vmState(), r.taskState());
    requireHost(r, InstanceAction.SHELVE);
    SnapshotImages snapshots = deps.images().snapshots();
    ImageRecord image =
        snapshots.createQueued(
            r, c.auth(), new SnapshotImages.Request(r.displayName() + "-shelved", Map.of()));
    if (!swap(r, TaskState.SHELVING)) {
      snapshots.abandon(image.id());
      throw lost(r, InstanceAction.SHELVE);
    }
    lifecycle.putSystemMetadata(
        uuid, InstanceLifecycleRepository.SHELVED_AT, Instant.now().toString());
    lifecycle.putSystemMetadata(uuid, InstanceLifecycleRepository.SHELVED_IMAGE_ID, image.id());
    lifecycle.putSystemMetadata(uuid, InstanceLifecycleRepository.SHELVED_HOST, r.host().get());
    deps.actions().start(uuid, c.requestId(), "shelve", r.projectId(), c.auth().userId());
    deps.agents().forHost(r.host().get()).shelveInstance(uuid, image.id());
    LOG.info("instance {}: shelve into image {} requested", uuid, image.id());
    c.ctx().status(202);
  }

  void shelveOffload(ComputeRoutes.Call c, String uuid) {
    InstanceRecord r = ops.visible(c.auth(), uuid);
    ServerLocks.check(c.auth(), r);
    InstanceAction.SHELVE_OFFLOAD.check(uuid, r.vmState(), r.taskState());
    requireHost(r, InstanceAction.SHELVE_OFFLOAD);
    if (!swap(r, TaskState.SHELVING_OFFLOADING)) {
      throw lost(r, InstanceAction.SHELVE_OFFLOAD);
    }
    deps.actions().start(uuid, c.requestId(), "shelveOffload", r.projectId(), c.auth().userId());
    deps.agents().forHost(r.host().get()).shelveOffloadInstance(uuid);
    c.ctx().status(202);
  }

  // ---- unshelve ----

  void unshelve(ComputeRoutes.Call c, String uuid, JsonNode arg) {
    if (arg != null && !arg.isNull()) {
      // availability_zone (2.77) and host (2.91) are beyond this API's microversions
      throw new InvalidInputException(
          "Invalid input for field/attribute unshelve. Value: " + arg + ". None is not of type");
    }
    InstanceRecord r = ops.visible(c.auth(), uuid);
    ServerLocks.check(c.auth(), r);
    InstanceAction.UNSHELVE.check(uuid, r.vmState(), r.taskState());
    if (!swap(r, TaskState.UNSHELVING)) {
      throw lost(r, InstanceAction.UNSHELVE);
    }
    deps.actions().start(uuid, c.requestId(), "unshelve", r.projectId(), c.auth().userId());
    String imageId =
        lifecycle
            .systemMetadata(uuid, InstanceLifecycleRepository.SHELVED_IMAGE_ID)
            .orElse(r.imageRef());
    c.ctx().status(202);
    if (r.vmState() == VmState.SHELVED) {
      deps.agents().forHost(r.host().get()).unshelveInstance(uuid, imageId);
      return;
    }
    try {
      var node = deps.scheduler().schedule(deps.instances().get(uuid));
      deps.agents().forHost(node.host()).unshelveInstance(uuid, imageId);
      LOG.info("instance {}: unshelving on {}", uuid, node.host());
    } catch (NoValidHostException e) {
      // Nova: the server stays shelved_offloaded, with the scheduler's reason as its fault
      deps.instances().recordFault(uuid, 500, e.getMessage(), Optional.empty(), Optional.empty());
      deps.instances()
          .compareAndSwap(
              uuid, InstanceUpdate.none().clearTask(), List.of(Optional.of(TaskState.UNSHELVING)));
      lifecycle.clearHost(uuid);
    }
  }

  // ---- createBackup ----

  void createBackup(ComputeRoutes.Call c, String uuid, JsonNode arg) {
    if (arg == null || !arg.isObject()) {
      throw new InvalidInputException(
          "createBackup needs an object with name, backup_type and rotation");
    }
    ObjectNode snapshotPart = JsonNodeFactory.instance.objectNode();
    for (var it = arg.fields(); it.hasNext(); ) {
      var e = it.next();
      switch (e.getKey()) {
        case "name", "metadata" -> snapshotPart.set(e.getKey(), e.getValue());
        case "backup_type", "rotation" -> {}
        default ->
            throw new InvalidInputException(
                "Invalid input for field/attribute createBackup. Additional properties are not"
                    + " allowed ('"
                    + e.getKey()
                    + "' was unexpected)");
      }
    }
    SnapshotImages.Request named = ServerSnapshotAction.parse(snapshotPart);
    String backupType = ApiJson.requireString(arg, "backup_type");
    JsonNode rot = arg.get("rotation");
    if (rot == null
        || !(rot.isIntegralNumber() || rot.isTextual() && rot.textValue().matches("^[0-9]{1,9}$"))
        || rot.asLong() < 0) {
      throw new InvalidInputException(
          "Invalid input for field/attribute rotation: a non-negative integer is required");
    }
    int rotation = rot.asInt();
    InstanceRecord r = ops.visible(c.auth(), uuid);
    ServerLocks.check(c.auth(), r);
    InstanceAction.BACKUP.check(uuid, r.vmState(), r.taskState());
    requireHost(r, InstanceAction.BACKUP);
    Map<String, String> props = new LinkedHashMap<>(named.metadata());
    props.put("image_type", "backup");
    props.put("backup_type", backupType);
    SnapshotImages snapshots = deps.images().snapshots();
    ImageRecord image =
        snapshots.createQueued(r, c.auth(), new SnapshotImages.Request(named.name(), props));
    if (!swap(r, TaskState.IMAGE_BACKUP)) {
      snapshots.abandon(image.id());
      throw lost(r, InstanceAction.BACKUP);
    }
    deps.actions().start(uuid, c.requestId(), "createBackup", r.projectId(), c.auth().userId());
    deps.agents().forHost(r.host().get()).backupInstance(uuid, image.id(), backupType, rotation);
    c.ctx().status(202);
    if (c.version().atLeast(2, 45)) {
      c.ctx().json(Map.of("image_id", image.id()));
    } else if (rotation > 0) {
      c.ctx().header("Location", c.base() + "/image/v2/images/" + image.id());
    }
  }

  // ---- shared ----

  private static void requireHost(InstanceRecord r, InstanceAction a) {
    if (r.host().isEmpty()) {
      throw new ConflictException(
          "Cannot '" + a.apiName() + "' instance " + r.uuid() + ": it is not on any host");
    }
  }

  private boolean swap(InstanceRecord r, TaskState task) {
    return deps.instances()
        .compareAndSwap(r.uuid(), InstanceUpdate.none().task(task), List.of(Optional.empty()))
        .isPresent();
  }

  private InvalidStateException lost(InstanceRecord r, InstanceAction action) {
    InstanceRecord now = deps.instances().get(r.uuid());
    action.check(r.uuid(), now.vmState(), now.taskState());
    return InvalidStateException.of(
        action, r.uuid(), "task_state", now.taskState().map(TaskState::value).orElse("None"));
  }
}
