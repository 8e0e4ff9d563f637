package io.virga.api;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import io.javalin.router.JavalinDefaultRouting;
import io.virga.core.ConflictException;
import io.virga.core.ForbiddenException;
import io.virga.core.InvalidInputException;
import io.virga.core.NotFoundException;
import io.virga.core.UnauthorizedException;
import io.virga.db.Database;
import io.virga.db.IdentityAdminRepository;
import io.virga.db.IdentityAdminRepository.UserDetails;
import io.virga.db.IdentityRepository;
import io.virga.db.IdentityRepository.User;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keystone v3 users with its default policies: an admin lists, creates, updates (name, password,
 * enabled, default project, email, description) and deletes users; a user shows themself and
 * changes their own password with the original one. A disabled user cannot get a token and the
 * tokens they hold stop working; a password change or delete revokes the user's tokens. Passwords
 * are hashed ({@link Passwords}) and never logged.
 */
final class IdentityUserRoutes implements ApiServer.RouteGroup {
  private static final Logger LOG = LoggerFactory.getLogger(IdentityUserRoutes.class);
  static final int USER_NAME_MAX = 255;

  private final IdentityService identity;
  private final IdentityRepository repo;
  private final IdentityAdminRepository admin;

  IdentityUserRoutes(IdentityService identity, Database db) {
    this.identity = identity;
    this.repo = identity.repository();
    this.admin = new IdentityAdminRepository(db);
  }

  @Override
  public void register(JavalinDefaultRouting r) {
    r.get("/identity/v3/users", this::list);
    r.post("/identity/v3/users", this::create);
    r.get("/identity/v3/users/{id}", this::show, ApiServer.Access.UNSCOPED);
    r.patch("/identity/v3/users/{id}", this::update);
    r.delete("/identity/v3/users/{id}", this::delete);
    // Keystone lets this through without a token: the original password is the credential
    r.post("/identity/v3/users/{id}/password", this::changePassword, ApiServer.Access.PUBLIC);
  }

  private ObjectNode view(Context ctx, User u) {
    return IdentityViews.user(ctx, u, admin.userDetails(u.id()));
  }

  User find(String id) {
    return repo.findUser(id)
        .orElseThrow(() -> new NotFoundException("Could not find user: " + id + "."));
  }

  private void list(Context ctx) {
    Policy.requireAdmin(AuthContext.of(ctx), "identity:list_users");
    Optional<String> name = Optional.ofNullable(ctx.queryParam("name"));
    Optional<Boolean> enabled =
        Optional.ofNullable(ctx.queryParam("enabled")).map(IdentityProjectRoutes::queryBool);
    Optional<String> domain = Optional.ofNullable(ctx.queryParam("domain_id"));
    ArrayNode arr = ApiJson.MAPPER.createArrayNode();
    repo.listUsers().stream()
        .filter(u -> name.map(u.name()::equals).orElse(true))
        .filter(u -> enabled.map(e -> e == u.enabled()).orElse(true))
        .filter(u -> domain.map(u.domainId()::equals).orElse(true))
        .forEach(u -> arr.add(view(ctx, u)));
    ctx.json(IdentityViews.list(ctx, "users", arr));
  }

  private void show(Context ctx) {
    AuthContext auth = AuthContext.of(ctx);
    String id = ctx.pathParam("id");
    if (!auth.isAdmin() && !auth.userId().equals(id)) {
      throw new ForbiddenException(
          "You are not authorized to perform the requested action: identity:get_user.");
    }
    ctx.json(IdentityViews.wrap("user", view(ctx, find(id))));
  }

  private Optional<String> defaultProject(ObjectNode body) {
    Optional<String> p = ApiJson.optString(body, "default_project_id");
    p.ifPresent(
        id -> {
          if (repo.findProject(id).isEmpty()) {
            throw new InvalidInputException("Could not find project: " + id + ".");
          }
        });
    return p;
  }

  private static UserDetails details(ObjectNode body, UserDetails old) {
    return new UserDetails(
        ApiJson.optString(body, "description").or(old::description),
        ApiJson.optString(body, "email").or(old::email));
  }

  private void create(Context ctx) {
    Policy.requireAdmin(AuthContext.of(ctx), "identity:create_user");
    ObjectNode body = ApiJson.requireObject(ApiJson.object(ctx), "user");
    String name =
        IdentityViews.optName(body, USER_NAME_MAX)
            .orElseThrow(() -> new InvalidInputException("'name' is a required property"));
    String domain = IdentityViews.domainId(body);
    Optional<String> password = ApiJson.optString(body, "password");
    password.ifPresent(identity.passwords()::checkNew);
    if (repo.findUserByName(domain, name).isPresent()) {
      throw duplicate(name);
    }
    // a user without a password cannot log in until one is set, as in Keystone
    String hash = identity.hashPassword(password.orElse(UUID.randomUUID() + "-unusable"));
    User u =
        new User(
            UUID.randomUUID().toString().replace("-", ""),
            name,
            domain,
            hash,
            ApiJson.optBoolean(body, "enabled").orElse(true),
            defaultProject(body),
            Database.now());
    try {
      repo.createUser(u);
    } catch (RuntimeException e) {
      if (repo.findUserByName(domain, name).isPresent()) {
        throw duplicate(name);
      }
      throw e;
    }
    admin.updateUserDetails(
        u.id(), details(body, new UserDetails(Optional.empty(), Optional.empty())));
    LOG.info("created user {} ({})", name, u.id());
    ctx.status(201).json(IdentityViews.wrap("user", view(ctx, u)));
  }

  private static ConflictException duplicate(String name) {
    return new ConflictException(
        "Conflict occurred attempting to store user - Duplicate entry found with name "
            + name
            + " at domain ID "
            + IdentityService.DEFAULT_DOMAIN_ID
            + ".");
  }

  private void update(Context ctx) {
    Policy.requireAdmin(AuthContext.of(ctx), "identity:update_user");
    User old = find(ctx.pathParam("id"));
    ObjectNode body = ApiJson.requireObject(ApiJson.object(ctx), "user");
    if (body.has("domain_id") && !old.domainId().equals(body.get("domain_id").asText())) {
      throw new InvalidInputException("Update of the domain_id of a user is not allowed.");
    }
    String name = IdentityViews.optName(body, USER_NAME_MAX).orElse(old.name());
    if (!name.equals(old.name()) && repo.findUserByName(old.domainId(), name).isPresent()) {
      throw duplicate(name);
    }
    Optional<String> password = ApiJson.optString(body, "password");
    password.ifPresent(identity.passwords()::checkNew);
    Optional<String> defaultProject =
        body.has("default_project_id") && body.get("default_project_id").isNull()
            ? Optional.empty()
            : defaultProject(body).or(old::defaultProjectId);
    User u =
        new User(
            old.id(),
            name,
            old.domainId(),
            old.passwordHash(),
            ApiJson.optBoolean(body, "enabled").orElse(old.enabled()),
            defaultProject,
            old.createdAt());
    admin.updateUser(u);
    admin.updateUserDetails(u.id(), details(body, admin.userDetails(u.id())));
    if (password.isPresent()) {
      admin.changePassword(u.id(), identity.hashPassword(password.get()));
      LOG.info("set the password of user {} ({}); their tokens are revoked", u.name(), u.id());
    }
    if (old.enabled() && !u.enabled()) {
      LOG.info("disabled user {} ({}); their tokens are revoked", u.name(), u.id());
    }
    ctx.json(IdentityViews.wrap("user", view(ctx, u)));
  }

  private void delete(Context ctx) {
    AuthContext auth = AuthContext.of(ctx);
    Policy.requireAdmin(auth, "identity:delete_user");
    User u = find(ctx.pathParam("id"));
    if (u.id().equals(auth.userId())) {
      throw new ForbiddenException("You cannot delete the user you are logged in as.");
    }
    admin.deleteUser(u.id());
    LOG.info("deleted user {} ({})", u.name(), u.id());
    ctx.status(204);
  }

  /** {@code openstack user password set}: the user's own change, proven by the original. */
  private void changePassword(Context ctx) {
    String id = ctx.pathParam("id");
    ObjectNode body = ApiJson.requireObject(ApiJson.object(ctx), "user");
    String original = ApiJson.requireString(body, "original_password");
    String password = ApiJson.requireString(body, "password");
    Optional<User> u = repo.findUser(id).filter(User::enabled);
    boolean verified =
        identity
            .passwords()
            .verify(original, u.map(User::passwordHash).orElse(identity.dummyHash()));
    if (u.isEmpty() || !verified) {
      throw new UnauthorizedException("The request you have made requires authentication.");
    }
    identity.passwords().checkNew(password);
    admin.changePassword(id, identity.hashPassword(password));
    LOG.info("user {} ({}) changed their password; their tokens are revoked", u.get().name(), id);
    ctx.status(204);
  }
}
