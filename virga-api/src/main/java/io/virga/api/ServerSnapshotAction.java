package io.virga.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.core.ConflictException;
import io.virga.core.InstanceAction;
import io.virga.core.InstanceUpdate;
import io.virga.core.InvalidInputException;
import io.virga.core.InvalidStateException;
import io.virga.core.QuotaExceededException;
import io.virga.core.TaskState;
import io.virga.db.ImageRecord;
import io.virga.db.InstanceRecord;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code createImage} server action (Nova's {@code API.snapshot}): the state check, the queued
 * image entry, task_state none → image_snapshot_pending by compare-and-swap (the entry is deleted
 * again if that loses), the instance action, and the cast of {@code snapshotInstance} to the
 * server's host. Answers 202 with the image's {@code Location} before microversion 2.45 and {@code
 * {"image_id": …}} from 2.45 on.
 */
final class ServerSnapshotAction {
  private static final Logger LOG = LoggerFactory.getLogger(ServerSnapshotAction.class);

  private final ComputeDeps deps;
  private final ServerOperations ops;

  ServerSnapshotAction(ComputeDeps deps, ServerOperations ops) {
    this.deps = deps;
    this.ops = ops;
  }

  void handle(ComputeRoutes.Call c, String uuid, JsonNode arg) {
    SnapshotImages.Request request = parse(arg);
    InstanceRecord r = ops.visible(c.auth(), uuid);
    ServerLocks.check(c.auth(), r);
    InstanceAction.SNAPSHOT.check(uuid, r.vmState(), r.taskState());
    if (r.host().isEmpty()) {
      throw new ConflictException(
          "Cannot 'createImage' instance " + uuid + ": it is not on any host");
    }
    checkMetadataQuota(r, request);
    SnapshotImages snapshots = deps.images().snapshots();
    ImageRecord image = snapshots.createQueued(r, c.auth(), request);
    if (deps.instances()
        .compareAndSwap(
            uuid,
            InstanceUpdate.none().task(TaskState.IMAGE_SNAPSHOT_PENDING),
            List.of(Optional.empty()))
        .isEmpty()) {
      snapshots.abandon(image.id());
      InstanceRecord now = deps.instances().get(uuid);
      InstanceAction.SNAPSHOT.check(uuid, now.vmState(), now.taskState());
      throw InvalidStateException.of(
          InstanceAction.SNAPSHOT,
          uuid,
          "task_state",
          now.taskState().map(TaskState::value).orElse("None"));
    }
    deps.actions().start(uuid, c.requestId(), "createImage", r.projectId(), c.auth().userId());
    try {
      deps.agents().forHost(r.host().get()).snapshotInstance(uuid, image.id());
    } catch (RuntimeException e) {
      // the agent never got the work: nothing else will end the task or the entry
      LOG.error("instance {}: cannot cast snapshotInstance to {}", uuid, r.host().get(), e);
      deps.instances()
          .compareAndSwap(
              uuid,
              InstanceUpdate.none().clearTask(),
              List.of(Optional.of(TaskState.IMAGE_SNAPSHOT_PENDING)));
      snapshots.abandon(image.id());
      throw e;
    }
    LOG.info("instance {}: snapshot into image {} requested", uuid, image.id());
    c.ctx().status(202);
    if (c.version().atLeast(2, 45)) {
      c.ctx().json(Map.of("image_id", image.id()));
    } else {
      c.ctx().header("Location", c.base() + "/image/v2/images/" + image.id());
    }
  }

  /** Nova's create_image schema: a name (1–255, no outer spaces) and optional string metadata. */
  static SnapshotImages.Request parse(JsonNode arg) {
    if (arg == null || !arg.isObject()) {
      throw new InvalidInputException(
          "createImage needs an object: {\"createImage\": {\"name\": \"my-snapshot\"}}");
    }
    for (var it = arg.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      if (!k.equals("name") && !k.equals("metadata")) {
        throw new InvalidInputException(
            "Invalid input for field/attribute createImage. Additional properties are not allowed"
                + " ('"
                + k
                + "' was unexpected)");
      }
    }
    JsonNode name = arg.get("name");
    if (name == null || !name.isTextual()) {
      throw new InvalidInputException(
          "Invalid input for field/attribute name: 'name' is a required string property");
    }
    String n = name.textValue();
    if (n.isEmpty() || n.length() > 255 || !n.strip().equals(n)) {
      throw new InvalidInputException(
          "Invalid input for field/attribute name: 1 to 255 characters without leading or"
              + " trailing whitespace");
    }
    Map<String, String> meta = new LinkedHashMap<>();
    JsonNode m = arg.get("metadata");
    if (m != null && !m.isNull()) {
      if (!m.isObject()) {
        throw new InvalidInputException(
            "Invalid input for field/attribute metadata: must be an object of strings");
      }
      for (var it = m.fields(); it.hasNext(); ) {
        var e = it.next();
        String k = e.getKey();
        JsonNode v = e.getValue();
        if (k.isEmpty() || k.length() > 255) {
          throw new InvalidInputException("Invalid metadata key: 1 to 255 characters");
        }
        if (!v.isTextual() || v.textValue().length() > 255) {
          throw new InvalidInputException(
              "Invalid input for field/attribute metadata." + k + ": a string of at most 255");
        }
        meta.put(k, v.textValue());
      }
    }
    return new SnapshotImages.Request(n, meta);
  }

  private void checkMetadataQuota(InstanceRecord r, SnapshotImages.Request request) {
    long limit = deps.quotas().limits(r.projectId()).getOrDefault("metadata_items", 128L);
    if (limit >= 0 && request.metadata().size() > limit) {
      throw new QuotaExceededException(
          "Quota exceeded for metadata_items: Requested "
              + request.metadata().size()
              + ", but the limit is "
              + limit);
    }
  }
}
