package io.virga.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.virga.core.ConflictException;
import io.virga.core.ForbiddenException;
import io.virga.core.ImageMeta;
import io.virga.core.InstanceAction;
import io.virga.core.InstanceUpdate;
import io.virga.core.InvalidInputException;
import io.virga.core.InvalidStateException;
import io.virga.core.TaskState;
import io.virga.core.VmState;
import io.virga.db.InstanceLifecycleRepository;
import io.virga.db.InstanceRecord;
import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The server actions of the rest of a server's life (Nova's compute/api.py {@code lock}, {@code
 * unlock}, {@code reset_state}, {@code rebuild}, {@code rescue}, {@code unrescue}): policy, lock
 * and state checks, the task_state compare-and-swap, the instance action, and the cast to the
 * server's agent.
 */
final class ServerLifecycleActions {
  private static final SecureRandom RANDOM = new SecureRandom();

  private final ComputeDeps deps;
  private final ServerOperations ops;
  private final InstanceLifecycleRepository lifecycle;
  private final ServerRebuild rebuild;
  private final ServerShelveActions shelve;

  ServerLifecycleActions(ComputeDeps deps, ServerOperations ops) {
    this.deps = deps;
    this.ops = ops;
    this.lifecycle = deps.instances().lifecycle();
    this.rebuild = new ServerRebuild(deps, lifecycle);
    this.shelve = new ServerShelveActions(deps, ops, lifecycle);
  }

  /** Handles {@code name} when it is one of these actions; false for any other action. */
  boolean handle(ComputeRoutes.Call c, String uuid, String name, JsonNode arg) {
    switch (name) {
      case "lock" -> lock(c, uuid, arg);
      case "unlock" -> unlock(c, uuid);
      case "os-resetState" -> resetState(c, uuid, arg);
      case "rebuild" -> rebuild(c, uuid, arg);
      case "rescue" -> rescue(c, uuid, arg);
      case "unrescue" -> unrescue(c, uuid);
      case "shelve" -> shelve.shelve(c, uuid);
      case "shelveOffload" -> shelve.shelveOffload(c, uuid);
      case "unshelve" -> shelve.unshelve(c, uuid, arg);
      case "createBackup" -> shelve.createBackup(c, uuid, arg);
      case "evacuate" -> new ServerEvacuateAction(deps, ops).handle(c, uuid, arg);
      default -> {
        return false;
      }
    }
    return true;
  }

  /**
   * What the server view adds for these actions: the server's group (2.71) and {@code
   * locked_reason} (2.73).
   */
  void decorate(ComputeRoutes.Call c, InstanceRecord r, Map<String, Object> view) {
    if (c.version().atLeast(2, 71)) {
      view.put(
          "server_groups",
          deps.hosts()
              .serverGroups()
              .groupOf(r.uuid())
              .map(g -> List.of(g.uuid()))
              .orElse(List.of()));
    }
    decorateListed(c, r, view);
  }

  /**
   * {@link #decorate} for a server in {@code GET /servers/detail}: Nova's list shows {@code
   * locked_reason} (2.73) but not the server's groups (show, update and rebuild only), and reads a
   * lock's reason only for locked servers.
   */
  void decorateListed(ComputeRoutes.Call c, InstanceRecord r, Map<String, Object> view) {
    if (c.version().atLeast(2, 73)) {
      view.put(
          "locked_reason",
          r.locked()
              ? lifecycle
                  .lockOf(r.uuid())
                  .flatMap(InstanceLifecycleRepository.Lock::reason)
                  .orElse(null)
              : null);
    }
  }

  // ---- lock / unlock ----

  private void lock(ComputeRoutes.Call c, String uuid, JsonNode arg) {
    InstanceRecord r = ops.visible(c.auth(), uuid);
    Optional<String> reason = Optional.empty();
    if (arg != null && !arg.isNull()) {
      if (!arg.isObject() || (!arg.isEmpty() && !c.version().atLeast(2, 73))) {
        throw new InvalidInputException(
            "Invalid input for field/attribute lock. Value: "
                + arg
                + ". "
                + (c.version().atLeast(2, 73) ? "Must be an object" : "Must be null"));
      }
      for (var it = arg.fieldNames(); it.hasNext(); ) {
        String k = it.next();
        if (!k.equals("locked_reason")) {
          throw new InvalidInputException(
              "Additional properties are not allowed ('" + k + "' was unexpected)");
        }
      }
      reason = ApiJson.optString(arg, "locked_reason");
      if (reason.isPresent() && reason.get().length() > 255) {
        throw new InvalidInputException("locked_reason is longer than 255 characters");
      }
    }
    String by = r.projectId().equals(c.auth().project()) ? "owner" : "admin";
    deps.actions().start(uuid, c.requestId(), "lock", r.projectId(), c.auth().userId());
    lifecycle.lock(uuid, by, reason);
    c.ctx().status(202);
  }

  private void unlock(ComputeRoutes.Call c, String uuid) {
    InstanceRecord r = ops.visible(c.auth(), uuid);
    Optional<InstanceLifecycleRepository.Lock> lock = lifecycle.lockOf(uuid);
    if (lock.isPresent() && lock.get().lockedBy().equals("admin") && !c.auth().isAdmin()) {
      // Nova's unlock_override policy: only an admin lifts an admin's lock
      throw new ForbiddenException(
          "Policy doesn't allow os_compute_api:os-lock-server:unlock:unlock_override to be"
              + " performed.");
    }
    deps.actions().start(uuid, c.requestId(), "unlock", r.projectId(), c.auth().userId());
    lifecycle.unlock(uuid);
    c.ctx().status(202);
  }

  // ---- os-resetState (admin) ----

  private void resetState(ComputeRoutes.Call c, String uuid, JsonNode arg) {
    if (!c.auth().isAdmin()) {
      throw new ForbiddenException(
          "Policy doesn't allow os_compute_api:os-admin-actions:reset_state to be performed.");
    }
    InstanceRecord r = ops.visible(c.auth(), uuid);
    if (arg == null || !arg.isObject()) {
      throw new InvalidInputException(
          "os-resetState needs an object: {\"os-resetState\": {\"state\": \"error\"}}");
    }
    String state = ApiJson.requireString(arg, "state");
    VmState vm =
        switch (state) {
          case "active" -> VmState.ACTIVE;
          case "error" -> VmState.ERROR;
          default ->
              throw new InvalidInputException(
                  "Invalid input for field/attribute state. Value: "
                      + state
                      + ". '"
                      + state
                      + "' is not one of ['active', 'error']");
        };
    // Nova's admin_state_reset: unconditional, and the task is cleared whatever it was
    deps.instances().compareAndSwap(uuid, InstanceUpdate.none().vm(vm).clearTask(), null);
    deps.actions().start(uuid, c.requestId(), "resetState", r.projectId(), c.auth().userId());
    c.ctx().status(202);
  }

  // ---- rebuild ----

  private void rebuild(ComputeRoutes.Call c, String uuid, JsonNode arg) {
    if (arg == null || !arg.isObject()) {
      throw new InvalidInputException("rebuild needs an object with imageRef");
    }
    InstanceRecord r = ops.visible(c.auth(), uuid);
    ServerLocks.check(c.auth(), r);
    ServerRebuild.Request req = ServerRebuild.parse((ObjectNode) arg, c.version());
    ServerRebuild.Checked checked = rebuild.check(c.auth(), r, req);
    ImageMeta image = checked.image();
    InstanceAction.REBUILD.check(uuid, r.vmState(), r.taskState());
    requireHost(r, InstanceAction.REBUILD);
    swap(r, TaskState.REBUILDING, InstanceAction.REBUILD);
    rebuild.apply(r, req, checked);
    deps.actions().start(uuid, c.requestId(), "rebuild", r.projectId(), c.auth().userId());
    // Nova's new_pass: delivered on the rebuilt server's config drive, answered here, not stored
    String password = req.adminPass().orElseGet(ServerLifecycleActions::password);
    deps.agents()
        .forHost(r.host().get())
        .rebuildInstance(uuid, image.id(), req.preserveEphemeral(), Optional.of(password));
    InstanceRecord now = deps.instances().get(uuid);
    Map<String, Object> view =
        c.view().detail(now, deps.instances().latestFault(uuid), Optional.of(""));
    decorate(c, now, view);
    view.put("adminPass", password);
    c.ctx().status(202);
    c.ctx().json(Map.of("server", view));
  }

  // ---- rescue / unrescue ----

  private void rescue(ComputeRoutes.Call c, String uuid, JsonNode arg) {
    InstanceRecord r = ops.visible(c.auth(), uuid);
    ServerLocks.check(c.auth(), r);
    Optional<String> rescueImage = Optional.empty();
    Optional<String> adminPass = Optional.empty();
    if (arg != null && !arg.isNull()) {
      if (!arg.isObject()) {
        throw new InvalidInputException("rescue takes an object or null");
      }
      for (var it = arg.fieldNames(); it.hasNext(); ) {
        String k = it.next();
        if (!k.equals("adminPass") && !k.equals("rescue_image_ref")) {
          throw new InvalidInputException(
              "Additional properties are not allowed ('" + k + "' was unexpected)");
        }
      }
      rescueImage = ApiJson.optString(arg, "rescue_image_ref");
      adminPass = ApiJson.optString(arg, "adminPass");
    }
    String imageRef =
        rescueImage
            .map(ServerCreateRequest::lastSegment)
            .orElse(r.imageRef()); // Nova: the instance's own image by default
    if (rescueImage.isPresent()) {
      deps.images().bootable(c.auth(), imageRef);
    }
    InstanceAction.RESCUE.check(uuid, r.vmState(), r.taskState());
    requireHost(r, InstanceAction.RESCUE);
    swap(r, TaskState.RESCUING, InstanceAction.RESCUE);
    deps.actions().start(uuid, c.requestId(), "rescue", r.projectId(), c.auth().userId());
    // Nova's rescue_password: on the rescue config drive, answered here, not stored
    String password = adminPass.orElseGet(ServerLifecycleActions::password);
    deps.agents().forHost(r.host().get()).rescueInstance(uuid, imageRef, Optional.of(password));
    c.ctx().json(Map.of("adminPass", password));
  }

  private void unrescue(ComputeRoutes.Call c, String uuid) {
    InstanceRecord r = ops.visible(c.auth(), uuid);
    ServerLocks.check(c.auth(), r);
    InstanceAction.UNRESCUE.check(uuid, r.vmState(), r.taskState());
    requireHost(r, InstanceAction.UNRESCUE);
    swap(r, TaskState.UNRESCUING, InstanceAction.UNRESCUE);
    deps.actions().start(uuid, c.requestId(), "unrescue", r.projectId(), c.auth().userId());
    deps.agents().forHost(r.host().get()).unrescueInstance(uuid);
    c.ctx().status(202);
  }

  // ---- shared ----

  private static void requireHost(InstanceRecord r, InstanceAction a) {
    if (r.host().isEmpty()) {
      throw new ConflictException(
          "Cannot '" + a.apiName() + "' instance " + r.uuid() + ": it is not on any host");
    }
  }

  /** None → {@code task} by compare-and-swap: of two racing requests only one passes (409). */
  private void swap(InstanceRecord r, TaskState task, InstanceAction action) {
    if (deps.instances()
        .compareAndSwap(r.uuid(), InstanceUpdate.none().task(task), List.of(Optional.empty()))
        .isEmpty()) {
      InstanceRecord now = deps.instances().get(r.uuid());
      action.check(r.uuid(), now.vmState(), now.taskState());
      throw InvalidStateException.of(
          action, r.uuid(), "task_state", now.taskState().map(TaskState::value).orElse("None"));
    }
  }

  static String password() {
    String alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 12; i++) {
      sb.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
    }
    return sb.toString();
  }
}
