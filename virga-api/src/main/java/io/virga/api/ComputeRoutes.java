package io.virga.api;

import io.javalin.http.Context;
import io.javalin.router.JavalinDefaultRouting;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The compute API (Nova v2.1 with microversions 2.1 to {@link #RANGE}'s maximum) as one route group
 * for {@link ApiServer.Builder#routes}.
 */
public final class ComputeRoutes implements ApiServer.RouteGroup, AutoCloseable {
  /** Microversions this compute API implements. */
  public static final Microversion.Range RANGE = Microversion.COMPUTE;

  static final String ROOT = "/compute/v2.1";

  private final ComputeDeps deps;
  private final ServerOperations servers;
  private final ServerCreate create;
  private final LiveMigrationActions liveMigrations;
  private final java.util.concurrent.ScheduledExecutorService confirmer;

  public ComputeRoutes(ComputeDeps deps) {
    this.deps = deps;
    this.servers = new ServerOperations(deps);
    this.create = new ServerCreate(deps);
    this.liveMigrations = new LiveMigrationActions(deps, servers);
    this.confirmer = resizeConfirmer(deps);
  }

  /** Nova's _poll_unconfirmed_resizes, when resize_confirm_window is set. */
  private static java.util.concurrent.ScheduledExecutorService resizeConfirmer(ComputeDeps deps) {
    java.time.Duration window = deps.migrationOptions().resizeConfirmWindow();
    if (window.isZero()) {
      return null;
    }
    var s =
        java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "virga-resize-confirm");
              t.setDaemon(true);
              return t;
            });
    long every = Math.max(200, Math.min(60_000, window.toMillis() / 2));
    s.scheduleWithFixedDelay(
        () -> {
          try {
            ServerMigrationActions.confirmExpired(deps);
          } catch (RuntimeException e) {
            org.slf4j.LoggerFactory.getLogger(ComputeRoutes.class)
                .warn("resize auto-confirm pass failed: {}", e.toString());
          }
        },
        every,
        every,
        java.util.concurrent.TimeUnit.MILLISECONDS);
    return s;
  }

  /**
   * Puts instances a previous run accepted but never scheduled into ERROR; call once at start,
   * before serving. Returns how many there were.
   */
  public int recoverUnscheduled() {
    return create.recoverUnscheduled();
  }

  /** A compute request: negotiated version and caller. */
  record Call(Context ctx, Microversion version, AuthContext auth) {
    String requestId() {
      String rid = ctx.attribute(ApiServer.ATTR_REQUEST_ID);
      return rid != null ? rid : "req-unknown";
    }

    String base() {
      return ApiServer.publicUrl(ctx);
    }

    ServerView view() {
      return new ServerView(base(), version, auth.isAdmin());
    }

    String path(String name) {
      return ctx.pathParam(name);
    }
  }

  @FunctionalInterface
  interface Handler {
    void handle(Call call) throws Exception;
  }

  static io.javalin.http.Handler authed(Handler h) {
    return ctx -> {
      Microversion v = RANGE.negotiate(ctx);
      h.handle(new Call(ctx, v, AuthContext.of(ctx)));
    };
  }

  @Override
  public void register(JavalinDefaultRouting routes) {
    routes.get("/compute", ComputeRoutes::versions, ApiServer.Access.PUBLIC);
    routes.get(ROOT, ComputeRoutes::version, ApiServer.Access.PUBLIC);
    new ServerRoutes(deps, servers, create, liveMigrations).register(routes);
    new FlavorRoutes(deps).register(routes);
    new KeyPairRoutes(deps).register(routes);
    new HypervisorRoutes(deps).register(routes);
    new QuotaRoutes(deps).register(routes);
    new AggregateRoutes(deps).register(routes);
    new ServerGroupRoutes(deps).register(routes);
  }

  private static Map<String, Object> versionEntry(Context ctx) {
    String base = ApiServer.publicUrl(ctx);
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("id", "v2.1");
    v.put("status", "CURRENT");
    v.put("version", RANGE.max().toString());
    v.put("min_version", RANGE.min().toString());
    v.put("updated", "2013-07-23T11:33:21Z");
    v.put("links", List.of(ServerView.link("self", base + ROOT + "/")));
    return v;
  }

  private static void versions(Context ctx) {
    ctx.json(Map.of("versions", List.of(versionEntry(ctx))));
  }

  private static void version(Context ctx) {
    Map<String, Object> v = versionEntry(ctx);
    Map<String, Object> type = new LinkedHashMap<>();
    type.put("base", "application/json");
    type.put("type", "application/vnd.openstack.compute+json;version=2.1");
    v.put("media-types", List.of(type));
    ctx.json(Map.of("version", v));
  }

  @Override
  public void close() {
    if (confirmer != null) {
      confirmer.shutdownNow();
    }
    liveMigrations.close();
    create.close();
  }
}
