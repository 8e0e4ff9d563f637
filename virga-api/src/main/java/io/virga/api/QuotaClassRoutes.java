package io.virga.api;

import static io.virga.api.ComputeRoutes.ROOT;
import static io.virga.api.ComputeRoutes.authed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.router.JavalinDefaultRouting;
import io.virga.core.InvalidInputException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Nova's os-quota-class-sets (admin): the {@code default} class is the quota every project starts
 * from, so showing it shows the defaults and updating it changes them. Nova answers the defaults
 * for any class name; only {@code default} can be updated here. Below 2.50 the network quotas
 * appear (always -1: Virga has no networking) and the server group ones do not; from 2.57 the
 * injected-file quotas are gone.
 */
final class QuotaClassRoutes {
  private static final List<String> NETWORK =
      List.of("fixed_ips", "floating_ips", "security_group_rules", "security_groups");
  private static final List<String> INJECTED =
      List.of("injected_file_content_bytes", "injected_file_path_bytes", "injected_files");
  private static final List<String> BASE =
      List.of("cores", "instances", "key_pairs", "metadata_items", "ram");
  private static final List<String> GROUPS = List.of("server_group_members", "server_groups");

  private final ComputeDeps deps;

  QuotaClassRoutes(ComputeDeps deps) {
    this.deps = deps;
  }

  void register(JavalinDefaultRouting r) {
    r.get(ROOT + "/os-quota-class-sets/{id}", authed(this::show));
    r.put(ROOT + "/os-quota-class-sets/{id}", authed(this::update));
  }

  /** The resources a class shows at this microversion. */
  static List<String> resources(Microversion v) {
    List<String> out = new java.util.ArrayList<>(BASE);
    if (!v.atLeast(2, 57)) {
      out.addAll(INJECTED);
    }
    if (v.atLeast(2, 50)) {
      out.addAll(GROUPS);
    } else {
      out.addAll(NETWORK);
    }
    return out;
  }

  private Map<String, Object> view(Microversion v) {
    Map<String, Long> defaults = deps.quotas().defaults();
    Map<String, Object> m = new LinkedHashMap<>();
    for (String r : resources(v)) {
      m.put(r, NETWORK.contains(r) ? -1L : defaults.getOrDefault(r, -1L));
    }
    return m;
  }

  private void show(ComputeRoutes.Call c) {
    Policy.requireAdmin(c.auth(), "os_compute_api:os-quota-class-sets:show");
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", c.path("id"));
    m.putAll(view(c.version()));
    c.ctx().json(Map.of("quota_class_set", m));
  }

  private void update(ComputeRoutes.Call c) {
    Policy.requireAdmin(c.auth(), "os_compute_api:os-quota-class-sets:update");
    if (!c.path("id").equals("default")) {
      throw new InvalidInputException(
          "Only the 'default' quota class is used; update it to change every project's defaults");
    }
    ObjectNode q = ApiJson.requireObject(ApiJson.object(c.ctx()), "quota_class_set");
    List<String> allowed = resources(c.version());
    Map<String, Long> set = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = q.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String k = e.getKey();
      if (!allowed.contains(k)) {
        throw new InvalidInputException(
            "Invalid input for field/attribute quota_class_set. Additional properties are not"
                + " allowed ('"
                + k
                + "' was unexpected)");
      }
      long n = QuotaRoutes.limit(k, e.getValue());
      if (!NETWORK.contains(k)) {
        set.put(k, n);
      }
    }
    deps.quotas().setDefaults(set);
    c.ctx().json(Map.of("quota_class_set", view(c.version())));
  }
}
