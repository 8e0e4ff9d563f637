package io.virga.server;

import io.virga.core.Config;
import io.virga.rpc.RpcTransport;
import io.virga.rpc.RpcTransports;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;

/**
 * {@code virga api}: the control plane of a multi-host deployment (identity, compute and image API,
 * scheduler, conductor) on PostgreSQL ({@code database_url}) and RabbitMQ ({@code transport_url}).
 * Waits, with back-off, for both to be reachable. Several may run on one database.
 */
@Command(
    name = "api",
    mixinStandardHelpOptions = true,
    description = {
      "Runs the control plane of a multi-host deployment in the foreground: identity, compute and"
          + " image API on one listener, scheduler and conductor; agents (virga agent) reach it"
          + " over RabbitMQ.",
      "Configuration (README table): database_url (+ database_user/database_password),"
          + " transport_url, bind_address, port, public_url. Retries with back-off until"
          + " PostgreSQL and RabbitMQ answer.",
      "First start: creates the admin and demo users and the agents' service user virga-agent"
          + " (project service); their passwords are in $VIRGA_HOME/credentials unless"
          + " VIRGA_ADMIN_PASSWORD, VIRGA_DEMO_PASSWORD, VIRGA_SERVICE_PASSWORD say otherwise."
    })
final class ApiCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(ApiCommand.class);

  @Override
  public Integer call() {
    Config config = Config.load();
    String url = config.string("transport_url", "in-process");
    if (url.equals("in-process")) {
      throw new io.virga.core.InvalidInputException(
          "virga api needs transport_url = amqp://… (RabbitMQ): agents are other processes;"
              + " for everything in one process use virga up");
    }
    AllInOne cloud =
        Retry.untilUp(
            "PostgreSQL/RabbitMQ (database_url, transport_url)",
            () -> {
              RpcTransport transport = RpcTransports.fromConfig(config);
              try {
                return AllInOne.startControlPlane(config, transport);
              } catch (RuntimeException e) {
                transport.close();
                throw e;
              }
            });
    UpCredentials creds = UpCredentials.load(config.home(), System.getenv());
    UpDefaults.ensureUsers(cloud.identity(), creds);
    int flavors = UpDefaults.ensureFlavors(cloud.compute().flavors());
    if (flavors > 0) {
      LOG.info("created {} default flavors", flavors);
    }
    System.out.println(
        "virga api is up on "
            + cloud.api().url()
            + "; passwords (admin, demo, virga-agent) are in "
            + creds.file());
    Foreground.runUntilStopped(cloud, "virga api");
    return 0;
  }
}
