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
import io.virga.db.IdentityRepository;
import io.virga.db.IdentityRepository.Project;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keystone v3 projects and the one domain, with Keystone's default policies: an admin lists,
 * creates, updates and deletes projects; a token scoped to a project may show that project; a user
 * lists their own projects. A project that still owns servers or images is not deleted (409).
 */
final class IdentityProjectRoutes implements ApiServer.RouteGroup {
  private static final Logger LOG = LoggerFactory.getLogger(IdentityProjectRoutes.class);

  /** Keystone's project name limit. */
  static final int PROJECT_NAME_MAX = 64;

  private final IdentityRepository repo;
  private final IdentityAdminRepository admin;

  IdentityProjectRoutes(IdentityService identity, Database db) {
    this.repo = identity.repository();
    this.admin = new IdentityAdminRepository(db);
  }

  @Override
  public void register(JavalinDefaultRouting r) {
    r.get("/identity/v3/projects", this::list);
    r.post("/identity/v3/projects", this::create);
    r.get("/identity/v3/projects/{id}", this::show);
    r.patch("/identity/v3/projects/{id}", this::update);
    r.delete("/identity/v3/projects/{id}", this::delete);
    r.get("/identity/v3/auth/projects", this::authProjects, ApiServer.Access.UNSCOPED);
    r.get("/identity/v3/users/{id}/projects", this::userProjects, ApiServer.Access.UNSCOPED);
    r.get("/identity/v3/domains", this::listDomains);
    r.get("/identity/v3/domains/{id}", this::showDomain);
  }

  private void respond(Context ctx, List<Project> projects) {
    Optional<String> name = Optional.ofNullable(ctx.queryParam("name"));
    Optional<Boolean> enabled =
        Optional.ofNullable(ctx.queryParam("enabled")).map(IdentityProjectRoutes::queryBool);
    Optional<String> domain = Optional.ofNullable(ctx.queryParam("domain_id"));
    ArrayNode arr = ApiJson.MAPPER.createArrayNode();
    projects.stream()
        .filter(p -> name.map(p.name()::equals).orElse(true))
        .filter(p -> enabled.map(e -> e == p.enabled()).orElse(true))
        .filter(p -> domain.map(p.domainId()::equals).orElse(true))
        .forEach(p -> arr.add(IdentityViews.project(ctx, p)));
    ctx.json(IdentityViews.list(ctx, "projects", arr));
  }

  /** Keystone's query booleans: "0"/"false" (any case) are false, everything else true. */
  static boolean queryBool(String v) {
    return !(v.equals("0") || v.equalsIgnoreCase("false"));
  }

  private void list(Context ctx) {
    Policy.requireAdmin(AuthContext.of(ctx), "identity:list_projects");
    respond(ctx, repo.listProjects());
  }

  private void authProjects(Context ctx) {
    respond(ctx, enabledOnly(repo.listProjectsOfUser(AuthContext.of(ctx).userId())));
  }

  private static List<Project> enabledOnly(List<Project> projects) {
    return projects.stream().filter(Project::enabled).toList();
  }

  private void userProjects(Context ctx) {
    AuthContext auth = AuthContext.of(ctx);
    String userId = ctx.pathParam("id");
    if (!auth.isAdmin() && !auth.userId().equals(userId)) {
      throw new ForbiddenException("You are not authorized to list another user's projects.");
    }
    respond(ctx, repo.listProjectsOfUser(userId));
  }

  Project find(String id) {
    return repo.findProject(id)
        .orElseThrow(() -> new NotFoundException("Could not find project: " + id + "."));
  }

  private void show(Context ctx) {
    AuthContext auth = AuthContext.of(ctx);
    String id = ctx.pathParam("id");
    if (!auth.isAdmin() && !auth.projectId().map(id::equals).orElse(false)) {
      // Keystone answers 403 before looking: the caller learns nothing about other projects
      throw new ForbiddenException(
          "You are not authorized to perform the requested action: identity:get_project.");
    }
    ctx.json(IdentityViews.wrap("project", IdentityViews.project(ctx, find(id))));
  }

  private void create(Context ctx) {
    Policy.requireAdmin(AuthContext.of(ctx), "identity:create_project");
    ObjectNode body = ApiJson.requireObject(ApiJson.object(ctx), "project");
    String name =
        IdentityViews.optName(body, PROJECT_NAME_MAX)
            .orElseThrow(() -> new InvalidInputException("'name' is a required property"));
    if (ApiJson.optBoolean(body, "is_domain").orElse(false)) {
      throw new InvalidInputException("Projects acting as domains are not supported.");
    }
    String domain = IdentityViews.domainId(body);
    ApiJson.optString(body, "parent_id")
        .filter(p -> !p.equals(domain))
        .ifPresent(
            p -> {
              throw new InvalidInputException("Project hierarchies are not supported.");
            });
    if (repo.findProjectByName(domain, name).isPresent()) {
      throw duplicate(name);
    }
    Project p =
        new Project(
            UUID.randomUUID().toString().replace("-", ""),
            name,
            domain,
            ApiJson.optString(body, "description").orElse(""),
            ApiJson.optBoolean(body, "enabled").orElse(true),
            Database.now());
    try {
      repo.createProject(p);
    } catch (RuntimeException e) {
      if (repo.findProjectByName(domain, name).isPresent()) {
        throw duplicate(name); // lost a race with a concurrent create of the same name
      }
      throw e;
    }
    LOG.info("created project {} ({})", name, p.id());
    ctx.status(201).json(IdentityViews.wrap("project", IdentityViews.project(ctx, p)));
  }

  private static ConflictException duplicate(String name) {
    return new ConflictException(
        "Conflict occurred attempting to store project - it is not permitted to have two projects"
            + " with the same name in the same domain : "
            + name
            + ".");
  }

  private void update(Context ctx) {
    Policy.requireAdmin(AuthContext.of(ctx), "identity:update_project");
    Project old = find(ctx.pathParam("id"));
    ObjectNode body = ApiJson.requireObject(ApiJson.object(ctx), "project");
    if (body.has("domain_id") && !old.domainId().equals(body.get("domain_id").asText())) {
      throw new InvalidInputException("Update of the domain_id of a project is not allowed.");
    }
    String name = IdentityViews.optName(body, PROJECT_NAME_MAX).orElse(old.name());
    if (!name.equals(old.name()) && repo.findProjectByName(old.domainId(), name).isPresent()) {
      throw duplicate(name);
    }
    Project p =
        new Project(
            old.id(),
            name,
            old.domainId(),
            ApiJson.optString(body, "description").orElse(old.description()),
            ApiJson.optBoolean(body, "enabled").orElse(old.enabled()),
            old.createdAt());
    admin.updateProject(p);
    if (old.enabled() && !p.enabled()) {
      LOG.info("disabled project {} ({}): its tokens stop working", p.name(), p.id());
    }
    ctx.json(IdentityViews.wrap("project", IdentityViews.project(ctx, p)));
  }

  private void delete(Context ctx) {
    Policy.requireAdmin(AuthContext.of(ctx), "identity:delete_project");
    Project p = find(ctx.pathParam("id"));
    IdentityAdminRepository.Owned owned = admin.deleteProjectIfEmpty(p.id());
    if (owned.any()) {
      throw new ConflictException(
          "Project "
              + p.name()
              + " ("
              + p.id()
              + ") still owns "
              + owned.servers()
              + " server(s) and "
              + owned.images()
              + " image(s); delete them (or move the images to another owner) first.");
    }
    LOG.info("deleted project {} ({})", p.name(), p.id());
    ctx.status(204);
  }

  private void listDomains(Context ctx) {
    Policy.requireAdmin(AuthContext.of(ctx), "identity:list_domains");
    ArrayNode arr = ApiJson.MAPPER.createArrayNode();
    Optional<String> name = Optional.ofNullable(ctx.queryParam("name"));
    if (name.map(IdentityService.DEFAULT_DOMAIN_NAME::equals).orElse(true)) {
      arr.add(IdentityViews.domain(ctx));
    }
    ctx.json(IdentityViews.list(ctx, "domains", arr));
  }

  /** Any token scoped to a project of the domain may show it (Keystone's get_domain). */
  private void showDomain(Context ctx) {
    String id = ctx.pathParam("id");
    if (!id.equals(IdentityService.DEFAULT_DOMAIN_ID)) {
      throw new NotFoundException("Could not find domain: " + id + ".");
    }
    ctx.json(IdentityViews.wrap("domain", IdentityViews.domain(ctx)));
  }
}
