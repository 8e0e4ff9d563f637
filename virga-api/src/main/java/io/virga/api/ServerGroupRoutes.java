package io.virga.api;

import static io.virga.api.ComputeRoutes.ROOT;
import static io.virga.api.ComputeRoutes.authed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.router.JavalinDefaultRouting;
import io.virga.core.InvalidInputException;
import io.virga.core.NotFoundException;
import io.virga.core.QuotaExceededException;
import io.virga.db.ServerGroupRepository;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * /os-server-groups: create (policies list before 2.64, one policy with rules from 2.64), list
 * (all_projects for admins), show, delete. Members join at boot through the {@code group} scheduler
 * hint ({@link #memberOf}); the scheduler honours the policy when it claims a host.
 */
final class ServerGroupRoutes {
  private final ComputeDeps deps;
  private final ServerGroupRepository groups;

  ServerGroupRoutes(ComputeDeps deps) {
    this.deps = deps;
    this.groups = deps.hosts().serverGroups();
  }

  void register(JavalinDefaultRouting r) {
    r.get(ROOT + "/os-server-groups", authed(this::list));
    r.post(ROOT + "/os-server-groups", authed(this::create));
    r.get(ROOT + "/os-server-groups/{id}", authed(this::show));
    r.delete(ROOT + "/os-server-groups/{id}", authed(this::delete));
  }

  private void create(ComputeRoutes.Call c) {
    ObjectNode g = ApiJson.requireObject(ApiJson.object(c.ctx()), "server_group");
    boolean v264 = c.version().atLeast(2, 64);
    for (var it = g.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      if (!(k.equals("name")
          || (v264 ? k.equals("policy") || k.equals("rules") : k.equals("policies")))) {
        throw new InvalidInputException(
            "Invalid input for field/attribute server_group. Additional properties are not"
                + " allowed ('"
                + k
                + "' was unexpected)");
      }
    }
    String name = ApiJson.requireString(g, "name");
    if (name.isEmpty() || name.length() > 255 || !name.strip().equals(name)) {
      throw new InvalidInputException("Invalid input for field/attribute name");
    }
    String policy;
    Optional<Integer> maxPerHost = Optional.empty();
    if (v264) {
      policy = ApiJson.requireString(g, "policy");
      maxPerHost = rules(g.get("rules"), policy);
    } else {
      JsonNode p = g.get("policies");
      if (p == null || !p.isArray() || p.size() != 1 || !p.get(0).isTextual()) {
        throw new InvalidInputException(
            "Invalid input for field/attribute policies: exactly one policy is required");
      }
      policy = p.get(0).textValue();
    }
    if (!ServerGroupPolicy.POLICIES.contains(policy)) {
      throw new InvalidInputException(
          "Invalid input for field/attribute policy. Value: "
              + policy
              + ". It is not one of "
              + ServerGroupPolicy.POLICIES);
    }
    String project = c.auth().project();
    long limit = deps.quotas().limits(project).getOrDefault("server_groups", 10L);
    if (limit >= 0 && groups.list(Optional.of(project)).size() >= limit) {
      throw new QuotaExceededException("Quota exceeded, too many server groups.");
    }
    ServerGroupRepository.Group created =
        groups.create(name, project, c.auth().userId(), policy, maxPerHost);
    c.ctx().json(Map.of("server_group", view(c, created)));
  }

  private static Optional<Integer> rules(JsonNode rules, String policy) {
    if (rules == null || rules.isNull() || rules.isEmpty()) {
      return Optional.empty();
    }
    if (!rules.isObject() || !policy.equals("anti-affinity")) {
      throw new InvalidInputException("Only anti-affinity policy supports rules.");
    }
    for (var it = rules.fieldNames(); it.hasNext(); ) {
      if (!it.next().equals("max_server_per_host")) {
        throw new InvalidInputException("The only rule is max_server_per_host");
      }
    }
    JsonNode m = rules.get("max_server_per_host");
    if (!(m.isIntegralNumber() || m.isTextual() && m.textValue().matches("^[0-9]{1,9}$"))
        || m.asInt() < 1) {
      throw new InvalidInputException("max_server_per_host must be a positive integer");
    }
    return Optional.of(m.asInt());
  }

  private void list(ComputeRoutes.Call c) {
    boolean all = c.auth().isAdmin() && ServerRoutes.truthy(c.ctx().queryParam("all_projects"));
    List<Map<String, Object>> out = new ArrayList<>();
    for (ServerGroupRepository.Group g :
        groups.list(all ? Optional.empty() : Optional.of(c.auth().project()))) {
      out.add(view(c, g));
    }
    c.ctx().json(Map.of("server_groups", out));
  }

  private ServerGroupRepository.Group visible(ComputeRoutes.Call c, String uuid) {
    ServerGroupRepository.Group g = groups.get(uuid);
    if (!Policy.mayAccess(c.auth(), g.projectId())) {
      throw new NotFoundException("Instance group " + uuid + " could not be found.");
    }
    return g;
  }

  private void show(ComputeRoutes.Call c) {
    c.ctx().json(Map.of("server_group", view(c, visible(c, c.path("id")))));
  }

  private void delete(ComputeRoutes.Call c) {
    groups.delete(visible(c, c.path("id")).uuid());
    c.ctx().status(204);
  }

  /**
   * The group a boot names in its {@code group} scheduler hint: it must exist and be visible, and
   * take {@code count} more members within the server_group_members quota.
   */
  static Optional<ServerGroupRepository.Group> memberOf(
      ComputeDeps deps, AuthContext caller, ObjectNode body, int count) {
    JsonNode hints = body.get("os:scheduler_hints");
    if (hints == null) {
      hints = body.get("OS-SCH-HNT:scheduler_hints");
    }
    if (hints == null || hints.isNull()) {
      return Optional.empty();
    }
    if (!hints.isObject()) {
      throw new InvalidInputException("os:scheduler_hints must be an object");
    }
    JsonNode group = hints.get("group");
    if (group == null || group.isNull()) {
      return Optional.empty();
    }
    if (!group.isTextual()) {
      throw new InvalidInputException("The group scheduler hint must be a server group's id");
    }
    ServerGroupRepository.Group g =
        deps.hosts()
            .serverGroups()
            .find(group.textValue())
            .filter(x -> Policy.mayAccess(caller, x.projectId()))
            .orElseThrow(
                () ->
                    new InvalidInputException(
                        "Invalid server group " + group.textValue() + ": not found"));
    long limit = deps.quotas().limits(g.projectId()).getOrDefault("server_group_members", 10L);
    if (limit >= 0 && g.members().size() + count > limit) {
      throw new QuotaExceededException("Quota exceeded, too many servers in group");
    }
    return Optional.of(g);
  }

  private static Map<String, Object> view(ComputeRoutes.Call c, ServerGroupRepository.Group g) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", g.uuid());
    m.put("name", g.name());
    if (c.version().atLeast(2, 64)) {
      m.put("policy", g.policy());
      Map<String, Object> rules = new LinkedHashMap<>();
      g.maxServerPerHost().ifPresent(x -> rules.put("max_server_per_host", x));
      m.put("rules", rules);
    } else {
      m.put("policies", List.of(g.policy()));
      m.put("metadata", Map.of());
    }
    m.put("members", g.members());
    m.put("project_id", g.projectId());
    if (c.version().atLeast(2, 13)) {
      m.put("user_id", g.userId());
    }
    return m;
  }
}
