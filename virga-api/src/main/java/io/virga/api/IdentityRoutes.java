package io.virga.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import io.javalin.router.JavalinDefaultRouting;
import io.virga.core.ForbiddenException;
import io.virga.core.InvalidInputException;
import io.virga.core.NotFoundException;
import io.virga.core.UnauthorizedException;
import io.virga.db.IdentityRepository.Project;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * Keystone v3 at {@code /identity}: version documents, tokens, the catalog, services and endpoints.
 * Projects, users and roles are {@link IdentityProjectRoutes}, {@link IdentityUserRoutes} and
 * {@link IdentityRoleRoutes}.
 */
final class IdentityRoutes implements ApiServer.RouteGroup {
  private static final DateTimeFormatter KEYSTONE_TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'").withZone(ZoneOffset.UTC);

  private final IdentityService identity;
  private final String region;

  IdentityRoutes(IdentityService identity, String region) {
    this.identity = identity;
    this.region = region;
  }

  @Override
  public void register(JavalinDefaultRouting r) {
    r.get("/identity", this::versions, ApiServer.Access.PUBLIC);
    r.get("/identity/v3", this::version, ApiServer.Access.PUBLIC);
    r.post("/identity/v3/auth/tokens", this::issue, ApiServer.Access.PUBLIC);
    r.get("/identity/v3/auth/tokens", this::check, ApiServer.Access.UNSCOPED);
    r.head("/identity/v3/auth/tokens", this::check, ApiServer.Access.UNSCOPED);
    r.delete("/identity/v3/auth/tokens", this::revoke, ApiServer.Access.UNSCOPED);
    r.get("/identity/v3/auth/catalog", this::catalog);
    r.get("/identity/v3/services", this::listServices);
    r.get("/identity/v3/endpoints", this::listEndpoints);
  }

  // ---- version documents

  private ObjectNode versionEntry(Context ctx) {
    ObjectNode v = ApiJson.MAPPER.createObjectNode();
    v.put("id", "v3.14");
    v.put("status", "stable");
    v.put("updated", "2020-04-07T00:00:00Z");
    ArrayNode links = v.putArray("links");
    links.addObject().put("rel", "self").put("href", ApiServer.publicUrl(ctx) + "/identity/v3/");
    ArrayNode media = v.putArray("media-types");
    media
        .addObject()
        .put("base", "application/json")
        .put("type", "application/vnd.openstack.identity-v3+json");
    return v;
  }

  private void versions(Context ctx) {
    ObjectNode root = ApiJson.MAPPER.createObjectNode();
    root.putObject("versions").putArray("values").add(versionEntry(ctx));
    ctx.status(300).json(root);
  }

  private void version(Context ctx) {
    ObjectNode root = ApiJson.MAPPER.createObjectNode();
    root.set("version", versionEntry(ctx));
    ctx.json(root);
  }

  // ---- tokens

  private void issue(Context ctx) {
    ObjectNode body = ApiJson.object(ctx);
    ObjectNode auth = ApiJson.requireObject(body, "auth");
    ObjectNode ident = ApiJson.requireObject(auth, "identity");
    JsonNode methods = ident.get("methods");
    if (methods == null || !methods.isArray()) {
      throw new InvalidInputException("'methods' is a required property and must be an array");
    }
    IdentityService.Token token;
    Optional<IdentityService.ProjectRef> scope = scope(auth);
    if (contains(methods, "password")) {
      ObjectNode user = ApiJson.requireObject(ApiJson.requireObject(ident, "password"), "user");
      IdentityService.UserRef ref =
          new IdentityService.UserRef(
              ApiJson.optString(user, "id"), ApiJson.optString(user, "name"), domainOf(user));
      if (ref.id().isEmpty() && ref.name().isEmpty()) {
        throw new InvalidInputException("user requires an 'id' or a 'name'");
      }
      token = identity.authenticate(ref, ApiJson.requireString(user, "password"), scope);
    } else if (contains(methods, "token")) {
      // re-scoping: a valid token buys a token for another project of the same user
      String existing = ApiJson.requireString(ApiJson.requireObject(ident, "token"), "id");
      token = identity.rescope(existing, scope);
    } else {
      throw new UnauthorizedException(
          "Unsupported authentication method: 'password' and 'token' are available");
    }
    ctx.header("X-Subject-Token", token.id());
    ctx.status(201).json(tokenBody(ctx, token, ctx.queryParam("nocatalog") == null));
  }

  private static boolean contains(JsonNode array, String value) {
    for (JsonNode n : array) {
      if (value.equals(n.asText())) {
        return true;
      }
    }
    return false;
  }

  private static Optional<String> domainOf(JsonNode holder) {
    JsonNode d = holder.get("domain");
    if (d == null || d.isNull()) {
      return Optional.empty();
    }
    if (!d.isObject()) {
      throw new InvalidInputException("'domain' must be an object");
    }
    return ApiJson.optString(d, "id").or(() -> ApiJson.optString(d, "name"));
  }

  private static Optional<IdentityService.ProjectRef> scope(JsonNode auth) {
    JsonNode scope = auth.get("scope");
    if (scope == null
        || scope.isNull()
        || (scope.isTextual() && scope.asText().equals("unscoped"))) {
      return Optional.empty();
    }
    if (!scope.isObject()) {
      throw new InvalidInputException("'scope' must be an object");
    }
    JsonNode project = scope.get("project");
    if (project == null) {
      if (scope.has("domain") || scope.has("system")) {
        throw new UnauthorizedException("Only project scope is supported");
      }
      return Optional.empty();
    }
    if (!project.isObject()) {
      throw new InvalidInputException("'project' must be an object");
    }
    IdentityService.ProjectRef ref =
        new IdentityService.ProjectRef(
            ApiJson.optString(project, "id"),
            ApiJson.optString(project, "name"),
            domainOf(project));
    if (ref.id().isEmpty() && ref.name().isEmpty()) {
      throw new InvalidInputException("project scope requires an 'id' or a 'name'");
    }
    return Optional.of(ref);
  }

  private void check(Context ctx) {
    IdentityService.Token subject = subject(ctx);
    ctx.header("X-Subject-Token", subject.id());
    if (ctx.method() == io.javalin.http.HandlerType.HEAD) {
      ctx.status(200);
    } else {
      ctx.json(tokenBody(ctx, subject, ctx.queryParam("nocatalog") == null));
    }
  }

  private void revoke(Context ctx) {
    IdentityService.Token subject = subject(ctx);
    identity.revoke(subject.id());
    ctx.status(204);
  }

  /** The X-Subject-Token's token; the caller may act on its own tokens, an admin on any. */
  private IdentityService.Token subject(Context ctx) {
    AuthContext caller = AuthContext.of(ctx);
    String subjectId = ctx.header("X-Subject-Token");
    if (subjectId == null || subjectId.isBlank()) {
      throw new InvalidInputException("X-Subject-Token header is required");
    }
    IdentityService.Token subject =
        identity
            .validate(subjectId.strip())
            .orElseThrow(
                () ->
                    new NotFoundException(
                        "Could not find token: the token is invalid or expired."));
    if (!caller.isAdmin() && !caller.userId().equals(subject.user().id())) {
      throw new ForbiddenException("You are not authorized to validate other users' tokens.");
    }
    return subject;
  }

  private ObjectNode tokenBody(Context ctx, IdentityService.Token t, boolean withCatalog) {
    ObjectNode root = ApiJson.MAPPER.createObjectNode();
    ObjectNode token = root.putObject("token");
    ArrayNode methods = token.putArray("methods");
    t.methods().forEach(methods::add);
    ObjectNode user = token.putObject("user");
    user.set("domain", defaultDomain());
    user.put("id", t.user().id());
    user.put("name", t.user().name());
    user.putNull("password_expires_at");
    token.putArray("audit_ids").add(t.auditId());
    token.put("expires_at", KEYSTONE_TIME.format(t.expiresAt()));
    token.put("issued_at", KEYSTONE_TIME.format(t.issuedAt()));
    if (t.project().isPresent()) {
      Project p = t.project().get();
      ObjectNode project = token.putObject("project");
      project.set("domain", defaultDomain());
      project.put("id", p.id());
      project.put("name", p.name());
      token.put("is_domain", false);
      ArrayNode roles = token.putArray("roles");
      t.roles().forEach(r -> roles.addObject().put("id", r.id()).put("name", r.name()));
      if (withCatalog) {
        token.set("catalog", catalogEntries(ctx));
      }
    }
    return root;
  }

  private static ObjectNode defaultDomain() {
    ObjectNode d = ApiJson.MAPPER.createObjectNode();
    d.put("id", IdentityService.DEFAULT_DOMAIN_ID);
    d.put("name", IdentityService.DEFAULT_DOMAIN_NAME);
    return d;
  }

  /** identity …/identity/v3, compute …/compute/v2.1 (versioned), image …/image (unversioned). */
  ArrayNode catalogEntries(Context ctx) {
    String base = ApiServer.publicUrl(ctx);
    ArrayNode catalog = ApiJson.MAPPER.createArrayNode();
    service(catalog, "identity", "keystone", base + "/identity/v3");
    service(catalog, "compute", "nova", base + "/compute/v2.1");
    service(catalog, "image", "glance", base + "/image");
    return catalog;
  }

  private void service(ArrayNode catalog, String type, String name, String url) {
    ObjectNode s = catalog.addObject();
    ArrayNode endpoints = s.putArray("endpoints");
    for (String iface : List.of("public", "internal", "admin")) {
      ObjectNode e = endpoints.addObject();
      e.put("id", stableId(type + "/" + iface));
      e.put("interface", iface);
      e.put("region_id", region);
      e.put("url", url);
      e.put("region", region);
    }
    s.put("id", stableId(type));
    s.put("type", type);
    s.put("name", name);
  }

  private static String stableId(String seed) {
    return UUID.nameUUIDFromBytes(
            ("virga/" + seed).getBytes(java.nio.charset.StandardCharsets.UTF_8))
        .toString()
        .replace("-", "");
  }

  private void catalog(Context ctx) {
    ObjectNode root = ApiJson.MAPPER.createObjectNode();
    root.set("catalog", catalogEntries(ctx));
    root.putObject("links").put("self", ApiServer.publicUrl(ctx) + "/identity/v3/auth/catalog");
    ctx.json(root);
  }

  /** The catalog's services, as {@code openstack service list} shows them (admin). */
  private void listServices(Context ctx) {
    Policy.requireAdmin(AuthContext.of(ctx), "identity:list_services");
    ObjectNode root = ApiJson.MAPPER.createObjectNode();
    ArrayNode arr = root.putArray("services");
    for (JsonNode s : catalogEntries(ctx)) {
      ObjectNode n = arr.addObject();
      n.put("id", s.get("id").asText());
      n.put("type", s.get("type").asText());
      n.put("name", s.get("name").asText());
      n.put("enabled", true);
      n.putObject("links")
          .put("self", ApiServer.publicUrl(ctx) + "/identity/v3/services/" + s.get("id").asText());
    }
    root.putObject("links")
        .put("self", ApiServer.publicUrl(ctx) + "/identity/v3/services")
        .putNull("next");
    ctx.json(root);
  }

  /** The catalog's endpoints, as {@code openstack endpoint list} shows them (admin). */
  private void listEndpoints(Context ctx) {
    Policy.requireAdmin(AuthContext.of(ctx), "identity:list_endpoints");
    ObjectNode root = ApiJson.MAPPER.createObjectNode();
    ArrayNode arr = root.putArray("endpoints");
    for (JsonNode s : catalogEntries(ctx)) {
      for (JsonNode e : s.get("endpoints")) {
        ObjectNode n = arr.addObject();
        n.put("id", e.get("id").asText());
        n.put("interface", e.get("interface").asText());
        n.put("region_id", region);
        n.put("region", region);
        n.put("url", e.get("url").asText());
        n.put("service_id", s.get("id").asText());
        n.put("enabled", true);
        n.putObject("links")
            .put(
                "self",
                ApiServer.publicUrl(ctx) + "/identity/v3/endpoints/" + e.get("id").asText());
      }
    }
    root.putObject("links")
        .put("self", ApiServer.publicUrl(ctx) + "/identity/v3/endpoints")
        .putNull("next");
    ctx.json(root);
  }

  static String isoTime(Instant t) {
    return KEYSTONE_TIME.format(t);
  }
}
