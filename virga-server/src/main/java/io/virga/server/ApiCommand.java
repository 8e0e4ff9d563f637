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
 * Waits, with back-off, for both to be reachable. Several may run on one database (behind a load
 * balancer): they share quotas, scheduling and recovery through the database, and must share the
 * users' passwords.
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
          + " VIRGA_ADMIN_PASSWORD, VIRGA_DEMO_PASSWORD, VIRGA_SERVICE_PASSWORD say otherwise.",
      "Several virga api on one database: give each the same passwords (those variables, or a"
          + " copy of the first one's credentials file); one without them refuses to start."
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
    refuseToResetSharedPasswords(cloud, config.home(), System.getenv());
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

  static final java.util.List<String> PASSWORD_VARIABLES =
      java.util.List.of("VIRGA_ADMIN_PASSWORD", "VIRGA_DEMO_PASSWORD", "VIRGA_SERVICE_PASSWORD");

  /**
   * Another {@code virga api} on the same database already made the users: a process that would now
   * generate passwords of its own (no credentials file, no password variables) would reset theirs,
   * locking out clients and agents. It stops instead and says what to give it.
   */
  static void refuseToResetSharedPasswords(
      AllInOne cloud, java.nio.file.Path home, java.util.Map<String, String> env) {
    boolean given =
        PASSWORD_VARIABLES.stream().allMatch(v -> env.get(v) != null && !env.get(v).isEmpty());
    if (given || java.nio.file.Files.isRegularFile(home.resolve("credentials"))) {
      return;
    }
    if (cloud
        .identity()
        .repository()
        .findUserByName(io.virga.api.IdentityService.DEFAULT_DOMAIN_ID, "admin")
        .isPresent()) {
      cloud.close();
      throw new io.virga.core.InvalidInputException(
          "this database already has its users (another virga api made them): give this process"
              + " their passwords ("
              + String.join(", ", PASSWORD_VARIABLES)
              + ", or a copy of the first API host's $VIRGA_HOME/credentials in "
              + home
              + ") so that it does not reset them");
    }
  }
}
