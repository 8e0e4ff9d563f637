package io.virga.server;

import io.virga.compute.ImageApiClient;
import io.virga.core.ConductorApi;
import io.virga.core.Config;
import io.virga.rpc.Rpc;
import io.virga.rpc.RpcTransport;
import io.virga.rpc.RpcTransports;
import io.virga.virt.ComputeDriver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code virga agent}: the compute agent of this host in a multi-host deployment. Talks to the
 * control plane only over RabbitMQ (conductor calls, heartbeats, its topic {@code compute.<host>})
 * and to the image API over HTTP with the service credential; never opens the database. Waits, with
 * back-off, for RabbitMQ, libvirt and the control plane.
 */
@Command(
    name = "agent",
    mixinStandardHelpOptions = true,
    description = {
      "Runs the compute agent of this host in the foreground: boots and manages the guests the"
          + " scheduler puts here, on the local libvirtd.",
      "Configuration (README table): host (default: the hypervisor's hostname), my_ip,"
          + " connection_uri, instances_path, virt_type, transport_url (RabbitMQ), image_api_url,"
          + " auth_url, service_user, service_password, service_project.",
      "Retries with back-off until RabbitMQ, libvirtd and the control plane answer; never opens"
          + " the database.",
      "With --up-host NAME: starts the agent of host NAME of a running `virga up --hosts N` again"
          + " (after it died or was killed), inside that host's namespaces with the configuration"
          + " up wrote ($VIRGA_HOME/hosts/NAME/agent.conf); its output goes to agent.log there."
    })
final class AgentCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(AgentCommand.class);

  @Option(
      names = "--up-host",
      paramLabel = "NAME",
      description = "Start the agent of this host of a running `virga up --hosts N` again.")
  String upHost;

  @Override
  public Integer call() throws InterruptedException {
    if (upHost != null) {
      return restartUpHostAgent(upHost);
    }
    Config config = Config.load();
    if (config.string("transport_url", "in-process").equals("in-process")) {
      throw new io.virga.core.InvalidInputException(
          "virga agent needs transport_url = amqp://… (the RabbitMQ the API uses)");
    }
    ImageApiClient images = ImageApiClient.fromConfig(config);
    List<AutoCloseable> stack = new ArrayList<>();
    AgentMetrics metrics = AgentMetrics.start(config);
    stack.add(metrics);
    RpcTransport transport =
        new ObservedTransport(
            Retry.untilUp("RabbitMQ (transport_url)", () -> RpcTransports.fromConfig(config)),
            metrics.registry);
    stack.add(transport);
    ComputeDriver driver = AllInOne.driverFor(config);
    stack.add(driver);
    String host =
        Retry.untilUp(
            "the hypervisor (connection_uri "
                + config.string("connection_uri", "qemu:///system")
                + ")",
            () -> {
              driver.init();
              return driver.hostname();
            });
    Duration timeout = RpcTransports.callTimeout(config);
    ConductorApi conductor = Rpc.conductor(transport, timeout);
    ConductorApi probe = Rpc.conductor(transport, Duration.ofSeconds(10));
    Retry.untilUp("the control plane (conductor over RabbitMQ)", () -> probe.instancesOnHost(host));
    AgentRuntime agent = AgentRuntime.start(driver, conductor, transport, images, config);
    stack.add(agent);
    metrics.observe(agent.manager(), driver);
    LOG.info("virga agent {} is up (metrics on port {})", host, metrics.port());
    System.out.println("virga agent is up: compute host " + host);
    Foreground.runUntilStopped(
        () -> {
          for (int i = stack.size() - 1; i >= 0; i--) {
            stack.get(i).close();
          }
        },
        "virga agent");
    return 0;
  }

  /**
   * Starts the agent of an {@code up --hosts} host again, as its init system would restart
   * nova-compute, and stays in the foreground with it (Ctrl-C stops it; it also stops with up).
   */
  private static int restartUpHostAgent(String name) throws InterruptedException {
    Config config = Config.load();
    io.virga.multihost.NamespacedHost h = UpHostAgent.hostToRestart(config.home(), name);
    Process p = UpHostAgent.start(h, config.home(), MultiHostUp.agentJavaOpts(config));
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  p.descendants().forEach(ProcessHandle::destroy);
                  p.destroy();
                },
                "virga-agent-stop"));
    System.out.println(
        "virga: the agent of "
            + name
            + " runs again in its namespaces (log "
            + h.dir().resolve(UpHostAgent.LOG)
            + ")");
    return p.waitFor();
  }
}
