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
  private static final org.slf4j.Logger LOG =
      org.slf4j.LoggerFactory.getLogger(ComputeRoutes.class);

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
   * How often an API process renews the lease on the builds it is scheduling: fixed, not derived
   * from any option, so API processes configured differently still agree on what a live lease is.
   */
  public static final java.time.Duration SCHEDULING_LEASE_RENEWAL = java.time.Duration.ofSeconds(5);

  /** The shortest {@code scheduling_recovery_age}: three missed renewals. */
  public static final java.time.Duration MIN_SCHEDULING_RECOVERY_AGE =
      SCHEDULING_LEASE_RENEWAL.multipliedBy(3);

  /**
   * Puts builds still waiting for a host into ERROR when their lease is at least {@code minAge}
   * old: at once ({@code ZERO}) when this is the only API process and it just started; with an age
   * when several API processes share the database. Returns how many there were.
   */
  public int recoverUnscheduled(java.time.Duration minAge) {
    return create.recoverUnscheduled(minAge);
  }

  /**
   * For an API process that shares its database with others: renews this process's scheduling lease
   * every {@link #SCHEDULING_LEASE_RENEWAL}, and recovers builds whose lease is older than {@code
   * minAge} (at least {@link #MIN_SCHEDULING_RECOVERY_AGE}) now and then every third of it (at most
   * every minute); close to stop.
   */
  public AutoCloseable recoverUnscheduledPeriodically(java.time.Duration minAge) {
    java.time.Duration age = minAge;
    if (age.compareTo(MIN_SCHEDULING_RECOVERY_AGE) < 0) {
      LOG.warn(
          "scheduling_recovery_age {} s is below the minimum; using {} s",
          minAge.toSeconds(),
          MIN_SCHEDULING_RECOVERY_AGE.toSeconds());
      age = MIN_SCHEDULING_RECOVERY_AGE;
    }
    java.time.Duration recoveryAge = age;
    var timer =
        java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().daemon().name("virga-build-recovery").unstarted(r));
    long renewal = SCHEDULING_LEASE_RENEWAL.toMillis();
    timer.scheduleWithFixedDelay(
        guarded("renewal of the scheduling lease", create::renewSchedulingLease),
        renewal,
        renewal,
        java.util.concurrent.TimeUnit.MILLISECONDS);
    long every = Math.min(60_000, recoveryAge.toMillis() / 3);
    timer.scheduleWithFixedDelay(
        guarded("recovery of unscheduled builds", () -> recoverUnscheduled(recoveryAge)),
        0,
        every,
        java.util.concurrent.TimeUnit.MILLISECONDS);
    return timer::shutdownNow;
  }

  private static Runnable guarded(String what, Runnable task) {
    return () -> {
      try {
        task.run();
      } catch (RuntimeException e) {
        LOG.warn("{} failed: {}", what, e.toString());
      }
    };
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
    routes.get("/compute/v2", ComputeRoutes::legacyVersion, ApiServer.Access.PUBLIC);
    routes.beforeMatched("/compute/*", ComputeRoutes::checkContentType);
    new ServerRoutes(deps, servers, create, liveMigrations).register(routes);
    new FlavorRoutes(deps).register(routes);
    new KeyPairRoutes(deps).register(routes);
    new HypervisorRoutes(deps).register(routes);
    new QuotaRoutes(deps).register(routes);
    new UsageRoutes(new io.virga.db.UsageRepository(deps.instances())).register(routes);
    new ServerTagRoutes(deps, servers).register(routes);
    new QuotaClassRoutes(deps).register(routes);
    new HostRoutes(deps).register(routes);
    new UsageAuditRoutes(deps).register(routes);
    new ImageProxyRoutes(deps).register(routes);
    new ServerDiagnosticsRoutes(deps, servers).register(routes);
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

  /** Nova's root lists v2.0 (the legacy API, no microversions) and then v2.1. */
  private static void versions(Context ctx) {
    ctx.json(Map.of("versions", List.of(legacyEntry(ctx), versionEntry(ctx))));
  }

  private static Map<String, Object> legacyEntry(Context ctx) {
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("id", "v2.0");
    v.put("status", "SUPPORTED");
    v.put("version", "");
    v.put("min_version", "");
    v.put("updated", "2011-01-21T11:33:21Z");
    v.put("links", List.of(ServerView.link("self", ApiServer.publicUrl(ctx) + "/compute/v2/")));
    return v;
  }

  /** The v2.0 document, so the link above resolves; the v2.0 API itself is served as 2.1. */
  private static void legacyVersion(Context ctx) {
    Map<String, Object> v = legacyEntry(ctx);
    Map<String, Object> type = new LinkedHashMap<>();
    type.put("base", "application/json");
    type.put("type", "application/vnd.openstack.compute+json;version=2");
    v.put("media-types", List.of(type));
    ctx.json(Map.of("version", v));
  }

  /**
   * Nova's WSGI layer: a body sent with a Content-Type other than JSON is 415 (a missing one is
   * taken as JSON).
   */
  static void checkContentType(Context ctx) {
    String type = ctx.header("Content-Type");
    if (type == null || type.isBlank()) {
      return;
    }
    boolean hasBody =
        ctx.req().getContentLengthLong() > 0 || ctx.header("Transfer-Encoding") != null;
    String media = type.split(";", 2)[0].strip().toLowerCase(java.util.Locale.ROOT);
    if (hasBody
        && !media.equals("application/json")
        && !media.equals("application/vnd.openstack.compute+json")) {
      throw new ImageRoutes.UnsupportedMediaType(
          "Unsupported Content-Type " + media + "; send application/json");
    }
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
