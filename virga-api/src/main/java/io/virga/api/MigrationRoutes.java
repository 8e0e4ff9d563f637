package io.virga.api;

import static io.virga.api.ComputeRoutes.ROOT;
import static io.virga.api.ComputeRoutes.authed;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.router.JavalinDefaultRouting;
import io.virga.core.ConflictException;
import io.virga.core.InvalidInputException;
import io.virga.core.InvalidStateException;
import io.virga.core.Migration;
import io.virga.core.MigrationStatus;
import io.virga.core.MigrationType;
import io.virga.core.NotFoundException;
import io.virga.core.TaskState;
import io.virga.db.ComputeNodeRecord;
import io.virga.db.InstanceRecord;
import io.virga.db.MigrationFilter;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code /os-migrations} (admin list with filters, paging at 2.59) and {@code
 * /servers/{id}/migrations} (2.23: in-progress live migrations; abort at 2.24; force_complete at
 * 2.22).
 */
final class MigrationRoutes {
  private final ComputeDeps deps;
  private final ServerOperations ops;

  MigrationRoutes(ComputeDeps deps, ServerOperations ops) {
    this.deps = deps;
    this.ops = ops;
  }

  void register(JavalinDefaultRouting r) {
    r.get(ROOT + "/os-migrations", authed(this::list));
    r.get(ROOT + "/servers/{id}/migrations", authed(this::serverList));
    r.get(ROOT + "/servers/{id}/migrations/{mid}", authed(this::serverShow));
    r.delete(ROOT + "/servers/{id}/migrations/{mid}", authed(this::abort));
    r.post(ROOT + "/servers/{id}/migrations/{mid}/action", authed(this::action));
  }

  private MigrationView view(ComputeRoutes.Call c) {
    Map<String, String> ips = new LinkedHashMap<>();
    for (ComputeNodeRecord n : deps.hosts().nodes()) {
      ips.putIfAbsent(n.host(), n.hostIp());
    }
    return new MigrationView(c, ips);
  }

  private void list(ComputeRoutes.Call c) {
    Policy.requireAdmin(c.auth(), "os_compute_api:os-migrations:index");
    var ctx = c.ctx();
    Microversion v = c.version();
    if (v.atLeast(2, 59)) {
      // 2.59: the query schema no longer allows additional properties
      for (String k : ctx.queryParamMap().keySet()) {
        boolean known =
            java.util.Set.of(
                        "hidden",
                        "host",
                        "instance_uuid",
                        "migration_type",
                        "source_compute",
                        "status",
                        "limit",
                        "marker",
                        "changes-since")
                    .contains(k)
                || k.equals("changes-before") && v.atLeast(2, 66)
                || (k.equals("user_id") || k.equals("project_id")) && v.atLeast(2, 80);
        if (!known) {
          throw new InvalidInputException(
              "Invalid input for query parameters "
                  + k
                  + ". Additional properties are not allowed");
        }
      }
    }
    MigrationFilter f =
        new MigrationFilter(
            q(c, "instance_uuid"),
            q(c, "host"),
            q(c, "source_compute"),
            q(c, "status").map(MigrationRoutes::status),
            q(c, "migration_type").map(MigrationRoutes::type),
            v.atLeast(2, 59) ? q(c, "changes-since").map(MigrationRoutes::time) : Optional.empty(),
            v.atLeast(2, 66) ? q(c, "changes-before").map(MigrationRoutes::time) : Optional.empty(),
            v.atLeast(2, 80) ? q(c, "user_id") : Optional.empty(),
            v.atLeast(2, 80) ? q(c, "project_id") : Optional.empty());
    // Nova filters by the string: a status no migration can have matches nothing
    boolean unknownStatus = q(c, "status").isPresent() && f.status().isEmpty();
    List<Migration> all = unknownStatus ? List.of() : deps.migrations().list(f);
    List<Migration> page = all;
    boolean more = false;
    if (v.atLeast(2, 59)) {
      page = ComputePaging.page(ctx, all, m -> s -> m.uuid().equals(s));
      String limit = ctx.queryParam("limit");
      more = limit != null && !page.isEmpty() && page.size() == ComputePaging.limit(limit);
    }
    MigrationView view = view(c);
    List<Map<String, Object>> out = new ArrayList<>();
    for (Migration m : page) {
      out.add(view.migration(m));
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("migrations", out);
    if (more) {
      String next =
          c.base()
              + ROOT
              + "/os-migrations?limit="
              + ctx.queryParam("limit")
              + "&marker="
              + page.get(page.size() - 1).uuid();
      body.put("migrations_links", List.of(ServerView.link("next", next)));
    }
    ctx.json(body);
  }

  private static Optional<String> q(ComputeRoutes.Call c, String name) {
    return Optional.ofNullable(c.ctx().queryParam(name)).filter(s -> !s.isEmpty());
  }

  private static MigrationStatus status(String s) {
    try {
      return MigrationStatus.of(s);
    } catch (IllegalArgumentException e) {
      // Nova filters by the string: an unknown status matches nothing
      return null;
    }
  }

  private static MigrationType type(String s) {
    try {
      return MigrationType.of(s);
    } catch (IllegalArgumentException e) {
      throw new InvalidInputException("Invalid migration_type: " + s);
    }
  }

  static Instant time(String s) {
    try {
      return OffsetDateTime.parse(s).toInstant();
    } catch (DateTimeParseException e) {
      try {
        return LocalDateTime.parse(s).toInstant(ZoneOffset.UTC);
      } catch (DateTimeParseException e2) {
        throw new InvalidInputException(
            "Invalid input for query parameters changes-since/changes-before: " + s);
      }
    }
  }

  private void requireVersion(ComputeRoutes.Call c, int minor) {
    if (!c.version().atLeast(2, minor)) {
      throw new NotFoundException("The resource could not be found.");
    }
  }

  private void serverList(ComputeRoutes.Call c) {
    requireVersion(c, 23);
    Policy.requireAdmin(c.auth(), "os_compute_api:servers:migrations:index");
    InstanceRecord r = ops.visible(c.auth(), c.path("id"));
    MigrationView view = view(c);
    List<Map<String, Object>> out = new ArrayList<>();
    for (Migration m : deps.migrations().list(MigrationFilter.ofInstance(r.uuid()))) {
      if (m.live() && MigrationView.LIVE_IN_PROGRESS.contains(m.status())) {
        out.add(view.serverMigration(m));
      }
    }
    c.ctx().json(Map.of("migrations", out));
  }

  private void serverShow(ComputeRoutes.Call c) {
    requireVersion(c, 23);
    Policy.requireAdmin(c.auth(), "os_compute_api:servers:migrations:show");
    InstanceRecord r = ops.visible(c.auth(), c.path("id"));
    Migration m = migrationOf(r, c.path("mid"));
    if (!m.live() || !MigrationView.LIVE_IN_PROGRESS.contains(m.status())) {
      throw new NotFoundException(
          "In-progress live migration "
              + c.path("mid")
              + " is not found for server "
              + r.uuid()
              + ".");
    }
    c.ctx().json(Map.of("migration", view(c).serverMigration(m)));
  }

  /** The instance's migration by numeric id (or uuid), else 404. */
  private Migration migrationOf(InstanceRecord r, String mid) {
    Optional<Migration> m;
    try {
      m = deps.migrations().findById(Long.parseLong(mid));
    } catch (NumberFormatException e) {
      m = deps.migrations().find(mid);
    }
    return m.filter(x -> x.instanceUuid().equals(r.uuid()))
        .orElseThrow(
            () ->
                new NotFoundException(
                    "Migration " + mid + " does not exist for instance " + r.uuid() + "."));
  }

  /** DELETE: abort a live migration (running; queued or preparing from 2.65). */
  private void abort(ComputeRoutes.Call c) {
    requireVersion(c, 24);
    Policy.requireAdmin(c.auth(), "os_compute_api:servers:migrations:delete");
    InstanceRecord r = ops.visible(c.auth(), c.path("id"));
    Migration m = migrationOf(r, c.path("mid"));
    requireMigrating(r, "live_migrate_abort");
    if (!m.live()) {
      throw new InvalidInputException("Migration " + m.id() + " is not a live migration.");
    }
    boolean queued =
        m.status() == MigrationStatus.QUEUED
            || m.status() == MigrationStatus.PREPARING
            || m.status() == MigrationStatus.ACCEPTED;
    if (queued && !c.version().atLeast(2, 65)) {
      throw new ConflictException(
          "Aborting live migration "
              + m.id()
              + " with status "
              + m.status().value()
              + " is not yet supported for this instance (needs microversion 2.65).");
    }
    if (!queued && m.status() != MigrationStatus.RUNNING) {
      throw new InvalidInputException(
          "Migration "
              + m.id()
              + " state of instance "
              + r.uuid()
              + " is "
              + m.status().value()
              + ". Cannot abort it.");
    }
    deps.actions()
        .start(r.uuid(), c.requestId(), "live_migration_abort", r.projectId(), c.auth().userId());
    if (!deps.agents().forHost(m.sourceCompute()).liveMigrationAbort(r.uuid(), m.uuid())) {
      throw new InvalidInputException(
          "Migration "
              + m.id()
              + " of instance "
              + r.uuid()
              + " is not running any more. Cannot abort it.");
    }
    c.ctx().status(202);
  }

  /** POST …/action {"force_complete": null} (2.22). */
  private void action(ComputeRoutes.Call c) {
    requireVersion(c, 22);
    Policy.requireAdmin(c.auth(), "os_compute_api:servers:migrations:force_complete");
    InstanceRecord r = ops.visible(c.auth(), c.path("id"));
    ObjectNode body = ApiJson.object(c.ctx());
    if (body.size() != 1 || !body.has("force_complete")) {
      throw new InvalidInputException("The only migration action is {\"force_complete\": null}");
    }
    Migration m = migrationOf(r, c.path("mid"));
    requireMigrating(r, "force_complete");
    if (!m.live() || m.status() != MigrationStatus.RUNNING) {
      throw new InvalidInputException(
          "Migration "
              + m.id()
              + " state of instance "
              + r.uuid()
              + " is "
              + m.status().value()
              + ". Cannot force_complete while the migration is in this state.");
    }
    deps.actions()
        .start(
            r.uuid(),
            c.requestId(),
            "live_migration_force_complete",
            r.projectId(),
            c.auth().userId());
    deps.agents().forHost(m.sourceCompute()).liveMigrationForceComplete(r.uuid(), m.uuid());
    c.ctx().status(202);
  }

  private static void requireMigrating(InstanceRecord r, String action) {
    if (!r.taskState().equals(Optional.of(TaskState.MIGRATING))) {
      throw new InvalidStateException(
          "Cannot '"
              + action
              + "' instance "
              + r.uuid()
              + " while it is in task_state "
              + r.taskState().map(TaskState::value).orElse("None"));
    }
  }
}
