package io.virga.server;

import io.virga.core.Config;
import io.virga.db.ComputeServiceRecord;
import io.virga.multihost.NamespacedHost;
import io.virga.multihost.NamespacedHosts;
import io.virga.multihost.OwnedProcesses;
import io.virga.multihost.PrivateBroker;
import io.virga.rpc.RpcTransports;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code virga up --hosts N}: the shape of a real deployment on one machine. A private RabbitMQ
 * broker (data in {@code $VIRGA_HOME/rabbitmq}), the control plane in this JVM on it (embedded
 * database as in {@code up}), N namespaced hypervisor hosts ({@code $VIRGA_HOME/hosts/virga-hostI})
 * and in each one {@code virga agent} process — the very command a real host runs, configured by
 * environment, reaching the broker and the API on the machine's loopback. Closing stops the agents,
 * the hosts, the control plane and the broker, in that order.
 */
final class MultiHostUp implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(MultiHostUp.class);

  private final OwnedProcesses owned;
  private final List<AutoCloseable> stack = new ArrayList<>();
  private final List<Process> agents = new ArrayList<>();
  private UpCommand.Running running;
  private NamespacedHosts hosts;

  private MultiHostUp(OwnedProcesses owned) {
    this.owned = owned;
  }

  UpCommand.Running running() {
    return running;
  }

  NamespacedHosts hosts() {
    return hosts;
  }

  static MultiHostUp start(
      Config base,
      Map<String, String> env,
      int count,
      boolean sharedStorage,
      Path cloudsYaml,
      Path guestDisk,
      PrintStream out) {
    OwnedProcesses.reapStale(OwnedProcesses.DEFAULT_DIR);
    MultiHostUp up = new MultiHostUp(OwnedProcesses.open(OwnedProcesses.DEFAULT_DIR, "virga-up"));
    try {
      up.doStart(base, env, count, sharedStorage, cloudsYaml, guestDisk, out);
      return up;
    } catch (RuntimeException e) {
      up.close();
      throw e;
    }
  }

  private void doStart(
      Config base,
      Map<String, String> env,
      int count,
      boolean sharedStorage,
      Path cloudsYaml,
      Path guestDisk,
      PrintStream out) {
    Path home = base.home();
    UpCommand.createHome(home);
    baseMetricsPort = base.integer("metrics_port", 9779);
    out.println("virga: starting a private RabbitMQ ...");
    PrivateBroker broker =
        PrivateBroker.start(home.resolve("rabbitmq"), 0, owned, Duration.ofSeconds(120));
    stack.add(broker);
    Map<String, String> apiEnv = new HashMap<>(env);
    apiEnv.put("VIRGA_TRANSPORT_URL", broker.uri().toString());
    Config config = Config.load(apiEnv);
    io.virga.rpc.RpcTransport transport = RpcTransports.fromConfig(config);
    AllInOne cloud = AllInOne.startControlPlane(config, transport);
    stack.add(cloud);
    running = UpCommand.ensureDefaults(cloud, config, env, cloudsYaml, guestDisk);
    out.println("virga: starting " + count + " namespaced hypervisor hosts ...");
    hosts =
        NamespacedHosts.start(
            NamespacedHosts.Options.of(home.resolve("hosts"), count)
                .withSharedStorage(sharedStorage)
                .withCommonInstancesPath(home.resolve("instances")));
    stack.add(hosts);
    for (NamespacedHost h : hosts.hosts()) {
      agents.add(startAgent(h, config, env, broker, cloud.api().url(), running.creds()));
    }
    awaitServicesUp(cloud, hosts, config.seconds("agent_start_timeout", 180));
    UpCommand.printHints(
        running,
        cloudsYaml,
        count
            + " compute hosts "
            + hosts.hosts().stream().map(NamespacedHost::name).collect(Collectors.joining(", "))
            + ", each its own libvirtd: virsh -c '"
            + hosts.host(1).uri()
            + "' list",
        out);
    out.println(
        "  Metrics: "
            + cloud.api().url()
            + "/metrics (API), http://127.0.0.1:"
            + (baseMetricsPort + 1)
            + "/metrics … :"
            + (baseMetricsPort + count)
            + " (agents).");
  }

  /**
   * Default {@code agent_java_opts}, each agent's JVM options, for an RSS under 150 MiB
   * (bench/README.md, Scale): the heap starts at 16 MiB and grows, up to 160 MiB, only as far as
   * the live data needs (and gives memory back after a full GC); C1 only (an agent waits on libvirt
   * and RabbitMQ: C2's code cache and compiler arenas cost more memory and CPU than it saves).
   */
  static final String AGENT_JAVA_OPTS =
      "-Xms16m -Xmx160m -XX:+UseSerialGC -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30"
          + " -XX:TieredStopAtLevel=1 -XX:-UsePerfData";

  /**
   * The agents' environment for the JVM: two glibc malloc arenas instead of eight per core (the
   * agent's hundred mostly idle threads otherwise spread their native allocations over many).
   */
  static final Map<String, String> AGENT_JVM_ENV = Map.of("MALLOC_ARENA_MAX", "2");

  /**
   * {@code virga agent} inside the host (its files, hostname and libvirt; the machine's loopback),
   * configured by the {@code agent.conf} written here; it dies with its parent (pdeathsig) and with
   * the host. {@code virga agent --up-host <host>} starts it again the same way.
   */
  private Process startAgent(
      NamespacedHost h,
      Config config,
      Map<String, String> env,
      PrivateBroker broker,
      String apiUrl,
      UpCredentials creds) {
    Map<String, String> e = new java.util.LinkedHashMap<>();
    e.put("transport_url", broker.uri().toString());
    e.put("my_ip", h.ip());
    // the agents share the machine's network: their disk receivers are reached on loopback
    e.put("disk_transfer_address", "127.0.0.1");
    e.put("connection_uri", "qemu:///system"); // the host's own libvirtd, inside
    e.put("instances_path", config.home().resolve("instances").toString());
    e.put("image_api_url", apiUrl + "/image");
    e.put("auth_url", apiUrl + "/identity/v3");
    e.put("service_password", creds.servicePassword());
    e.put("compute_driver", "libvirt");
    e.put("metrics_port", Integer.toString(metricsPort(h)));
    config.get("virt_type").ifPresent(v -> e.put("virt_type", v));
    UpHostAgent.writeConf(h, config, env, e);
    Process p = UpHostAgent.start(h, config.home(), agentJavaOpts(config));
    owned.add(p.toHandle(), "agent-" + h.name());
    LOG.info("agent of {} started (log {})", h.name(), h.dir().resolve(UpHostAgent.LOG));
    return p;
  }

  static String agentJavaOpts(Config config) {
    return config.string("agent_java_opts", AGENT_JAVA_OPTS);
  }

  /**
   * Agents share the machine's loopback: host i serves /metrics on metrics_port + i; none when
   * metrics_port is 0 (off).
   */
  private int metricsPort(NamespacedHost h) {
    int index = hosts.hosts().indexOf(h) + 1;
    return baseMetricsPort == 0 ? 0 : baseMetricsPort + index;
  }

  private int baseMetricsPort = 9779;

  private void awaitServicesUp(AllInOne cloud, NamespacedHosts set, Duration timeout) {
    Set<String> wanted = set.hosts().stream().map(NamespacedHost::name).collect(Collectors.toSet());
    long down = cloud.compute().options().serviceDownTimeSeconds();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Set<String> up =
          cloud.compute().hosts().services().stream()
              .filter(s -> s.isUp(Instant.now(), down))
              .map(ComputeServiceRecord::host)
              .collect(Collectors.toSet());
      if (up.containsAll(wanted)) {
        return;
      }
      for (int i = 0; i < agents.size(); i++) {
        if (!agents.get(i).isAlive()) {
          NamespacedHost h = set.hosts().get(i);
          throw new io.virga.core.VirgaException(
              "the agent of " + h.name() + " exited; see " + h.dir().resolve("agent.log"));
        }
      }
      if (System.nanoTime() > deadline) {
        throw new io.virga.core.VirgaException(
            "compute services not up within "
                + timeout.toSeconds()
                + " s: waiting for "
                + wanted
                + ", up: "
                + up
                + " (agent logs in "
                + set.options().root()
                + "/<host>/agent.log)");
      }
      try {
        Thread.sleep(500);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new io.virga.core.VirgaException("interrupted while waiting for the agents", e);
      }
    }
  }

  /** The agents' JVMs are nsenter's children: SIGTERM them for a clean stop, then make sure. */
  private void stopAgents() {
    for (Process p : agents) {
      p.descendants().forEach(ProcessHandle::destroy);
    }
    for (Process p : agents) {
      try {
        for (ProcessHandle d : p.descendants().toList()) {
          d.onExit().get(20, TimeUnit.SECONDS);
        }
      } catch (Exception e) {
        LOG.warn("an agent did not stop within 20 s: {}", e.toString());
      }
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      owned.remove(p.toHandle());
    }
    agents.clear();
  }

  @Override
  public void close() {
    stopAgents();
    for (int i = stack.size() - 1; i >= 0; i--) {
      try {
        stack.get(i).close();
      } catch (Exception e) {
        LOG.warn(
            "error while stopping {}: {}", stack.get(i).getClass().getSimpleName(), e.toString());
      }
    }
    stack.clear();
    owned.close();
  }
}
