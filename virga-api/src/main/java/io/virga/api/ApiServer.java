package io.virga.api;

import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import io.javalin.json.JavalinJackson;
import io.javalin.router.JavalinDefaultRouting;
import io.javalin.security.RouteRole;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.virga.core.Config;
import io.virga.core.UnauthorizedException;
import io.virga.db.Database;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Virga's one HTTP listener (Javalin on Jetty): identity at {@code /identity}, compute at {@code
 * /compute}, image at {@code /image}, Prometheus metrics at {@code /metrics}.
 *
 * <p>What every request gets, in one place: a request id ({@code X-Openstack-Request-Id:
 * req-<uuid>}, also in the logging MDC as {@code request_id}); the auth filter (a valid {@code
 * X-Auth-Token} scoped to a project, else 401 with a fault body; {@link AuthContext#of} in the
 * handler); reader-only tokens refused for anything but GET/HEAD (403); faults mapped once from
 * {@link io.virga.core.VirgaException#httpStatus()} by {@link ApiFaults}; unknown routes 404;
 * unexpected exceptions a logged {@code computeFault} 500, never Jetty's page; request count and
 * latency in {@code virga_api_requests_seconds}.
 *
 * <p>Adding routes (the compute side does this):
 *
 * <pre>{@code
 * ApiServer server = ApiServer.builder(config, database)
 *     .images(imageService)                       // image v2 routes
 *     .routes(routes -> {                          // a RouteGroup
 *       routes.get("/compute/v2.1", versionDoc, ApiServer.Access.PUBLIC);   // no token needed
 *       routes.get("/compute/v2.1/servers", ctx -> {
 *         Microversion v = Microversion.COMPUTE.negotiate(ctx);            // 406 / 400 handled
 *         AuthContext auth = AuthContext.of(ctx);                          // never null here
 *         ObjectNode body = ApiJson.object(ctx);                            // 400 / 413 handled
 *         ...
 *       });
 *     })
 *     .start();
 * }</pre>
 *
 * Routes without a role need a project-scoped token; {@link Access#PUBLIC} routes need none; {@link
 * Access#UNSCOPED} routes accept unscoped tokens. Throw a VirgaException subclass for any error;
 * read bodies only through {@link ApiJson} so the size limit holds.
 *
 * <p>Configuration: {@code bind_address} (127.0.0.1), {@code port} (8774), {@code
 * max_request_body_bytes} (114688, OpenStack's default; image uploads are streamed and not subject
 * to it), {@code public_url} (default: scheme and Host of each request), {@code region_name}
 * (RegionOne).
 */
public final class ApiServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ApiServer.class);
  private static final Logger ACCESS = LoggerFactory.getLogger("io.virga.api.access");
  static final String ATTR_REQUEST_ID = "virga.requestId";
  private static final String ATTR_MAX_BODY = "virga.maxBody";
  private static final String ATTR_PUBLIC_URL = "virga.publicUrl";
  public static final String REQUEST_ID_HEADER = "X-Openstack-Request-Id";
  public static final String COMPUTE_REQUEST_ID_HEADER = "X-Compute-Request-Id";

  /** Route roles: how much authentication a route needs. */
  public enum Access implements RouteRole {
    /** No token (version documents, token issue, metrics). */
    PUBLIC,
    /** A valid token, possibly without a project (identity routes). */
    UNSCOPED
  }

  /** A set of routes to register; compute, identity and image each are one. */
  @FunctionalInterface
  public interface RouteGroup {
    void register(JavalinDefaultRouting routes);
  }

  private final Javalin app;
  private final IdentityService identity;
  private final PrometheusMeterRegistry registry;
  private final String bindAddress;

  private ApiServer(
      Javalin app, IdentityService identity, PrometheusMeterRegistry registry, String bindAddress) {
    this.app = app;
    this.identity = identity;
    this.registry = registry;
    this.bindAddress = bindAddress;
  }

  public static Builder builder(Config config, Database database) {
    return new Builder(config, database);
  }

  /** Builds and starts the server. */
  public static final class Builder {
    private final Config config;
    private final Database database;
    private IdentityService identity;
    private PrometheusMeterRegistry registry;
    private final List<RouteGroup> groups = new ArrayList<>();

    private Builder(Config config, Database database) {
      this.config = config;
      this.database = database;
    }

    public Builder identity(IdentityService identity) {
      this.identity = identity;
      return this;
    }

    public Builder meterRegistry(PrometheusMeterRegistry registry) {
      this.registry = registry;
      return this;
    }

    public Builder routes(RouteGroup group) {
      groups.add(group);
      return this;
    }

    /** Registers the image v2 routes backed by this service. */
    public Builder images(io.virga.image.ImageService images) {
      routes(new ImageMemberRoutes(images));
      return routes(new ImageRoutes(images));
    }

    /** Builds the route groups, configures Javalin and listens (DESIGN §6). */
    public ApiServer start() {
      IdentityService id = identity != null ? identity : new IdentityService(database, config);
      PrometheusMeterRegistry reg =
          registry != null ? registry : new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      String bind = config.string("bind_address", "127.0.0.1");
      int port = config.integer("port", 8774);
      List<RouteGroup> all = routeGroups(id, reg);
      Javalin app =
          Javalin.create(
              cfg -> {
                cfg.showJavalinBanner = false;
                cfg.startupWatcherEnabled = false;
                cfg.jetty.defaultHost = bind;
                cfg.jetty.defaultPort = port;
                cfg.http.disableCompression();
                cfg.http.prefer405over404 = true;
                cfg.http.maxRequestSize = maxBody();
                cfg.router.ignoreTrailingSlashes = true;
                cfg.router.treatMultipleSlashesAsSingleSlash = true;
                cfg.jsonMapper(new JavalinJackson(ApiJson.MAPPER, false));
                cfg.requestLogger.http((ctx, ms) -> finish(ctx, ms, reg));
                cfg.router.mount(
                    routes -> {
                      registerFilters(routes, id);
                      registerFaults(routes);
                      for (RouteGroup g : all) {
                        g.register(routes);
                      }
                    });
              });
      listen(app, bind, port);
      LOG.info("API listening on http://{}:{}", bind, app.port());
      return new ApiServer(app, id, reg, bind);
    }

    /** Identity, the version document and /metrics first, then the groups added here. */
    private List<RouteGroup> routeGroups(IdentityService id, PrometheusMeterRegistry reg) {
      List<RouteGroup> all = new ArrayList<>();
      all.add(new IdentityRoutes(id, config.string("region_name", "RegionOne")));
      all.add(new IdentityProjectRoutes(id, database));
      all.add(new IdentityUserRoutes(id, database));
      all.add(new IdentityRoleRoutes(id, database));
      all.add(routes -> routes.get("/", ApiServer::root, Access.PUBLIC));
      all.add(
          routes ->
              routes.get(
                  "/metrics",
                  ctx -> ctx.contentType("text/plain; version=0.0.4").result(reg.scrape()),
                  Access.PUBLIC));
      all.addAll(groups);
      return all;
    }

    private long maxBody() {
      return config.longValue("max_request_body_bytes", 114688);
    }

    /**
     * Every request: a request id (header, MDC), the body limit, the public URL; then the token.
     */
    private void registerFilters(JavalinDefaultRouting routes, IdentityService id) {
      long maxBody = maxBody();
      Optional<String> publicUrl =
          config.get("public_url").filter(s -> !s.isBlank()).map(s -> s.replaceAll("/+$", ""));
      routes.before(
          ctx -> {
            String rid = "req-" + UUID.randomUUID();
            ctx.attribute(ATTR_REQUEST_ID, rid);
            ctx.attribute(ATTR_MAX_BODY, maxBody);
            publicUrl.ifPresent(u -> ctx.attribute(ATTR_PUBLIC_URL, u));
            ctx.header(REQUEST_ID_HEADER, rid);
            if (ctx.path().startsWith("/compute")) {
              ctx.header(COMPUTE_REQUEST_ID_HEADER, rid); // Nova sends both
            }
            MDC.put("request_id", rid);
          });
      routes.beforeMatched(ctx -> authenticate(ctx, id));
    }

    /** Exceptions and the router's own 404/405/413/500 pages as OpenStack fault bodies. */
    private static void registerFaults(JavalinDefaultRouting routes) {
      routes.exception(Exception.class, ApiFaults::handle);
      routes.error(404, ctx -> defaultFault(ctx, "The resource could not be found."));
      routes.error(
          405,
          ctx ->
              defaultFault(
                  ctx, "The method " + ctx.method() + " is not allowed for " + ctx.path()));
      routes.error(413, ctx -> defaultFault(ctx, "Request is too large."));
      routes.error(
          500,
          ctx ->
              defaultFault(
                  ctx,
                  "Unexpected API error; see the server log under request id "
                      + ctx.attribute(ATTR_REQUEST_ID)));
    }

    private static void listen(Javalin app, String bind, int port) {
      try {
        app.start();
      } catch (RuntimeException e) {
        throw new io.virga.core.VirgaException(
            "cannot listen on "
                + bind
                + ":"
                + port
                + " ("
                + e.getMessage()
                + "); set bind_address/port",
            e);
      }
    }
  }

  private static void defaultFault(Context ctx, String message) {
    if (ctx.attribute(ApiFaults.ATTR_FAULT) == null) {
      ApiFaults.write(ctx, ctx.statusCode(), message);
    }
  }

  private static void authenticate(Context ctx, IdentityService identity) {
    Set<RouteRole> roles = ctx.routeRoles();
    if (roles.contains(Access.PUBLIC) || ctx.method() == HandlerType.OPTIONS) {
      return;
    }
    String token = ctx.header("X-Auth-Token");
    if (token == null || token.isBlank()) {
      throw new UnauthorizedException("The request you have made requires authentication.");
    }
    IdentityService.Token valid =
        identity
            .validate(token.strip())
            .orElseThrow(
                () ->
                    new UnauthorizedException(
                        "The request you have made requires authentication."));
    AuthContext auth = valid.auth();
    if (auth.projectId().isEmpty() && !roles.contains(Access.UNSCOPED)) {
      throw new UnauthorizedException(
          "The token is not scoped to a project; ask for a project-scoped token.");
    }
    ctx.attribute(AuthContext.ATTR, auth);
    MDC.put("user_id", auth.userId());
    auth.projectId().ifPresent(p -> MDC.put("project_id", p));
    HandlerType m = ctx.method();
    boolean identityRoute = ctx.path().startsWith("/identity/"); // e.g. revoking one's own token
    if (!identityRoute && m != HandlerType.GET && m != HandlerType.HEAD) {
      Policy.requireWriteAccess(auth, m.name(), ctx.path());
    }
  }

  private static void finish(Context ctx, Float ms, PrometheusMeterRegistry reg) {
    String route;
    try {
      route = ctx.endpointHandlerPath();
    } catch (IllegalStateException e) {
      route = "unmatched"; // no endpoint matched (404): keep the metric's cardinality bounded
    }
    Timer.builder("virga_api_requests")
        .description("API requests by method, route template and status")
        .tag("method", ctx.method().name())
        .tag("route", route)
        .tag("status", Integer.toString(ctx.statusCode()))
        .register(reg)
        .record((long) (ms * 1_000_000L), TimeUnit.NANOSECONDS);
    String query = ctx.queryString();
    ACCESS.info(
        "{} {}{} {} {}ms",
        ctx.method(),
        ctx.path(),
        query == null ? "" : "?" + query,
        ctx.statusCode(),
        String.format("%.1f", ms));
    MDC.remove("request_id");
    MDC.remove("user_id");
    MDC.remove("project_id");
  }

  private static void root(Context ctx) {
    String base = publicUrl(ctx);
    Map<String, Object> services = new LinkedHashMap<>();
    services.put("identity", base + "/identity/v3");
    services.put("compute", base + "/compute/v2.1");
    services.put("image", base + "/image");
    ctx.json(Map.of("name", "virga", "services", services));
  }

  /** The base URL clients reach this server under: {@code public_url}, else the request's Host. */
  public static String publicUrl(Context ctx) {
    String configured = ctx.attribute(ATTR_PUBLIC_URL);
    if (configured != null) {
      return configured;
    }
    String host = ctx.header("Host");
    if (host == null || host.isBlank()) {
      host = ctx.req().getLocalAddr() + ":" + ctx.req().getLocalPort();
    }
    return ctx.scheme() + "://" + host;
  }

  static long maxBodyBytes(Context ctx) {
    Long v = ctx.attribute(ATTR_MAX_BODY);
    return v != null ? v : 114688L;
  }

  /** The port actually bound (useful with {@code port = 0}). */
  public int port() {
    return app.port();
  }

  /** {@code http://<bind_address>:<port>} (127.0.0.1 when bound to all addresses). */
  public String url() {
    String host =
        bindAddress.equals("0.0.0.0") || bindAddress.equals("::") ? "127.0.0.1" : bindAddress;
    return "http://" + host + ":" + port();
  }

  public IdentityService identity() {
    return identity;
  }

  public PrometheusMeterRegistry meterRegistry() {
    return registry;
  }

  @Override
  public void close() {
    app.stop();
  }
}
