package io.virga.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.core.InstanceAction;
import io.virga.core.InstanceUpdate;
import io.virga.core.InvalidInputException;
import io.virga.core.InvalidStateException;
import io.virga.core.MigrationStatus;
import io.virga.core.MigrationType;
import io.virga.core.NoValidHostException;
import io.virga.core.TaskState;
import io.virga.db.ComputeNodeRecord;
import io.virga.db.ComputeServiceRecord;
import io.virga.db.InstanceRecord;
import io.virga.db.NewMigration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code evacuate} server action (admin; Nova's compute/api.py {@code evacuate} with the
 * conductor's {@code rebuild_instance}): the server's host must be down; the server is put in
 * rebuilding, a destination is scheduled with the boot's filters, group policy and claim (the
 * {@code host} the admin names, else any other up host), an evacuation migration records source and
 * destination, and the destination agent recreates it from its disks when it sees them on shared
 * storage (detected from 2.14; before, the caller's {@code onSharedStorage} must match), else
 * rebuilds it from its image. The source agent destroys its leftover copy when it comes back
 * ({@code _destroy_evacuated_instances}), keeping disks another host now runs from.
 */
final class ServerEvacuateAction {
  private static final Logger LOG = LoggerFactory.getLogger(ServerEvacuateAction.class);

  private final ComputeDeps deps;
  private final ServerOperations ops;

  ServerEvacuateAction(ComputeDeps deps, ServerOperations ops) {
    this.deps = deps;
    this.ops = ops;
  }

  /**
   * @param onSharedStorage the caller's claim before 2.14 (empty from 2.14: the destination
   *     detects)
   * @param adminPass the password for the config drive: given, or made unless on shared storage
   */
  record Request(
      Optional<String> host, Optional<Boolean> onSharedStorage, Optional<String> adminPass) {}

  /** Nova's evacuate schema per microversion (onSharedStorage before 2.14, force 2.29–2.67). */
  static Request parse(JsonNode arg, Microversion v) {
    if (arg == null || !arg.isObject()) {
      throw new InvalidInputException("evacuate needs an object: {\"evacuate\": {}}");
    }
    for (var it = arg.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      boolean known =
          k.equals("host")
              || k.equals("adminPass")
              || k.equals("onSharedStorage") && !v.atLeast(2, 14)
              || k.equals("force") && v.atLeast(2, 29) && !v.atLeast(2, 68);
      if (!known) {
        throw new InvalidInputException(
            "Invalid input for field/attribute evacuate. Additional properties are not allowed ('"
                + k
                + "' was unexpected)");
      }
    }
    Optional<Boolean> shared = Optional.empty();
    if (!v.atLeast(2, 14)) {
      shared = ApiJson.optBoolean(arg, "onSharedStorage");
      if (shared.isEmpty()) {
        throw new InvalidInputException(
            "Invalid input for field/attribute evacuate. 'onSharedStorage' is a required property");
      }
    }
    Optional<String> pass = ApiJson.optString(arg, "adminPass");
    if (pass.isPresent() && shared.orElse(false)) {
      throw new InvalidInputException("admin password can't be changed on existing disk");
    }
    // Nova: a password is made unless the disks are known to be kept (onSharedStorage true)
    if (pass.isEmpty() && !shared.orElse(false)) {
      pass = Optional.of(ServerLifecycleActions.password());
    }
    return new Request(ApiJson.optString(arg, "host"), shared, pass);
  }

  void handle(ComputeRoutes.Call c, String uuid, JsonNode arg) {
    Policy.requireAdmin(c.auth(), "os_compute_api:os-evacuate");
    Request req = parse(arg, c.version());
    InstanceRecord r = ops.visible(c.auth(), uuid);
    InstanceAction.EVACUATE.check(uuid, r.vmState(), r.taskState());
    String source =
        r.host()
            .orElseThrow(
                () ->
                    new io.virga.core.ConflictException(
                        "Cannot 'evacuate' instance " + uuid + ": it is not on any host"));
    Optional<ComputeServiceRecord> svc = deps.hosts().service(source);
    if (svc.isPresent() && svc.get().isUp(Instant.now(), deps.options().serviceDownTimeSeconds())) {
      throw new InvalidInputException("Compute service of " + source + " is still in use.");
    }
    if (req.host().isPresent()) {
      if (deps.hosts().service(req.host().get()).isEmpty()) {
        throw new io.virga.core.NotFoundException(
            "Compute host " + req.host().get() + " could not be found.");
      }
      if (req.host().get().equals(source)) {
        throw new InvalidInputException("The target host is the instance's own host.");
      }
    }
    if (deps.instances()
        .compareAndSwap(
            uuid, InstanceUpdate.none().task(TaskState.REBUILDING), List.of(Optional.empty()))
        .isEmpty()) {
      InstanceRecord now = deps.instances().get(uuid);
      InstanceAction.EVACUATE.check(uuid, now.vmState(), now.taskState());
      throw InvalidStateException.of(
          InstanceAction.EVACUATE,
          uuid,
          "task_state",
          now.taskState().map(TaskState::value).orElse("None"));
    }
    deps.actions().start(uuid, c.requestId(), "evacuate", r.projectId(), c.auth().userId());
    rebuildElsewhere(c, r, source, req);
    c.ctx().status(200);
    if (!c.version().atLeast(2, 14)) {
      // null when the disks are kept on shared storage (Nova's {"adminPass": null})
      Map<String, Object> body = new java.util.HashMap<>();
      body.put("adminPass", req.adminPass().orElse(null));
      c.ctx().json(body);
    }
  }

  /** Schedule, claim, record the evacuation, cast; no valid host leaves the server as it was. */
  private void rebuildElsewhere(
      ComputeRoutes.Call c, InstanceRecord r, String source, Request req) {
    String uuid = r.uuid();
    Optional<String> target = req.host();
    ComputeNodeRecord dest;
    try {
      dest =
          deps.scheduler()
              .schedule(
                  deps.instances().get(uuid),
                  h -> !h.equals(source) && target.map(h::equals).orElse(true));
    } catch (NoValidHostException e) {
      // Nova: the evacuation errors, the server keeps its vm_state without a task
      LOG.warn("instance {}: no host to evacuate to: {}", uuid, e.getMessage());
      deps.instances()
          .recordFault(uuid, 500, e.getMessage(), Optional.empty(), Optional.of(source));
      deps.instances()
          .compareAndSwap(
              uuid, InstanceUpdate.none().clearTask(), List.of(Optional.of(TaskState.REBUILDING)));
      return;
    }
    String migration = record(r, source, dest, c.auth().userId());
    LOG.info("instance {}: evacuating from {} to {}", uuid, source, dest.host());
    deps.agents()
        .forHost(dest.host())
        .evacuateInstance(uuid, migration, req.onSharedStorage(), req.adminPass());
  }

  /** The evacuation migration (Nova's migration_type evacuation); its uuid. */
  private String record(InstanceRecord r, String source, ComputeNodeRecord dest, String userId) {
    long typeId = MigrationScheduler.flavorTypeId(deps, r.flavor());
    NewMigration n =
        new NewMigration(
            UUID.randomUUID().toString(),
            r.uuid(),
            MigrationType.EVACUATION,
            MigrationStatus.PRE_MIGRATING,
            source,
            r.node().orElse(source),
            r.flavor(),
            r.flavor(),
            typeId,
            typeId,
            r.vmState(),
            userId,
            r.projectId());
    // the instance already holds its claim on dest (the scheduler assigned it): record only
    deps.migrations().claim(n, dest, usage -> Optional.empty());
    return n.uuid();
  }
}
