package io.virga.api;

import static io.virga.api.ComputeRoutes.ROOT;
import static io.virga.api.ComputeRoutes.authed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.router.JavalinDefaultRouting;
import io.virga.core.InstanceAction;
import io.virga.core.InvalidInputException;
import io.virga.db.ComputeServiceRecord;
import io.virga.db.InstanceFilter;
import io.virga.db.InstanceRecord;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/** /servers: list, detail, create, show, update, delete, metadata, actions, instance actions. */
final class ServerRoutes {
  private final ComputeDeps deps;
  private final ServerOperations ops;
  private final ServerCreate creates;
  private final ServerMigrationActions migrations;
  private final LiveMigrationActions liveMigrations;
  private final ServerLifecycleActions lifecycle;

  ServerRoutes(
      ComputeDeps deps,
      ServerOperations ops,
      ServerCreate creates,
      LiveMigrationActions liveMigrations) {
    this.deps = deps;
    this.ops = ops;
    this.creates = creates;
    this.migrations = new ServerMigrationActions(deps, ops);
    this.liveMigrations = liveMigrations;
    this.lifecycle = new ServerLifecycleActions(deps, ops);
  }

  void register(JavalinDefaultRouting r) {
    r.get(ROOT + "/servers", authed(c -> list(c, false)));
    r.get(ROOT + "/servers/detail", authed(c -> list(c, true)));
    r.post(ROOT + "/servers", authed(this::create));
    r.get(ROOT + "/servers/{id}", authed(this::show));
    r.put(ROOT + "/servers/{id}", authed(this::update));
    r.delete(ROOT + "/servers/{id}", authed(this::delete));
    r.post(ROOT + "/servers/{id}/action", authed(this::action));
    new ServerMetadataRoutes(deps, ops).register(r);
    new MigrationRoutes(deps, ops).register(r);
  }

  /** The filters and paging of {@code GET /servers[/detail]}, as the caller may use them. */
  private record ListQuery(
      InstanceFilter filter,
      Optional<String> status,
      Optional<String> flavor,
      Optional<Pattern> name,
      Optional<Integer> limit,
      Optional<String> marker,
      ServerListQuery query) {}

  /** Nova's {@code index}/{@code detail}: filter, then page, then render. */
  private void list(ComputeRoutes.Call c, boolean detail) {
    Optional<ListQuery> q = listQuery(c);
    if (q.isEmpty()) {
      c.ctx().json(Map.of("servers", List.of())); // an unknown status before 2.38
      return;
    }
    // Nova's max_limit: a list without a limit is one page of 1000 with a next link
    int limit = q.get().limit().orElse(ComputePaging.MAX_LIMIT);
    List<InstanceRecord> matched =
        pagedInDatabase(q.get())
            ? deps.instances()
                .listPage(q.get().filter(), q.get().marker(), limit + 1)
                .orElseThrow(
                    () ->
                        new InvalidInputException(
                            "marker [" + q.get().marker().get() + "] not found"))
            : page(matching(q.get()), q.get());
    boolean more = matched.size() > limit;
    if (more) {
      matched = matched.subList(0, limit);
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("servers", render(c, matched, detail));
    if (more && !matched.isEmpty()) {
      String next =
          c.base()
              + ROOT
              + "/servers"
              + (detail ? "/detail" : "")
              + "?limit="
              + limit
              + "&marker="
              + matched.get(matched.size() - 1).uuid();
      body.put("servers_links", List.of(ServerView.link("next", next)));
    }
    // a page of 1,000 details is ~1.5 MB of JSON: written through the response's buffer as it is
    // serialized, not held whole first (its String and bytes were two humongous allocations that
    // started a concurrent GC cycle on every call)
    c.ctx().contentType(io.javalin.http.ContentType.APPLICATION_JSON);
    try (java.io.OutputStream out = c.ctx().outputStream()) {
      ApiJson.MAPPER.writeValue(out, body);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** The query parameters; empty for a status Nova did not know before 2.38 (an empty list). */
  private Optional<ListQuery> listQuery(ComputeRoutes.Call c) {
    var ctx = c.ctx();
    ServerListQuery query = ServerListQuery.parse(ctx, c.version());
    boolean admin = c.auth().isAdmin();
    boolean allTenants = admin && truthy(ctx.queryParam("all_tenants"));
    Optional<String> project =
        allTenants
            ? Optional.ofNullable(ctx.queryParam("project_id"))
                .or(() -> Optional.ofNullable(ctx.queryParam("tenant_id")))
            : Optional.of(c.auth().project());
    Optional<String> host = admin ? Optional.ofNullable(ctx.queryParam("host")) : Optional.empty();
    Optional<String> status =
        Optional.ofNullable(ctx.queryParam("status"))
            .map(s -> s.toUpperCase(java.util.Locale.ROOT));
    if (status.isPresent() && !ServerStatus.ALL.contains(status.get())) {
      if (c.version().atLeast(2, 38)) {
        throw new InvalidInputException("Invalid status value: " + ctx.queryParam("status"));
      }
      return Optional.empty();
    }
    boolean deleted =
        status.map(s -> s.equals("DELETED")).orElse(false) && admin || query.includesDeleted();
    Optional<String> image =
        Optional.ofNullable(ctx.queryParam("image")).map(ServerCreateRequest::lastSegment);
    return Optional.of(
        new ListQuery(
            new InstanceFilter(project, host, Optional.empty(), image, deleted),
            status,
            Optional.ofNullable(ctx.queryParam("flavor")).map(ServerCreateRequest::lastSegment),
            Optional.ofNullable(ctx.queryParam("name")).map(ServerRoutes::regex),
            Optional.ofNullable(ctx.queryParam("limit")).map(ComputePaging::limit),
            Optional.ofNullable(ctx.queryParam("marker")),
            query));
  }

  /**
   * Whether the database can filter, order and page alone (keyset on created_at, id: one page read,
   * however many servers): no filter or sort that only the rows in Java can apply.
   */
  private static boolean pagedInDatabase(ListQuery q) {
    return q.status().isEmpty()
        && q.flavor().isEmpty()
        && q.name().isEmpty()
        && q.query().order().isEmpty()
        && !q.query().includesDeleted()
        && q.query().tagFilters().isEmpty();
  }

  /** The rows the database filter found, narrowed by status, flavor and name. */
  private List<InstanceRecord> matching(ListQuery q) {
    List<InstanceRecord> matched = new ArrayList<>();
    for (InstanceRecord r : deps.instances().list(q.filter())) {
      if (q.status().isPresent()
          && !ServerStatus.of(r.vmState(), r.taskState()).equals(q.status().get())) {
        continue;
      }
      if (q.flavor().isPresent() && !r.flavor().id().equals(q.flavor().get())) {
        continue;
      }
      if (q.name().isPresent() && !q.name().get().matcher(r.displayName()).find()) {
        continue;
      }
      if (!q.query().matches(r)) {
        continue;
      }
      matched.add(r);
    }
    if (q.query().order().isPresent()) {
      matched.sort(q.query().order().get());
    }
    return matched;
  }

  /** What follows the marker (400 when the marker is not among them). */
  private static List<InstanceRecord> page(List<InstanceRecord> matched, ListQuery q) {
    if (q.marker().isEmpty()) {
      return matched;
    }
    int i = indexOf(matched, q.marker().get());
    if (i < 0) {
      throw new InvalidInputException("marker [" + q.marker().get() + "] not found");
    }
    return matched.subList(i + 1, matched.size());
  }

  private List<Map<String, Object>> render(
      ComputeRoutes.Call c, List<InstanceRecord> servers, boolean detail) {
    ServerView view = c.view();
    // one read of the services for the page's host_status, faults only where the view shows one
    Map<String, ComputeServiceRecord> services =
        detail && c.auth().isAdmin() && c.version().atLeast(2, 16)
            ? deps.hosts().services().stream()
                .collect(
                    java.util.stream.Collectors.toMap(
                        ComputeServiceRecord::host, x -> x, (a, b) -> a))
            : Map.of();
    Instant now = Instant.now();
    List<Map<String, Object>> out = new ArrayList<>();
    for (InstanceRecord r : servers) {
      if (detail) {
        Map<String, Object> one =
            view.detail(
                r,
                showsFault(r) ? deps.instances().latestFault(r.uuid()) : Optional.empty(),
                r.host()
                    .map(h -> hostStatus(Optional.ofNullable(services.get(h)), now))
                    .orElse(Optional.of("")));
        lifecycle.decorateListed(c, r, one);
        out.add(one);
      } else {
        out.add(view.basic(r));
      }
    }
    return out;
  }

  private static int indexOf(List<InstanceRecord> l, String uuid) {
    for (int i = 0; i < l.size(); i++) {
      if (l.get(i).uuid().equals(uuid)) {
        return i;
      }
    }
    return -1;
  }

  static boolean truthy(String v) {
    if (v == null) {
      return false;
    }
    return switch (v.strip().toLowerCase(java.util.Locale.ROOT)) {
      case "", "1", "true", "t", "yes", "y", "on" -> true;
      default -> false;
    };
  }

  private static Pattern regex(String s) {
    try {
      return Pattern.compile(s);
    } catch (PatternSyntaxException e) {
      throw new InvalidInputException("Invalid regular expression in name filter: " + s);
    }
  }

  /** Nova shows a fault for servers in ERROR or DELETED status only (ServerView.detail). */
  private static boolean showsFault(InstanceRecord r) {
    String status = ServerStatus.of(r.vmState(), r.taskState());
    return status.equals("ERROR") || status.equals("DELETED");
  }

  private Optional<String> hostStatus(String host) {
    return hostStatus(deps.hosts().service(host), Instant.now());
  }

  private Optional<String> hostStatus(Optional<ComputeServiceRecord> s, Instant now) {
    if (s.isEmpty()) {
      return Optional.of("UNKNOWN");
    }
    if (!s.get().isUp(now, deps.options().serviceDownTimeSeconds())) {
      return Optional.of("DOWN");
    }
    return Optional.of(s.get().disabled() ? "MAINTENANCE" : "UP");
  }

  /** Show and update (not the lists): 2.71 adds the server's groups (Virga has none). */
  private Map<String, Object> detail(ComputeRoutes.Call c, InstanceRecord r) {
    Map<String, Object> m =
        c.view()
            .detail(
                r,
                deps.instances().latestFault(r.uuid()),
                r.host().map(this::hostStatus).orElse(Optional.of("")));
    if (c.version().atLeast(2, 71)) {
      m.put("server_groups", List.of());
    }
    lifecycle.decorate(c, r, m);
    return m;
  }

  private void create(ComputeRoutes.Call c) {
    ObjectNode body = ApiJson.object(c.ctx());
    ServerCreateRequest req = ServerCreateRequest.parse(body, c.version());
    var group = ServerGroupRoutes.memberOf(deps, c.auth(), body, req.maxCount());
    ServerCreate.Created created =
        creates.create(
            c.auth(),
            req,
            c.requestId(),
            rows ->
                group.ifPresent(
                    g ->
                        deps.hosts()
                            .serverGroups()
                            .addMembers(
                                g.uuid(), rows.stream().map(InstanceRecord::uuid).toList())));
    c.ctx().status(202);
    if (req.returnReservationId()) {
      c.ctx().json(Map.of("reservation_id", created.reservationId()));
      return;
    }
    InstanceRecord first = created.instances().get(0);
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("id", first.uuid());
    s.put("links", c.view().links("servers", first.uuid()));
    s.put("OS-DCF:diskConfig", "MANUAL");
    s.put("security_groups", List.of(Map.of("name", "default")));
    s.put("adminPass", created.adminPass());
    c.ctx().header("Location", c.base() + ROOT + "/servers/" + first.uuid());
    c.ctx().json(Map.of("server", s));
  }

  private void show(ComputeRoutes.Call c) {
    c.ctx().json(Map.of("server", detail(c, ops.visible(c.auth(), c.path("id")))));
  }

  private void update(ComputeRoutes.Call c) {
    InstanceRecord r = ops.visible(c.auth(), c.path("id"));
    ObjectNode body = ApiJson.object(c.ctx());
    ObjectNode s = ApiJson.requireObject(body, "server");
    for (var it = s.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      if (!Set.of("name", "accessIPv4", "accessIPv6", "OS-DCF:diskConfig", "description")
              .contains(k)
          || k.equals("description") && !c.version().atLeast(2, 19)) {
        throw new InvalidInputException(
            "Invalid input for field/attribute server. Additional properties are not allowed ('"
                + k
                + "' was unexpected)");
      }
    }
    Optional<String> name = ApiJson.optString(s, "name").map(n -> NovaParams.name("name", n, 255));
    Optional<String> v4 = NovaParams.accessIp(s, "accessIPv4", false);
    Optional<String> v6 = NovaParams.accessIp(s, "accessIPv6", true);
    if (name.isPresent()) {
      deps.instances().setDisplayName(r.uuid(), name.get(), r.hostname());
    }
    if (s.has("accessIPv4")) {
      deps.instances().setAccessIp(r.uuid(), false, v4);
    }
    if (s.has("accessIPv6")) {
      deps.instances().setAccessIp(r.uuid(), true, v6);
    }
    if (s.has("description")) {
      Optional<String> d = ApiJson.optString(s, "description");
      if (d.isPresent() && d.get().length() > 255) {
        throw new InvalidInputException("description is longer than 255 characters");
      }
      deps.instances().setDescription(r.uuid(), d);
    }
    Map<String, Object> view = detail(c, deps.instances().get(r.uuid()));
    // before 2.75 Nova's update answers only the base attributes, not the extended ones
    c.ctx().json(Map.of("server", c.version().atLeast(2, 75) ? view : ServerView.baseOnly(view)));
  }

  private void delete(ComputeRoutes.Call c) {
    ops.delete(c.auth(), c.path("id"), c.requestId());
    c.ctx().status(204);
  }

  private void action(ComputeRoutes.Call c) {
    String uuid = c.path("id");
    ObjectNode body = ApiJson.object(c.ctx());
    if (body.size() != 1) {
      throw new InvalidInputException(
          "An action body must have exactly one key (the action), e.g. {\"os-stop\": null}");
    }
    String name = body.fieldNames().next();
    JsonNode arg = body.get(name);
    switch (name) {
      case "os-start" -> power(c, uuid, InstanceAction.START);
      case "os-stop" -> power(c, uuid, InstanceAction.STOP);
      case "pause" -> power(c, uuid, InstanceAction.PAUSE);
      case "unpause" -> power(c, uuid, InstanceAction.UNPAUSE);
      case "suspend" -> power(c, uuid, InstanceAction.SUSPEND);
      case "resume" -> power(c, uuid, InstanceAction.RESUME);
      case "reboot" -> power(c, uuid, rebootType(arg));
      case "os-getConsoleOutput" -> console(c, uuid, arg);
      case "createImage" -> new ServerSnapshotAction(deps, ops).handle(c, uuid, arg);
      case "resize" -> migrations.resize(c, uuid, arg);
      case "migrate" -> migrations.migrate(c, uuid, arg);
      case "confirmResize" -> migrations.confirm(c, uuid);
      case "revertResize" -> migrations.revert(c, uuid);
      case "os-migrateLive" -> liveMigrations.liveMigrate(c, uuid, arg);
      default -> {
        if (lifecycle.handle(c, uuid, name, arg)) {
          return;
        }
        ops.visible(c.auth(), uuid);
        throw new InvalidInputException("There is no such action: " + name);
      }
    }
  }

  private void power(ComputeRoutes.Call c, String uuid, InstanceAction a) {
    ops.act(c.auth(), uuid, a, c.requestId());
    c.ctx().status(202);
  }

  private static InstanceAction rebootType(JsonNode arg) {
    if (arg == null || !arg.isObject()) {
      throw new InvalidInputException("reboot needs an object: {\"reboot\": {\"type\": \"SOFT\"}}");
    }
    String type = ApiJson.requireString(arg, "type");
    return switch (type.toUpperCase(java.util.Locale.ROOT)) {
      case "SOFT" -> InstanceAction.REBOOT_SOFT;
      case "HARD" -> InstanceAction.REBOOT_HARD;
      default ->
          throw new InvalidInputException(
              "Invalid input for field/attribute type. Value: " + type + ". Must be SOFT or HARD");
    };
  }

  private void console(ComputeRoutes.Call c, String uuid, JsonNode arg) {
    int lines = -1;
    if (arg != null && !arg.isNull()) {
      if (!arg.isObject()) {
        throw new InvalidInputException("os-getConsoleOutput takes an object");
      }
      JsonNode len = arg.get("length");
      if (len != null && !len.isNull()) {
        if (len.isIntegralNumber()) {
          lines = len.intValue();
        } else if (len.isTextual() && len.textValue().matches("^-?[0-9]{1,9}$")) {
          lines = Integer.parseInt(len.textValue());
        } else {
          throw new InvalidInputException(
              "Invalid input for field/attribute length: must be an integer, not "
                  + ApiJson.describe(len));
        }
        if (lines < -1) {
          throw new InvalidInputException("length must be -1 or a positive integer");
        }
      }
    }
    String out = ops.consoleOutput(c.auth(), uuid, lines);
    c.ctx().json(Map.of("output", out));
  }
}
