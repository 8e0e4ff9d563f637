package io.virga.server;

import io.virga.api.ApiServer;
import io.virga.api.ComputeDeps;
import io.virga.api.ComputeImages;
import io.virga.api.ComputeRoutes;
import io.virga.api.Conductor;
import io.virga.api.IdentityService;
import io.virga.api.SnapshotImages;
import io.virga.compute.ComputeManager;
import io.virga.compute.ImageSourceFactory;
import io.virga.core.ConductorApi;
import io.virga.core.Config;
import io.virga.core.InvalidInputException;
import io.virga.db.Database;
import io.virga.image.ImageService;
import io.virga.libvirt.LibvirtDriver;
import io.virga.rpc.InProcessTransport;
import io.virga.rpc.Rpc;
import io.virga.rpc.RpcTransport;
import io.virga.virt.ComputeDriver;
import io.virga.virt.FakeDriver;
import io.virga.virt.ImageSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything {@code virga up} runs in one JVM: database (migrated), identity, image service,
 * compute API with scheduler and conductor, in-process RPC, and one compute agent for this host.
 * Closing it stops them in reverse order (agent first, so no cast is lost mid-flight).
 *
 * <p>The agent's driver is chosen by {@code compute_driver}: {@code libvirt} (default) or {@code
 * fake} (the in-memory FakeDriver, for tests and API benchmarks).
 */
public final class AllInOne implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(AllInOne.class);

  private final List<AutoCloseable> stack = new ArrayList<>();
  private Database database;
  private IdentityService identity;
  private ImageService images;
  private ComputeDeps compute;
  private ApiServer api;
  private ComputeDriver driver;
  private ComputeManager agent;
  private RpcTransport transport;

  private AllInOne() {}

  /** Starts everything; on failure what was started is stopped again before the error. */
  public static AllInOne start(Config config) {
    return start(config, AllInOne::driverFor, true);
  }

  /**
   * With a driver the caller provides; {@code ownsDriver} false leaves it open on close (a test's
   * hypervisor that outlives an agent restart).
   */
  public static AllInOne start(
      Config config, Function<Config, ComputeDriver> drivers, boolean ownsDriver) {
    return start(config, new InProcessTransport(), drivers, ownsDriver);
  }

  /**
   * The control plane only ({@code virga api}, and the API side of {@code virga up --hosts N}):
   * database, identity, images, compute API, scheduler and conductor on {@code transport}, which it
   * closes; the agents are other processes. Recovery of unscheduled builds then only touches builds
   * whose scheduling lease is older than {@code scheduling_recovery_age}, since another API process
   * may be scheduling them (each process renews the lease of its own every 5 s).
   */
  public static AllInOne startControlPlane(Config config, RpcTransport transport) {
    return start(config, transport, null, false);
  }

  private static AllInOne start(
      Config config,
      RpcTransport transport,
      Function<Config, ComputeDriver> drivers,
      boolean ownsDriver) {
    AllInOne a = new AllInOne();
    try {
      a.doStart(config, transport, drivers, ownsDriver);
      return a;
    } catch (RuntimeException e) {
      a.close();
      throw e;
    }
  }

  static ComputeDriver driverFor(Config config) {
    String kind = config.string("compute_driver", "libvirt");
    return switch (kind) {
      case "libvirt" -> LibvirtDriver.fromConfig(config);
      case "fake" ->
          new FakeDriver(
              config.string("host", "fake-" + hostname()),
              config.integer("fake_vcpus", 8),
              config.integer("fake_memory_mb", 16384),
              config.integer("fake_local_gb", 200));
      default ->
          throw new InvalidInputException(
              "compute_driver must be libvirt or fake, not '" + kind + "'");
    };
  }

  static String hostname() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return "localhost";
    }
  }

  private void doStart(
      Config config,
      RpcTransport rawTransport,
      Function<Config, ComputeDriver> drivers,
      boolean ownsDriver) {
    var registry =
        new io.micrometer.prometheusmetrics.PrometheusMeterRegistry(
            io.micrometer.prometheusmetrics.PrometheusConfig.DEFAULT);
    RpcTransport transport = new ObservedTransport(rawTransport, registry);
    this.transport = transport;
    stack.add(transport);
    database = Database.open(config);
    stack.add(database);
    identity = new IdentityService(database, config);
    images = new ImageService(database, config);
    compute =
        ComputeDeps.create(
            config,
            database.jdbi(),
            host -> Rpc.computeAgent(transport, host),
            ComputeImages.of(images));
    Conductor conductor =
        new Conductor(
                compute.instances(),
                compute.actions(),
                compute.hosts(),
                images::get,
                compute.migrations())
            .withBuildReschedules(compute, config.integer("scheduler_max_attempts", 3));
    stack.add(Rpc.serve(transport, Rpc.CONDUCTOR, ConductorApi.class, conductor));
    stack.add(new ControlPlaneMetrics(compute, registry));
    ComputeRoutes routes = new ComputeRoutes(compute);
    stack.add(routes);
    if (drivers != null) {
      routes.recoverUnscheduled(java.time.Duration.ZERO);
      // the agent first: its start-up recovery must not see boots the API accepts meanwhile
      driver = drivers.apply(config);
      if (ownsDriver) {
        stack.add(driver);
      }
      AgentRuntime local =
          AgentRuntime.start(
              driver, Rpc.conductor(transport), transport, inProcessImages(images), config);
      agent = local.manager();
      stack.add(local);
    } else {
      stack.add(
          routes.recoverUnscheduledPeriodically(config.seconds("scheduling_recovery_age", 300)));
    }
    api =
        ApiServer.builder(config, database)
            .meterRegistry(registry)
            .identity(identity)
            .images(images)
            .routes(routes)
            .start();
    stack.add(api);
    if (agent != null) {
      LOG.info("virga is up: API {} , compute host {}", api.url(), agent.host());
    } else {
      LOG.info("virga control plane is up: API {}, agents over {}", api.url(), transport);
    }
  }

  /**
   * The agent copies image bytes straight from the store and streams snapshots into it (same
   * machine, same process).
   */
  static ImageSourceFactory inProcessImages(ImageService images) {
    ImageSource source =
        (image, target) -> {
          try {
            Files.copy(images.dataPath(image.id()), target, StandardCopyOption.REPLACE_EXISTING);
          } catch (IOException e) {
            throw new UncheckedIOException("cannot copy image " + image.id() + " to " + target, e);
          }
        };
    return new InProcessSnapshotUpload(source, new SnapshotImages(images));
  }

  public Database database() {
    return database;
  }

  public IdentityService identity() {
    return identity;
  }

  public ImageService images() {
    return images;
  }

  public ComputeDeps compute() {
    return compute;
  }

  public ApiServer api() {
    return api;
  }

  public ComputeDriver driver() {
    return driver;
  }

  /** The local agent; absent for a control plane alone. */
  public Optional<ComputeManager> localAgent() {
    return Optional.ofNullable(agent);
  }

  public ComputeManager agent() {
    if (agent == null) {
      throw new IllegalStateException("this control plane has no local agent");
    }
    return agent;
  }

  /**
   * The in-process RPC transport, on which more agents can serve {@code compute.<host>} (tests of
   * migrations between hosts in one JVM).
   */
  public RpcTransport transport() {
    return transport;
  }

  @Override
  public void close() {
    for (int i = stack.size() - 1; i >= 0; i--) {
      try {
        stack.get(i).close();
      } catch (Exception e) {
        LOG.warn(
            "error while stopping {}: {}", stack.get(i).getClass().getSimpleName(), e.toString());
      }
    }
    stack.clear();
  }
}
