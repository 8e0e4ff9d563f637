package io.virga.api;

import static io.virga.api.ComputeRoutes.ROOT;
import static io.virga.api.ComputeRoutes.authed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.router.JavalinDefaultRouting;
import io.virga.core.Flavor;
import io.virga.core.InvalidInputException;
import io.virga.core.NotFoundException;
import io.virga.db.FlavorRecord;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

/** /flavors with os-extra_specs and os-flavor-access. */
final class FlavorRoutes {
  private static final Pattern FLAVOR_ID = Pattern.compile("^(?! )[a-zA-Z0-9. _-]{1,255}(?<! )$");
  private static final Pattern SPEC_KEY = Pattern.compile("^[a-zA-Z0-9-_:. ]{1,255}$");
  private final ComputeDeps deps;

  FlavorRoutes(ComputeDeps deps) {
    this.deps = deps;
  }

  void register(JavalinDefaultRouting r) {
    r.get(ROOT + "/flavors", authed(c -> list(c, false)));
    r.get(ROOT + "/flavors/detail", authed(c -> list(c, true)));
    r.post(ROOT + "/flavors", authed(this::create));
    r.get(ROOT + "/flavors/{id}", authed(this::show));
    r.delete(ROOT + "/flavors/{id}", authed(this::delete));
    r.post(ROOT + "/flavors/{id}/action", authed(this::action));
    r.get(ROOT + "/flavors/{id}/os-flavor-access", authed(this::access));
    r.get(ROOT + "/flavors/{id}/os-extra_specs", authed(this::specs));
    r.post(ROOT + "/flavors/{id}/os-extra_specs", authed(this::addSpecs));
    r.get(ROOT + "/flavors/{id}/os-extra_specs/{key}", authed(this::spec));
    r.put(ROOT + "/flavors/{id}/os-extra_specs/{key}", authed(this::putSpec));
    r.delete(ROOT + "/flavors/{id}/os-extra_specs/{key}", authed(this::deleteSpec));
  }

  private Optional<String> scope(ComputeRoutes.Call c) {
    return c.auth().isAdmin() ? Optional.empty() : Optional.of(c.auth().project());
  }

  private void list(ComputeRoutes.Call c, boolean detail) {
    var ctx = c.ctx();
    Optional<Boolean> isPublic = Optional.of(true);
    String q = ctx.queryParam("is_public");
    if (c.auth().isAdmin()) {
      if (q == null) {
        isPublic = Optional.empty();
      } else if (q.equalsIgnoreCase("none") || q.equalsIgnoreCase("all")) {
        isPublic = Optional.empty();
      } else {
        isPublic = Optional.of(ServerRoutes.truthy(q));
      }
    } else {
      isPublic = Optional.empty();
    }
    int minRam = intParam(ctx.queryParam("minRam"), "minRam");
    int minDisk = intParam(ctx.queryParam("minDisk"), "minDisk");
    List<FlavorRecord> all = new ArrayList<>();
    for (FlavorRecord f : deps.flavors().list(scope(c), isPublic)) {
      if (f.flavor().memoryMb() >= minRam && f.flavor().rootGb() >= minDisk) {
        all.add(f);
      }
    }
    all = ComputePaging.page(ctx, all, f -> m -> f.flavor().id().equals(m));
    List<Map<String, Object>> out = new ArrayList<>();
    for (FlavorRecord f : all) {
      out.add(detail ? view(c, f) : basic(c, f));
    }
    ctx.json(Map.of("flavors", out));
  }

  private static int intParam(String v, String name) {
    if (v == null) {
      return 0;
    }
    try {
      return Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw new InvalidInputException("Invalid " + name + " filter [" + v + "]");
    }
  }

  private Map<String, Object> basic(ComputeRoutes.Call c, FlavorRecord f) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", f.flavor().id());
    m.put("name", f.flavor().name());
    m.put("links", c.view().links("flavors", f.flavor().id()));
    return m;
  }

  private Map<String, Object> view(ComputeRoutes.Call c, FlavorRecord f) {
    Flavor fl = f.flavor();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", fl.id());
    m.put("name", fl.name());
    m.put("ram", fl.memoryMb());
    m.put("disk", fl.rootGb());
    m.put("vcpus", fl.vcpus());
    m.put("links", c.view().links("flavors", fl.id()));
    m.put("OS-FLV-EXT-DATA:ephemeral", fl.ephemeralGb());
    m.put("OS-FLV-DISABLED:disabled", f.disabled());
    // 2.75: swap is 0, not "", when the flavor has none
    m.put("swap", fl.swapMb() == 0 && !c.version().atLeast(2, 75) ? "" : fl.swapMb());
    m.put("rxtx_factor", f.rxtxFactor());
    m.put("os-flavor-access:is_public", f.isPublic());
    if (c.version().atLeast(2, 55)) {
      m.put("description", f.description().orElse(null));
    }
    if (c.version().atLeast(2, 61)) {
      m.put("extra_specs", fl.extraSpecs());
    }
    return m;
  }

  private void show(ComputeRoutes.Call c) {
    c.ctx().json(Map.of("flavor", view(c, deps.flavors().get(c.path("id"), scope(c)))));
  }

  private void create(ComputeRoutes.Call c) {
    Policy.requireAdmin(c.auth(), "os_compute_api:os-flavor-manage:create");
    ObjectNode f = ApiJson.requireObject(ApiJson.object(c.ctx()), "flavor");
    Set<String> known =
        Set.of(
            "name",
            "id",
            "ram",
            "vcpus",
            "disk",
            "OS-FLV-EXT-DATA:ephemeral",
            "swap",
            "rxtx_factor",
            "os-flavor-access:is_public");
    for (Iterator<String> it = f.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      if (!known.contains(k) && !(k.equals("description") && c.version().atLeast(2, 55))) {
        throw new InvalidInputException(
            "Invalid input for field/attribute flavor. Additional properties are not allowed ('"
                + k
                + "' was unexpected)");
      }
    }
    String name = NovaParams.name("name", ApiJson.requireString(f, "name"), 255);
    String id = flavorId(f).orElse(UUID.randomUUID().toString());
    if (!FLAVOR_ID.matcher(id).matches()) {
      throw new InvalidInputException(
          "Invalid input for field/attribute id: letters, digits, '.', '_', '-' and spaces");
    }
    int ram = intField(f, "ram", 1, true);
    int vcpus = intField(f, "vcpus", 1, true);
    int disk = intField(f, "disk", 0, true);
    int eph = intField(f, "OS-FLV-EXT-DATA:ephemeral", 0, false);
    int swap = intField(f, "swap", 0, false);
    double rxtx = 1.0;
    JsonNode rx = f.get("rxtx_factor");
    if (rx != null && !rx.isNull()) {
      // Nova's schema: a number or a string of a decimal number, above 0
      boolean text = rx.isTextual() && rx.textValue().matches("^[0-9]{1,20}(\\.[0-9]{1,20})?$");
      double v = rx.isNumber() ? rx.doubleValue() : text ? Double.parseDouble(rx.textValue()) : -1;
      if (v <= 0) {
        throw new InvalidInputException("rxtx_factor must be a positive number");
      }
      rxtx = v;
    }
    boolean isPublic = NovaParams.looseBoolean(f, "os-flavor-access:is_public").orElse(true);
    FlavorRecord created =
        deps.flavors()
            .create(
                new Flavor(id, name, ram, vcpus, disk, eph, swap, Map.of()),
                rxtx,
                isPublic,
                ApiJson.optString(f, "description"));
    c.ctx().json(Map.of("flavor", view(c, created)));
  }

  /** Nova's flavor id: a string, or a number clients send for numeric ids (kept as its text). */
  private static Optional<String> flavorId(ObjectNode f) {
    JsonNode n = f.get("id");
    if (n == null || n.isNull()) {
      return Optional.empty();
    }
    if (n.isTextual()) {
      return Optional.of(n.textValue());
    }
    if (n.isIntegralNumber()) {
      return Optional.of(n.bigIntegerValue().toString());
    }
    throw new InvalidInputException(
        "Invalid input for field/attribute id: a string or an integer, not " + ApiJson.describe(n));
  }

  /** Integers as Nova's flavor schema takes them: JSON integers or strings of digits. */
  private static int intField(ObjectNode f, String key, int min, boolean required) {
    JsonNode n = f.get(key);
    if (n == null || n.isNull()) {
      if (required) {
        throw new InvalidInputException("'" + key + "' is a required property");
      }
      return 0;
    }
    long v;
    if (n.isIntegralNumber()) {
      v = n.longValue();
    } else if (n.isTextual() && n.textValue().strip().matches("^[0-9]{1,10}$")) {
      v = Long.parseLong(n.textValue().strip());
    } else {
      throw new InvalidInputException(
          "Invalid input for field/attribute "
              + key
              + ": must be an integer, not "
              + ApiJson.describe(n));
    }
    if (v < min || v > Integer.MAX_VALUE) {
      throw new InvalidInputException(
          "Invalid input for field/attribute "
              + key
              + ": "
              + v
              + " is less than the minimum of "
              + min);
    }
    return (int) v;
  }

  private void delete(ComputeRoutes.Call c) {
    Policy.requireAdmin(c.auth(), "os_compute_api:os-flavor-manage:delete");
    deps.flavors().delete(c.path("id"));
    c.ctx().status(202);
  }

  private void action(ComputeRoutes.Call c) {
    Policy.requireAdmin(c.auth(), "os_compute_api:os-flavor-access");
    ObjectNode body = ApiJson.object(c.ctx());
    FlavorRecord f = deps.flavors().get(c.path("id"), Optional.empty());
    if (body.has("addTenantAccess")) {
      String tenant =
          ApiJson.requireString(ApiJson.requireObject(body, "addTenantAccess"), "tenant");
      if (f.isPublic()) {
        throw new io.virga.core.ConflictException("Can not add access to a public flavor.");
      }
      deps.flavors().addProject(f.flavor().id(), tenant);
      access(c);
      return;
    }
    throw new InvalidInputException(
        "There is no such flavor action: " + String.join(", ", iterable(body.fieldNames())));
  }

  private static List<String> iterable(Iterator<String> it) {
    List<String> l = new ArrayList<>();
    it.forEachRemaining(l::add);
    return l;
  }

  private void access(ComputeRoutes.Call c) {
    Policy.requireAdmin(c.auth(), "os_compute_api:os-flavor-access");
    FlavorRecord f = deps.flavors().get(c.path("id"), Optional.empty());
    if (f.isPublic()) {
      throw new NotFoundException("Access list not available for public flavors.");
    }
    List<Map<String, Object>> out = new ArrayList<>();
    for (String p : deps.flavors().projects(f.flavor().id())) {
      out.add(Map.of("flavor_id", f.flavor().id(), "tenant_id", p));
    }
    c.ctx().json(Map.of("flavor_access", out));
  }

  private void specs(ComputeRoutes.Call c) {
    FlavorRecord f = deps.flavors().get(c.path("id"), scope(c));
    c.ctx().json(Map.of("extra_specs", f.flavor().extraSpecs()));
  }

  private void addSpecs(ComputeRoutes.Call c) {
    Policy.requireAdmin(c.auth(), "os_compute_api:os-flavor-extra-specs:create");
    Map<String, String> specs =
        specMap(ApiJson.requireObject(ApiJson.object(c.ctx()), "extra_specs"));
    deps.flavors().putExtraSpecs(c.path("id"), specs);
    c.ctx().json(Map.of("extra_specs", specs));
  }

  private static Map<String, String> specMap(JsonNode n) {
    Map<String, String> m = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!SPEC_KEY.matcher(e.getKey()).matches()) {
        throw new InvalidInputException("Invalid extra spec key '" + e.getKey() + "'");
      }
      JsonNode v = e.getValue();
      String s;
      if (v.isTextual()) {
        s = v.textValue();
      } else if (v.isNumber() || v.isBoolean()) {
        s = v.asText();
      } else {
        throw new InvalidInputException(
            "Invalid extra spec value for '" + e.getKey() + "': " + ApiJson.describe(v));
      }
      if (s.length() > 255) {
        throw new InvalidInputException("extra spec value for '" + e.getKey() + "' is too long");
      }
      m.put(e.getKey(), s);
    }
    return m;
  }

  private void spec(ComputeRoutes.Call c) {
    FlavorRecord f = deps.flavors().get(c.path("id"), scope(c));
    String key = c.path("key");
    String v = f.flavor().extraSpecs().get(key);
    if (v == null) {
      throw new NotFoundException(
          "Flavor " + c.path("id") + " has no extra specs with key " + key + ".");
    }
    c.ctx().json(Map.of(key, v));
  }

  private void putSpec(ComputeRoutes.Call c) {
    Policy.requireAdmin(c.auth(), "os_compute_api:os-flavor-extra-specs:update");
    Map<String, String> specs = specMap(ApiJson.object(c.ctx()));
    if (specs.size() != 1 || !specs.containsKey(c.path("key"))) {
      throw new InvalidInputException("Request body and URI mismatch");
    }
    deps.flavors().putExtraSpecs(c.path("id"), specs);
    c.ctx().json(specs);
  }

  private void deleteSpec(ComputeRoutes.Call c) {
    Policy.requireAdmin(c.auth(), "os_compute_api:os-flavor-extra-specs:delete");
    deps.flavors().deleteExtraSpec(c.path("id"), c.path("key"));
    c.ctx().status(202);
  }
}
