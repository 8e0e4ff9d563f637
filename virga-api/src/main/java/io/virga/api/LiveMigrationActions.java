package io.virga.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.core.InstanceAction;
import io.virga.core.InstanceUpdate;
import io.virga.core.InvalidInputException;
import io.virga.core.Migration;
import io.virga.core.MigrationStatus;
import io.virga.core.MigrationType;
import io.virga.core.TaskState;
import io.virga.db.InstanceRecord;
import io.virga.db.NewMigration;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code os-migrateLive} (Nova's conductor {@code live_migrate_instance}): the destination claim
 * (the migration record) at once, then — after the 202, as Nova does since 2.34 — the destination
 * and source checks, and the cast that queues the migration on the source.
 */
final class LiveMigrationActions implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LiveMigrationActions.class);
  private final ComputeDeps deps;
  private final ServerOperations ops;
  private final MigrationScheduler scheduler;
  private final ExecutorService checks =
      Executors.newThreadPerTaskExecutor(
          Thread.ofVirtual().name("virga-live-checks-", 0).factory());

  LiveMigrationActions(ComputeDeps deps, ServerOperations ops) {
    this.deps = deps;
    this.ops = ops;
    this.scheduler = new MigrationScheduler(deps);
  }

  record Request(Optional<String> host, String blockMigration, boolean force) {}

  static Request parse(JsonNode arg, Microversion v) {
    if (arg == null || !arg.isObject()) {
      throw new InvalidInputException(
          "os-migrateLive needs an object: {\"os-migrateLive\": {\"host\": null, \"block_migration\": \"auto\"}}");
    }
    for (var it = arg.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      boolean known =
          k.equals("host")
              || k.equals("block_migration")
              || k.equals("disk_over_commit") && !v.atLeast(2, 25)
              || k.equals("force") && v.atLeast(2, 30) && !v.atLeast(2, 68);
      if (!known) {
        throw new InvalidInputException(
            "Invalid input for os-migrateLive. Additional properties are not allowed ('"
                + k
                + "' was unexpected)");
      }
    }
    if (!arg.has("block_migration") || !v.atLeast(2, 25) && !arg.has("disk_over_commit")) {
      throw new InvalidInputException(
          "os-migrateLive needs block_migration"
              + (v.atLeast(2, 25) ? "" : " and disk_over_commit"));
    }
    JsonNode b = arg.get("block_migration");
    String block;
    if (b.isBoolean()) {
      block = Boolean.toString(b.booleanValue());
    } else if (b.isTextual() && b.textValue().equals("auto") && v.atLeast(2, 25)) {
      block = "auto";
    } else if (b.isTextual()
        && !v.atLeast(2, 25)
        && (b.textValue().equalsIgnoreCase("true") || b.textValue().equalsIgnoreCase("false"))) {
      block = b.textValue().toLowerCase(java.util.Locale.ROOT);
    } else {
      throw new InvalidInputException(
          "Invalid input for field/attribute block_migration: " + ApiJson.describe(b));
    }
    Optional<String> host =
        arg.hasNonNull("host") ? Optional.of(arg.get("host").asText()) : Optional.empty();
    boolean force = arg.path("force").asBoolean(false);
    if (force && host.isEmpty()) {
      throw new InvalidInputException("force needs a host");
    }
    return new Request(host, block, force);
  }

  void liveMigrate(ComputeRoutes.Call c, String uuid, JsonNode arg) {
    Policy.requireAdmin(c.auth(), "os_compute_api:os-migrate-server:migrate_live");
    InstanceRecord r = ops.visible(c.auth(), uuid);
    Request req = parse(arg, c.version());
    InstanceAction.LIVE_MIGRATE.check(uuid, r.vmState(), r.taskState());
    if (req.host().isPresent()) {
      scheduler.requireKnownHost(req.host().get());
      if (r.host().equals(req.host())) {
        throw new InvalidInputException(
            "The target host " + req.host().get() + " is the server's current host.");
      }
    }
    ServerMigrationActions.requireHost(r, "os-migrateLive");
    ops.swap(r, InstanceUpdate.none().task(TaskState.MIGRATING), InstanceAction.LIVE_MIGRATE);
    deps.actions().start(uuid, c.requestId(), "live-migration", r.projectId(), c.auth().userId());
    long typeId = MigrationScheduler.flavorTypeId(deps, r.flavor());
    NewMigration n =
        new NewMigration(
            UUID.randomUUID().toString(),
            uuid,
            MigrationType.LIVE_MIGRATION,
            MigrationStatus.ACCEPTED,
            r.host().orElseThrow(),
            r.node().orElse(r.host().get()),
            r.flavor(),
            r.flavor(),
            typeId,
            typeId,
            r.vmState(),
            c.auth().userId(),
            r.projectId());
    Migration m;
    try {
      m = scheduler.schedule(r, n, req.host(), false, req.force());
    } catch (RuntimeException e) {
      deps.instances()
          .compareAndSwap(
              uuid, InstanceUpdate.none().clearTask(), List.of(Optional.of(TaskState.MIGRATING)));
      throw ServerMigrationActions.noValidHostIs400(deps, r, e);
    }
    String rid = c.requestId();
    checks.execute(() -> checkAndCast(m, req.blockMigration(), rid));
    c.ctx().status(202);
  }

  /** Nova's LiveMigrationTask: destination then source checks, then the source's cast. */
  private void checkAndCast(Migration m, String block, String rid) {
    String uuid = m.instanceUuid();
    String event = "conductor_live_migrate_instance";
    deps.actions().eventStart(uuid, rid, event, null);
    try {
      String data =
          deps.agents()
              .forHost(m.destCompute())
              .checkCanLiveMigrateDestination(uuid, m.uuid(), block);
      deps.agents().forHost(m.sourceCompute()).liveMigration(uuid, m.uuid(), data);
      deps.actions().eventFinish(uuid, rid, event, Optional.empty());
    } catch (RuntimeException e) {
      LOG.warn(
          "instance {}: live migration {} refused by the checks: {}",
          uuid,
          m.uuid(),
          e.getMessage());
      deps.migrations()
          .updateStatus(
              m.uuid(), List.of(), MigrationStatus.ERROR, Optional.of("check_can_live_migrate"));
      deps.instances()
          .recordFault(
              uuid,
              400,
              "Migration pre-check error: " + e.getMessage(),
              Optional.of(e.toString()),
              Optional.of(m.sourceCompute()));
      deps.instances()
          .compareAndSwap(
              uuid, InstanceUpdate.none().clearTask(), List.of(Optional.of(TaskState.MIGRATING)));
      deps.actions().eventFinish(uuid, rid, event, Optional.of(e.getMessage()));
    }
  }

  @Override
  public void close() {
    checks.shutdownNow();
  }
}
