package io.virga.api;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import io.javalin.router.JavalinDefaultRouting;
import io.virga.core.ConflictException;
import io.virga.core.ForbiddenException;
import io.virga.core.InvalidInputException;
import io.virga.core.NotFoundException;
import io.virga.db.Database;
import io.virga.db.IdentityAdminRepository;
import io.virga.db.IdentityAdminRepository.Assignment;
import io.virga.db.IdentityRepository;
import io.virga.db.IdentityRepository.Role;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keystone v3 roles and project role assignments (grants), admin only as in Keystone's defaults:
 * {@code openstack role create/delete/list/show}, {@code role add/remove --user --project}, {@code
 * role assignment list}. The standard roles admin, member and reader cannot be deleted.
 */
final class IdentityRoleRoutes implements ApiServer.RouteGroup {
  private static final Logger LOG = LoggerFactory.getLogger(IdentityRoleRoutes.class);
  private static final String GRANT = "/identity/v3/projects/{project}/users/{user}/roles";

  private final IdentityService identity;
  private final IdentityRepository repo;
  private final IdentityAdminRepository admin;

  IdentityRoleRoutes(IdentityService identity, Database db) {
    this.identity = identity;
    this.repo = identity.repository();
    this.admin = new IdentityAdminRepository(db);
  }

  @Override
  public void register(JavalinDefaultRouting r) {
    r.get("/identity/v3/roles", this::list);
    r.post("/identity/v3/roles", this::create);
    r.get("/identity/v3/roles/{id}", this::show);
    r.delete("/identity/v3/roles/{id}", this::delete);
    r.get(GRANT, this::listGrants);
    r.put(GRANT + "/{role}", this::grant);
    r.get(GRANT + "/{role}", this::checkGrant);
    r.head(GRANT + "/{role}", this::checkGrant);
    r.delete(GRANT + "/{role}", this::revokeGrant);
    r.get("/identity/v3/role_assignments", this::assignments);
  }

  private Role find(String id) {
    return admin
        .findRole(id)
        .orElseThrow(() -> new NotFoundException("Could not find role: " + id + "."));
  }

  private void list(Context ctx) {
    Policy.requireAdmin(AuthContext.of(ctx), "identity:list_roles");
    Optional<String> name = Optional.ofNullable(ctx.queryParam("name"));
    ArrayNode arr = ApiJson.MAPPER.createArrayNode();
    repo.listRoles().stream()
        .filter(r -> name.map(r.name()::equals).orElse(true))
        .forEach(r -> arr.add(IdentityViews.role(ctx, r)));
    ctx.json(IdentityViews.list(ctx, "roles", arr));
  }

  private void show(Context ctx) {
    Policy.requireAdmin(AuthContext.of(ctx), "identity:get_role");
    ctx.json(IdentityViews.wrap("role", IdentityViews.role(ctx, find(ctx.pathParam("id")))));
  }

  private void create(Context ctx) {
    Policy.requireAdmin(AuthContext.of(ctx), "identity:create_role");
    ObjectNode body = ApiJson.requireObject(ApiJson.object(ctx), "role");
    String name =
        IdentityViews.optName(body, 255)
            .orElseThrow(() -> new InvalidInputException("'name' is a required property"));
    if (body.hasNonNull("domain_id")) {
      throw new InvalidInputException("Domain-specific roles are not supported.");
    }
    if (repo.findRoleByName(name).isPresent()) {
      throw new ConflictException(
          "Conflict occurred attempting to store role - Duplicate entry found with name "
              + name
              + ".");
    }
    Role role = new Role(UUID.randomUUID().toString().replace("-", ""), name);
    repo.createRole(role);
    LOG.info("created role {} ({})", name, role.id());
    ctx.status(201).json(IdentityViews.wrap("role", IdentityViews.role(ctx, role)));
  }

  private void delete(Context ctx) {
    Policy.requireAdmin(AuthContext.of(ctx), "identity:delete_role");
    Role role = find(ctx.pathParam("id"));
    if (IdentityService.STANDARD_ROLES.contains(role.name())) {
      throw new ForbiddenException(
          "The role " + role.name() + " is one of Virga's policy roles and cannot be deleted.");
    }
    admin.deleteRole(role.id());
    LOG.info("deleted role {} ({})", role.name(), role.id());
    ctx.status(204);
  }

  /** The grant's user, project and role, each 404 when it does not exist. */
  private record Target(String userId, String projectId, Role role) {}

  private Target target(Context ctx, boolean withRole) {
    String user = ctx.pathParam("user");
    String project = ctx.pathParam("project");
    repo.findUser(user)
        .orElseThrow(() -> new NotFoundException("Could not find user: " + user + "."));
    repo.findProject(project)
        .orElseThrow(() -> new NotFoundException("Could not find project: " + project + "."));
    return new Target(user, project, withRole ? find(ctx.pathParam("role")) : null);
  }

  private void listGrants(Context ctx) {
    Policy.requireAdmin(AuthContext.of(ctx), "identity:list_grants");
    Target t = target(ctx, false);
    ArrayNode arr = ApiJson.MAPPER.createArrayNode();
    repo.rolesOf(t.userId(), t.projectId()).forEach(r -> arr.add(IdentityViews.role(ctx, r)));
    ctx.json(IdentityViews.list(ctx, "roles", arr));
  }

  private void grant(Context ctx) {
    Policy.requireAdmin(AuthContext.of(ctx), "identity:create_grant");
    Target t = target(ctx, true);
    if (repo.assignRole(t.userId(), t.projectId(), t.role().id())) {
      LOG.info(
          "granted role {} to user {} on project {}", t.role().name(), t.userId(), t.projectId());
    }
    ctx.status(204);
  }

  private void checkGrant(Context ctx) {
    Policy.requireAdmin(AuthContext.of(ctx), "identity:check_grant");
    Target t = target(ctx, true);
    boolean held =
        repo.rolesOf(t.userId(), t.projectId()).stream()
            .anyMatch(r -> r.id().equals(t.role().id()));
    if (!held) {
      throw new NotFoundException(
          "Could not find role assignment with role: "
              + t.role().id()
              + ", user or group: "
              + t.userId()
              + ", project, domain, or system: "
              + t.projectId()
              + ".");
    }
    ctx.status(204);
  }

  private void revokeGrant(Context ctx) {
    Policy.requireAdmin(AuthContext.of(ctx), "identity:revoke_grant");
    Target t = target(ctx, true);
    if (!admin.unassignRole(t.userId(), t.projectId(), t.role().id())) {
      throw new NotFoundException(
          "Could not find role assignment with role: " + t.role().id() + ".");
    }
    LOG.info(
        "revoked role {} of user {} on project {}", t.role().name(), t.userId(), t.projectId());
    ctx.status(204);
  }

  /** {@code GET /v3/role_assignments?user.id=&scope.project.id=&role.id=&include_names}. */
  private void assignments(Context ctx) {
    AuthContext auth = AuthContext.of(ctx);
    Optional<String> user = Optional.ofNullable(ctx.queryParam("user.id"));
    // Keystone lets a user list their own assignments; everything else is the admin's
    if (!auth.isAdmin() && !user.map(auth.userId()::equals).orElse(false)) {
      throw new ForbiddenException(
          "You are not authorized to perform the requested action: identity:list_role_assignments.");
    }
    if (ctx.queryParam("group.id") != null
        || ctx.queryParam("scope.domain.id") != null
        || ctx.queryParam("scope.system") != null) {
      ctx.json(IdentityViews.list(ctx, "role_assignments", ApiJson.MAPPER.createArrayNode()));
      return;
    }
    boolean names =
        Optional.ofNullable(ctx.queryParam("include_names"))
            .map(IdentityProjectRoutes::queryBool)
            .orElse(false);
    Map<String, String> roleNames = new HashMap<>();
    repo.listRoles().forEach(r -> roleNames.put(r.id(), r.name()));
    ArrayNode arr = ApiJson.MAPPER.createArrayNode();
    for (Assignment a :
        admin.assignments(
            user,
            Optional.ofNullable(ctx.queryParam("scope.project.id")),
            Optional.ofNullable(ctx.queryParam("role.id")))) {
      arr.add(assignment(ctx, a, names ? Optional.of(roleNames) : Optional.empty()));
    }
    ctx.json(IdentityViews.list(ctx, "role_assignments", arr));
  }

  private ObjectNode assignment(
      Context ctx, Assignment a, Optional<Map<String, String>> roleNames) {
    ObjectNode n = ApiJson.MAPPER.createObjectNode();
    ObjectNode role = n.putObject("role").put("id", a.roleId());
    ObjectNode user = n.putObject("user").put("id", a.userId());
    ObjectNode project = n.putObject("scope").putObject("project").put("id", a.projectId());
    if (roleNames.isPresent()) {
      role.put("name", roleNames.get().getOrDefault(a.roleId(), a.roleId()));
      repo.findUser(a.userId()).ifPresent(u -> user.put("name", u.name()));
      repo.findProject(a.projectId()).ifPresent(p -> project.put("name", p.name()));
      ObjectNode domain = ApiJson.MAPPER.createObjectNode();
      domain
          .put("id", IdentityService.DEFAULT_DOMAIN_ID)
          .put("name", IdentityService.DEFAULT_DOMAIN_NAME);
      user.set("domain", domain);
      project.set("domain", domain.deepCopy());
    }
    n.putObject("links")
        .put(
            "assignment",
            IdentityViews.base(ctx)
                + "/projects/"
                + a.projectId()
                + "/users/"
                + a.userId()
                + "/roles/"
                + a.roleId());
    return n;
  }
}
