package io.virga.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.core.Flavor;
import io.virga.core.InstanceAction;
import io.virga.core.InstanceUpdate;
import io.virga.core.InvalidInputException;
import io.virga.core.InvalidStateException;
import io.virga.core.Migration;
import io.virga.core.MigrationStatus;
import io.virga.core.MigrationType;
import io.virga.core.NotFoundException;
import io.virga.core.TaskState;
import io.virga.core.VmState;
import io.virga.db.FlavorRecord;
import io.virga.db.InstanceRecord;
import io.virga.db.MigrationFilter;
import io.virga.db.NewMigration;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The resize and cold-migration server actions (Nova's compute/api.py {@code resize}, {@code
 * confirm_resize}, {@code revert_resize}): state check, flavor rules, the destination claim (the
 * migration record), the task_state compare-and-swap, then a cast to the first agent step.
 */
final class ServerMigrationActions {
  private static final Logger LOG = LoggerFactory.getLogger(ServerMigrationActions.class);
  private final ComputeDeps deps;
  private final ServerOperations ops;
  private final MigrationScheduler scheduler;

  ServerMigrationActions(ComputeDeps deps, ServerOperations ops) {
    this.deps = deps;
    this.ops = ops;
    this.scheduler = new MigrationScheduler(deps);
  }

  /** {@code resize} ({@code flavorRef}) or {@code migrate} (admin; {@code host} at 2.56). */
  void resize(ComputeRoutes.Call c, String uuid, JsonNode arg) {
    InstanceRecord r = ops.visible(c.auth(), uuid);
    if (arg == null
        || !arg.isObject()
        || !arg.path("flavorRef").isTextual() && !arg.path("flavorRef").isNumber()) {
      throw new InvalidInputException(
          "resize needs an object with flavorRef: {\"resize\": {\"flavorRef\": \"2\"}}");
    }
    InstanceAction.RESIZE.check(uuid, r.vmState(), r.taskState());
    requireHost(r, "resize");
    String flavorId = ServerCreateRequest.lastSegment(arg.get("flavorRef").asText());
    FlavorRecord f;
    try {
      f = deps.flavors().get(flavorId, Optional.of(r.projectId()));
    } catch (NotFoundException e) {
      throw new InvalidInputException("Unable to find flavor " + flavorId + ".");
    }
    Flavor current = r.flavor();
    if (f.flavor().id().equals(current.id())) {
      throw new InvalidInputException("When resizing, instances must change flavor!");
    }
    if (f.disabled()) {
      throw new InvalidInputException("Flavor " + flavorId + " is disabled.");
    }
    if (f.flavor().rootGb() < current.rootGb()) {
      throw new InvalidInputException(
          "Unable to resize disk down: flavor "
              + flavorId
              + " has a "
              + f.flavor().rootGb()
              + " GB root disk, the server has "
              + current.rootGb()
              + " GB.");
    }
    checkResizeQuota(r.projectId(), current, f.flavor());
    begin(
        c,
        r,
        MigrationType.RESIZE,
        f.flavor(),
        f.id(),
        Optional.empty(),
        "resize",
        deps.migrationOptions().allowResizeToSameHost());
  }

  /** Nova's upsize quota check: the growth in cores and RAM must fit the project's limits. */
  private void checkResizeQuota(String project, Flavor current, Flavor next) {
    java.util.Map<String, Long> limits = deps.quotas().limits(project);
    io.virga.db.InstanceRepository.Usage used = deps.instances().projectUsage(project);
    String[] names = {"cores", "ram"};
    long[] deltas = {next.vcpus() - current.vcpus(), next.memoryMb() - current.memoryMb()};
    long[] usedNow = {used.cores(), used.ramMb()};
    for (int k = 0; k < names.length; k++) {
      long limit = limits.getOrDefault(names[k], -1L);
      if (deltas[k] > 0 && limit >= 0 && usedNow[k] + deltas[k] > limit) {
        throw new io.virga.core.QuotaExceededException(
            "Quota exceeded for "
                + names[k]
                + ": Requested "
                + deltas[k]
                + ", but already used "
                + usedNow[k]
                + " of "
                + limit
                + " "
                + names[k]);
      }
    }
  }

  void migrate(ComputeRoutes.Call c, String uuid, JsonNode arg) {
    Policy.requireAdmin(c.auth(), "os_compute_api:os-migrate-server:migrate");
    InstanceRecord r = ops.visible(c.auth(), uuid);
    Optional<String> host = Optional.empty();
    if (arg != null && !arg.isNull()) {
      if (!arg.isObject() || !c.version().atLeast(2, 56) && arg.size() > 0) {
        throw new InvalidInputException("migrate takes null (or {\"host\": …} from 2.56)");
      }
      for (var it = arg.fieldNames(); it.hasNext(); ) {
        String k = it.next();
        if (!k.equals("host")) {
          throw new InvalidInputException(
              "Additional properties are not allowed ('" + k + "' was unexpected)");
        }
      }
      host = ApiJson.optString(arg, "host");
    }
    InstanceAction.MIGRATE.check(uuid, r.vmState(), r.taskState());
    if (host.isPresent()) {
      scheduler.requireKnownHost(host.get());
      if (r.host().equals(host)) {
        throw new InvalidInputException(
            "Unable to migrate instance (" + uuid + ") to current host (" + host.get() + ").");
      }
    }
    long typeId = MigrationScheduler.flavorTypeId(deps, r.flavor());
    begin(c, r, MigrationType.MIGRATION, r.flavor(), typeId, host, "migrate", false);
  }

  private void begin(
      ComputeRoutes.Call c,
      InstanceRecord r,
      MigrationType type,
      Flavor newFlavor,
      long newTypeId,
      Optional<String> host,
      String action,
      boolean allowSameHost) {
    String uuid = r.uuid();
    requireHost(r, type == MigrationType.RESIZE ? "resize" : "migrate");
    // resize_prep first: of two racing requests only one claims
    ops.swap(
        r,
        InstanceUpdate.none().task(TaskState.RESIZE_PREP),
        type == MigrationType.RESIZE ? InstanceAction.RESIZE : InstanceAction.MIGRATE);
    deps.actions().start(uuid, c.requestId(), action, r.projectId(), c.auth().userId());
    NewMigration n =
        new NewMigration(
            UUID.randomUUID().toString(),
            uuid,
            type,
            MigrationStatus.PRE_MIGRATING,
            r.host().orElseThrow(),
            r.node().orElse(r.host().get()),
            r.flavor(),
            newFlavor,
            MigrationScheduler.flavorTypeId(deps, r.flavor()),
            newTypeId,
            r.vmState(),
            c.auth().userId(),
            r.projectId());
    Migration m;
    try {
      m = scheduler.schedule(r, n, host, allowSameHost, false);
    } catch (RuntimeException e) {
      deps.instances()
          .compareAndSwap(
              uuid, InstanceUpdate.none().clearTask(), List.of(Optional.of(TaskState.RESIZE_PREP)));
      deps.actions().eventStart(uuid, c.requestId(), "conductor_migrate_server", null);
      deps.actions()
          .eventFinish(
              uuid, c.requestId(), "conductor_migrate_server", Optional.of(e.getMessage()));
      throw noValidHostIs400(deps, r, e);
    }
    deps.agents().forHost(m.destCompute()).prepResize(uuid, m.uuid());
    c.ctx().status(202);
  }

  /**
   * Nova's answer when no host fits a move: the instance fault is recorded (the server keeps its
   * state), and the caller gets 400 with the scheduler's reasons.
   */
  static RuntimeException noValidHostIs400(ComputeDeps deps, InstanceRecord r, RuntimeException e) {
    if (!(e instanceof io.virga.core.NoValidHostException)) {
      return e;
    }
    deps.instances().recordFault(r.uuid(), 500, e.getMessage(), Optional.empty(), r.host());
    return new InvalidInputException(e.getMessage());
  }

  /** A server that was never scheduled (stopped before it got a host) cannot move: 409. */
  static void requireHost(InstanceRecord r, String action) {
    if (r.host().isEmpty()) {
      throw new io.virga.core.ConflictException(
          "Cannot '" + action + "' instance " + r.uuid() + ": it is not on any host");
    }
  }

  /** {@code confirmResize}: the source removes what it kept for a revert. */
  void confirm(ComputeRoutes.Call c, String uuid) {
    InstanceRecord r = ops.visible(c.auth(), uuid);
    InstanceAction.CONFIRM_RESIZE.check(uuid, r.vmState(), r.taskState());
    Migration m = finished(uuid);
    if (deps.migrations()
        .updateStatus(
            m.uuid(),
            List.of(MigrationStatus.FINISHED),
            MigrationStatus.CONFIRMING,
            Optional.empty())
        .isEmpty()) {
      throw InvalidStateException.of(
          InstanceAction.CONFIRM_RESIZE, uuid, "migration", "confirming");
    }
    deps.actions().start(uuid, c.requestId(), "confirmResize", r.projectId(), c.auth().userId());
    deps.agents().forHost(m.sourceCompute()).confirmResize(uuid, m.uuid());
    c.ctx().status(204);
  }

  /** {@code revertResize}: the destination destroys its copy, the source takes the server back. */
  void revert(ComputeRoutes.Call c, String uuid) {
    InstanceRecord r = ops.visible(c.auth(), uuid);
    InstanceAction.REVERT_RESIZE.check(uuid, r.vmState(), r.taskState());
    Migration m = finished(uuid);
    ops.swap(
        r, InstanceUpdate.none().task(TaskState.RESIZE_REVERTING), InstanceAction.REVERT_RESIZE);
    deps.migrations()
        .updateStatus(
            m.uuid(),
            List.of(MigrationStatus.FINISHED),
            MigrationStatus.REVERTING,
            Optional.empty());
    deps.actions().start(uuid, c.requestId(), "revertResize", r.projectId(), c.auth().userId());
    deps.agents().forHost(m.destCompute()).revertResize(uuid, m.uuid());
    c.ctx().status(202);
  }

  /** The resize waiting for confirmation (status finished), else 404 as Nova's. */
  private Migration finished(String uuid) {
    return deps.migrations().list(MigrationFilter.ofInstance(uuid)).stream()
        .filter(m -> m.status() == MigrationStatus.FINISHED && !m.live())
        .findFirst()
        .orElseThrow(() -> new NotFoundException("Instance " + uuid + " has not been resized."));
  }

  /**
   * Deleting a server in VERIFY_RESIZE: confirm first, so the source removes {@code <uuid>_resize}
   * (Nova's {@code _confirm_resize_on_deleting}); the destination's terminate does the rest.
   */
  static void confirmBeforeDelete(ComputeDeps deps, InstanceRecord r) {
    if (r.vmState() != VmState.RESIZED) {
      return;
    }
    for (Migration m : deps.migrations().list(MigrationFilter.ofInstance(r.uuid()))) {
      if (m.status() == MigrationStatus.FINISHED
          && deps.migrations()
              .updateStatus(
                  m.uuid(),
                  List.of(MigrationStatus.FINISHED),
                  MigrationStatus.CONFIRMING,
                  Optional.empty())
              .isPresent()) {
        LOG.info("instance {}: confirming migration {} before the delete", r.uuid(), m.uuid());
        deps.agents().forHost(m.sourceCompute()).confirmResize(r.uuid(), m.uuid());
      }
    }
  }

  /**
   * Deleting a server with a live migration under way: abort it first, so the guest is not handed
   * to the destination after the source destroyed it. (Cold migrations clean up through their own
   * failure paths: every step after the delete fails its compare-and-swap.)
   */
  static void abortLiveMigrationBeforeDelete(ComputeDeps deps, InstanceRecord r) {
    for (Migration m : deps.migrations().list(MigrationFilter.ofInstance(r.uuid()))) {
      if (m.live() && Migration.IN_PROGRESS.contains(m.status())) {
        try {
          deps.agents().forHost(m.sourceCompute()).liveMigrationAbort(r.uuid(), m.uuid());
        } catch (RuntimeException e) {
          LOG.warn(
              "instance {}: cannot abort live migration {} before the delete: {}",
              r.uuid(),
              m.uuid(),
              e.toString());
        }
      }
    }
  }

  /** Nova's {@code _poll_unconfirmed_resizes}: confirm resizes older than the window. */
  static void confirmExpired(ComputeDeps deps) {
    java.time.Duration window = deps.migrationOptions().resizeConfirmWindow();
    if (window.isZero()) {
      return;
    }
    for (Migration m : deps.migrations().unconfirmedBefore(java.time.Instant.now().minus(window))) {
      Optional<InstanceRecord> r = deps.instances().find(m.instanceUuid());
      if (r.isEmpty()
          || r.get().deleted()
          || r.get().vmState() != VmState.RESIZED
          || r.get().taskState().isPresent()) {
        continue;
      }
      if (deps.migrations()
          .updateStatus(
              m.uuid(),
              List.of(MigrationStatus.FINISHED),
              MigrationStatus.CONFIRMING,
              Optional.empty())
          .isPresent()) {
        LOG.info(
            "instance {}: confirming resize {} after resize_confirm_window",
            m.instanceUuid(),
            m.uuid());
        deps.agents().forHost(m.sourceCompute()).confirmResize(m.instanceUuid(), m.uuid());
      }
    }
  }
}
