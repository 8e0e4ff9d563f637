package io.virga.api;

import static io.virga.api.ComputeRoutes.ROOT;
import static io.virga.api.ComputeRoutes.authed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.router.JavalinDefaultRouting;
import io.virga.core.ForbiddenException;
import io.virga.core.InvalidInputException;
import io.virga.db.InstanceRepository;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** /limits and /os-quota-sets. */
final class QuotaRoutes {
  /** Quota resources in the order Nova shows them (network ones only below 2.36, always -1). */
  private static final List<String> RESOURCES =
      List.of(
          "cores",
          "injected_file_content_bytes",
          "injected_file_path_bytes",
          "injected_files",
          "instances",
          "key_pairs",
          "metadata_items",
          "ram",
          "server_group_members",
          "server_groups");

  private static final List<String> NETWORK =
      List.of("fixed_ips", "floating_ips", "security_group_rules", "security_groups");

  private final ComputeDeps deps;

  QuotaRoutes(ComputeDeps deps) {
    this.deps = deps;
  }

  void register(JavalinDefaultRouting r) {
    r.get(ROOT + "/limits", authed(this::limits));
    r.get(ROOT + "/os-quota-sets/{project}", authed(c -> show(c, false)));
    r.get(ROOT + "/os-quota-sets/{project}/detail", authed(c -> show(c, true)));
    r.get(ROOT + "/os-quota-sets/{project}/defaults", authed(this::defaults));
    r.put(ROOT + "/os-quota-sets/{project}", authed(this::update));
    r.delete(ROOT + "/os-quota-sets/{project}", authed(this::reset));
  }

  private String project(ComputeRoutes.Call c, String asked) {
    if (!asked.equals(c.auth().project()) && !c.auth().isAdmin()) {
      throw new ForbiddenException(
          "Policy doesn't allow os_compute_api:os-quota-sets:show to be performed.");
    }
    return asked;
  }

  private void limits(ComputeRoutes.Call c) {
    String project = c.auth().project();
    String asked = c.ctx().queryParam("tenant_id");
    if (asked != null) {
      project = project(c, asked);
    }
    Map<String, Long> l = deps.quotas().limits(project);
    InstanceRepository.Usage u = deps.instances().projectUsage(project);
    Map<String, Object> a = new LinkedHashMap<>();
    if (!c.version().atLeast(2, 39)) {
      a.put("maxImageMeta", l.get("metadata_items"));
    }
    if (!c.version().atLeast(2, 57)) {
      // 2.57 removed personality files
      a.put("maxPersonality", l.get("injected_files"));
      a.put("maxPersonalitySize", l.get("injected_file_content_bytes"));
    }
    if (!c.version().atLeast(2, 36)) {
      a.put("maxSecurityGroupRules", -1);
      a.put("maxSecurityGroups", -1);
      a.put("maxTotalFloatingIps", -1);
    }
    a.put("maxServerMeta", l.get("metadata_items"));
    a.put("maxTotalCores", l.get("cores"));
    a.put("maxTotalInstances", l.get("instances"));
    a.put("maxTotalKeypairs", l.get("key_pairs"));
    a.put("maxTotalRAMSize", l.get("ram"));
    a.put("maxServerGroups", l.get("server_groups"));
    a.put("maxServerGroupMembers", l.get("server_group_members"));
    a.put("totalCoresUsed", u.cores());
    a.put("totalInstancesUsed", u.instances());
    a.put("totalRAMUsed", u.ramMb());
    if (!c.version().atLeast(2, 36)) {
      a.put("totalSecurityGroupsUsed", 0);
      a.put("totalFloatingIpsUsed", 0);
    }
    a.put("totalServerGroupsUsed", 0);
    c.ctx().json(Map.of("limits", Map.of("rate", List.of(), "absolute", a)));
  }

  private Map<String, Object> quotaSet(
      ComputeRoutes.Call c, Map<String, Long> limits, String project, boolean detail) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", project);
    InstanceRepository.Usage u = detail ? deps.instances().projectUsage(project) : null;
    for (String r : RESOURCES) {
      if (r.startsWith("injected_") && c.version().atLeast(2, 57)) {
        continue; // 2.57 removed the injected-file quotas
      }
      long limit = limits.getOrDefault(r, -1L);
      if (detail) {
        long used =
            switch (r) {
              case "cores" -> u.cores();
              case "instances" -> u.instances();
              case "ram" -> u.ramMb();
              case "key_pairs" -> 0;
              default -> 0;
            };
        m.put(r, Map.of("in_use", used, "limit", limit, "reserved", 0));
      } else {
        m.put(r, limit);
      }
    }
    if (!c.version().atLeast(2, 36)) {
      for (String r : NETWORK) {
        m.put(r, detail ? Map.of("in_use", 0, "limit", -1, "reserved", 0) : -1);
      }
    }
    return m;
  }

  private void show(ComputeRoutes.Call c, boolean detail) {
    String project = project(c, c.path("project"));
    c.ctx().json(Map.of("quota_set", quotaSet(c, deps.quotas().limits(project), project, detail)));
  }

  private void defaults(ComputeRoutes.Call c) {
    String project = c.path("project");
    c.ctx().json(Map.of("quota_set", quotaSet(c, deps.quotas().defaults(), project, false)));
  }

  private void update(ComputeRoutes.Call c) {
    Policy.requireAdmin(c.auth(), "os_compute_api:os-quota-sets:update");
    String project = c.path("project");
    ObjectNode q = ApiJson.requireObject(ApiJson.object(c.ctx()), "quota_set");
    Map<String, Long> set = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = q.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String k = e.getKey();
      if (k.equals("force")) {
        continue;
      }
      if (NETWORK.contains(k) && !c.version().atLeast(2, 36)) {
        continue;
      }
      if (!RESOURCES.contains(k) || k.startsWith("injected_") && c.version().atLeast(2, 57)) {
        throw new InvalidInputException(
            "Invalid input for field/attribute quota_set. Additional properties are not allowed ('"
                + k
                + "' was unexpected)");
      }
      set.put(k, limit(k, e.getValue()));
    }
    deps.quotas().set(project, set);
    Map<String, Object> out = quotaSet(c, deps.quotas().limits(project), project, false);
    out.remove("id");
    c.ctx().json(Map.of("quota_set", out));
  }

  /** Nova's quota limit type: an integer or a string of digits, at least -1 (unlimited). */
  static long limit(String k, JsonNode v) {
    long n;
    if (v.isIntegralNumber()) {
      n = v.longValue();
    } else if (v.isTextual() && v.textValue().matches("^-?[0-9]{1,18}$")) {
      n = Long.parseLong(v.textValue());
    } else {
      throw new InvalidInputException(
          "Invalid input for field/attribute "
              + k
              + ": must be an integer, not "
              + ApiJson.describe(v));
    }
    if (n < -1) {
      throw new InvalidInputException(
          "Invalid input for field/attribute " + k + ": " + n + " is less than the minimum of -1");
    }
    return n;
  }

  private void reset(ComputeRoutes.Call c) {
    Policy.requireAdmin(c.auth(), "os_compute_api:os-quota-sets:delete");
    deps.quotas().reset(c.path("project"));
    c.ctx().status(202);
  }
}
