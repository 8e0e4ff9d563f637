package io.virga.api;

import static io.virga.api.ComputeRoutes.ROOT;
import static io.virga.api.ComputeRoutes.authed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.router.JavalinDefaultRouting;
import io.virga.core.InvalidInputException;
import io.virga.core.NotFoundException;
import io.virga.db.AggregateRepository;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * /os-aggregates (admin): create, list, show, update, delete, and the add_host, remove_host and
 * set_metadata actions. An aggregate's {@code availability_zone} becomes the zone of its hosts
 * (os-availability-zone, the scheduler's zone filter, boots into a zone).
 */
final class AggregateRoutes {
  private final AggregateRepository aggregates;

  AggregateRoutes(ComputeDeps deps) {
    this.aggregates = deps.hosts().aggregates();
  }

  void register(JavalinDefaultRouting r) {
    r.get(ROOT + "/os-aggregates", authed(this::list));
    r.post(ROOT + "/os-aggregates", authed(this::create));
    r.get(ROOT + "/os-aggregates/{id}", authed(this::show));
    r.put(ROOT + "/os-aggregates/{id}", authed(this::update));
    r.delete(ROOT + "/os-aggregates/{id}", authed(this::delete));
    r.post(ROOT + "/os-aggregates/{id}/action", authed(this::action));
  }

  private static void admin(ComputeRoutes.Call c, String what) {
    Policy.requireAdmin(c.auth(), "os_compute_api:os-aggregates:" + what);
  }

  private static long id(ComputeRoutes.Call c) {
    String raw = c.path("id");
    try {
      return Long.parseLong(raw);
    } catch (NumberFormatException e) {
      throw new NotFoundException("Aggregate " + raw + " could not be found.");
    }
  }

  private void list(ComputeRoutes.Call c) {
    admin(c, "index");
    List<Map<String, Object>> out = new ArrayList<>();
    for (AggregateRepository.Aggregate a : aggregates.list()) {
      out.add(view(c, a));
    }
    c.ctx().json(Map.of("aggregates", out));
  }

  private void show(ComputeRoutes.Call c) {
    admin(c, "show");
    c.ctx().json(Map.of("aggregate", view(c, aggregates.get(id(c)))));
  }

  private void create(ComputeRoutes.Call c) {
    admin(c, "create");
    ObjectNode a = ApiJson.requireObject(ApiJson.object(c.ctx()), "aggregate");
    only(a, "aggregate", "name", "availability_zone");
    String name = name(ApiJson.requireString(a, "name"));
    Optional<String> zone = zone(a);
    c.ctx().json(Map.of("aggregate", view(c, aggregates.create(name, zone))));
  }

  private void update(ComputeRoutes.Call c) {
    admin(c, "update");
    ObjectNode a = ApiJson.requireObject(ApiJson.object(c.ctx()), "aggregate");
    only(a, "aggregate", "name", "availability_zone");
    if (a.isEmpty()) {
      throw new InvalidInputException("An aggregate update needs name or availability_zone");
    }
    Optional<String> name = ApiJson.optString(a, "name").map(AggregateRoutes::name);
    Optional<Optional<String>> zone =
        a.has("availability_zone") ? Optional.of(zone(a)) : Optional.empty();
    c.ctx().json(Map.of("aggregate", view(c, aggregates.update(id(c), name, zone))));
  }

  private void delete(ComputeRoutes.Call c) {
    admin(c, "delete");
    aggregates.delete(id(c));
    c.ctx().status(200);
  }

  private void action(ComputeRoutes.Call c) {
    ObjectNode body = ApiJson.object(c.ctx());
    if (body.size() != 1) {
      throw new InvalidInputException("An aggregate action body must have exactly one key");
    }
    String name = body.fieldNames().next();
    long id = id(c);
    AggregateRepository.Aggregate result =
        switch (name) {
          case "add_host" -> {
            admin(c, "add_host");
            yield aggregates.addHost(id, host(body.get(name)));
          }
          case "remove_host" -> {
            admin(c, "remove_host");
            yield aggregates.removeHost(id, host(body.get(name)));
          }
          case "set_metadata" -> {
            admin(c, "set_metadata");
            yield aggregates.setMetadata(id, metadata(body.get(name)));
          }
          default -> throw new InvalidInputException("There is no such action: " + name);
        };
    c.ctx().json(Map.of("aggregate", view(c, result)));
  }

  private static String host(JsonNode arg) {
    if (arg == null || !arg.isObject()) {
      throw new InvalidInputException("add_host/remove_host need {\"host\": \"<host>\"}");
    }
    return ApiJson.requireString(arg, "host");
  }

  private static Map<String, Optional<String>> metadata(JsonNode arg) {
    if (arg == null || !arg.isObject() || !arg.path("metadata").isObject()) {
      throw new InvalidInputException("set_metadata needs {\"metadata\": {…}}");
    }
    Map<String, Optional<String>> out = new LinkedHashMap<>();
    for (var it = arg.get("metadata").fields(); it.hasNext(); ) {
      var e = it.next();
      if (e.getKey().isEmpty() || e.getKey().length() > 255) {
        throw new InvalidInputException("Invalid metadata key: 1 to 255 characters");
      }
      JsonNode v = e.getValue();
      if (v.isNull()) {
        out.put(e.getKey(), Optional.empty());
      } else if (v.isTextual() && v.textValue().length() <= 255) {
        if (e.getKey().equals(AggregateRepository.AZ_KEY)) {
          checkZone(v.textValue());
        }
        out.put(e.getKey(), Optional.of(v.textValue()));
      } else {
        throw new InvalidInputException(
            "Invalid metadata value for " + e.getKey() + ": a string of at most 255 or null");
      }
    }
    return out;
  }

  private static void only(ObjectNode o, String what, String... keys) {
    for (var it = o.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      if (!List.of(keys).contains(k)) {
        throw new InvalidInputException(
            "Invalid input for field/attribute "
                + what
                + ". Additional properties are not allowed ('"
                + k
                + "' was unexpected)");
      }
    }
  }

  private static String name(String n) {
    if (n.isEmpty() || n.length() > 255 || !n.strip().equals(n)) {
      throw new InvalidInputException(
          "Invalid input for field/attribute name: 1 to 255 characters without leading or"
              + " trailing whitespace");
    }
    return n;
  }

  private static Optional<String> zone(ObjectNode a) {
    Optional<String> z = ApiJson.optString(a, "availability_zone");
    z.ifPresent(AggregateRoutes::checkZone);
    return z;
  }

  private static void checkZone(String z) {
    if (z.isEmpty() || z.length() > 255 || z.contains(":")) {
      throw new InvalidInputException(
          "Invalid input for field/attribute availability_zone: 1 to 255 characters, no ':'");
    }
  }

  private static Map<String, Object> view(ComputeRoutes.Call c, AggregateRepository.Aggregate a) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("availability_zone", a.availabilityZone().orElse(null));
    m.put("created_at", ComputeTime.micros(a.createdAt()));
    m.put("deleted", false);
    m.put("deleted_at", null);
    m.put("hosts", a.hosts());
    m.put("id", a.id());
    m.put("metadata", a.metadata());
    m.put("name", a.name());
    m.put("updated_at", ComputeTime.micros(a.updatedAt()));
    if (c.version().atLeast(2, 41)) {
      m.put("uuid", a.uuid());
    }
    return m;
  }
}
