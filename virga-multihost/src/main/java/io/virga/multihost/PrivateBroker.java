package io.virga.multihost;

import io.virga.core.Command;
import io.virga.core.CommandException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A RabbitMQ broker of one's own (Debian's rabbitmq-server) on 127.0.0.1: its own node name, AMQP,
 * distribution and epmd ports, and data under {@code dir}, so it never meets the machine's or
 * another run's broker. Used by {@code virga up --hosts N} and by tests. Durable queues survive
 * {@link #restart()}; {@link #close()} stops broker and epmd. Both are recorded in {@link
 * OwnedProcesses}, so a killed run's broker is stopped at the next start.
 */
public final class PrivateBroker implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PrivateBroker.class);
  private static final Path SERVER = Path.of("/usr/lib/rabbitmq/bin/rabbitmq-server");

  private final Path dir;
  private final String node;
  private final int port;
  private final int distPort;
  private final int epmdPort;
  private final OwnedProcesses owned;
  private Process epmd;
  private Process server;

  private PrivateBroker(
      Path dir, String node, int port, int distPort, int epmdPort, OwnedProcesses owned) {
    this.dir = dir;
    this.node = node;
    this.port = port;
    this.distPort = distPort;
    this.epmdPort = epmdPort;
    this.owned = owned;
  }

  /**
   * Starts a broker with its data in {@code dir}, listening on {@code port} (0 = a free port) and
   * waits until it accepts connections.
   */
  public static PrivateBroker start(Path dir, int port, OwnedProcesses owned, Duration timeout) {
    if (!Files.isExecutable(SERVER)) {
      throw new NamespacedHostsException(
          SERVER
              + " is missing: `virga host-setup --for-tests` (or up --hosts) installs rabbitmq-server");
    }
    String node =
        "virga-"
            + ProcessHandle.current().pid()
            + "-"
            + Long.toString(System.nanoTime() % 100000)
            + "@localhost";
    PrivateBroker b =
        new PrivateBroker(
            dir.toAbsolutePath(),
            node,
            port == 0 ? freePort() : port,
            freePort(),
            freePort(),
            owned);
    try {
      b.startProcesses(timeout);
      return b;
    } catch (RuntimeException e) {
      b.close();
      throw e;
    }
  }

  /** The AMQP URL of the default vhost, user guest (allowed from loopback only). */
  public URI uri() {
    return URI.create("amqp://guest:guest@127.0.0.1:" + port + "/%2F");
  }

  public int port() {
    return port;
  }

  /** Stops the broker and starts it again on the same ports and data (durable queues survive). */
  public void restart(Duration timeout) {
    stopServer();
    startServer(timeout);
  }

  /** Stops the broker (clients see the connection drop), keeping its data. */
  public void stopServer() {
    if (server == null) {
      return;
    }
    List<ProcessHandle> tree = server.descendants().toList();
    tree.forEach(ProcessHandle::destroy);
    server.destroy();
    waitFor(server, Duration.ofSeconds(30));
    tree.forEach(ProcessHandle::destroyForcibly);
    server.destroyForcibly();
    waitFor(server, Duration.ofSeconds(10));
    owned.remove(server.toHandle());
    server = null;
  }

  private void startProcesses(Duration timeout) {
    try {
      for (String d : List.of("mnesia", "log")) {
        Files.createDirectories(dir.resolve(d));
      }
      Files.writeString(dir.resolve("enabled_plugins"), "[].\n");
      epmd =
          Command.of("epmd", "-port", Integer.toString(epmdPort), "-address", "127.0.0.1")
              .startInBackground(dir.resolve("epmd.log"));
      owned.add(epmd.toHandle(), "epmd");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start epmd for the private broker in " + dir, e);
    }
    startServer(timeout);
  }

  private void startServer(Duration timeout) {
    Map<String, String> env = new java.util.LinkedHashMap<>();
    env.put("HOME", dir.toString());
    env.put("ERL_EPMD_PORT", Integer.toString(epmdPort));
    env.put("RABBITMQ_NODENAME", node);
    env.put("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1");
    env.put("RABBITMQ_NODE_PORT", Integer.toString(port));
    env.put("RABBITMQ_DIST_PORT", Integer.toString(distPort));
    env.put("RABBITMQ_MNESIA_BASE", dir.resolve("mnesia").toString());
    env.put("RABBITMQ_LOG_BASE", dir.resolve("log").toString());
    env.put("RABBITMQ_ENABLED_PLUGINS_FILE", dir.resolve("enabled_plugins").toString());
    env.put("RABBITMQ_PID_FILE", dir.resolve("pid").toString());
    // no scheduler busy-waiting: the broker shares its cores with the API, the agents and
    // PostgreSQL here, and spinning Erlang schedulers take CPU from them (RabbitMQ's own advice
    // for shared or containerised hosts)
    env.put("RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS", "+sbwt none +sbwtdcpu none +sbwtdio none");
    Path out = dir.resolve("server.out");
    try {
      server = Command.of(SERVER.toString()).env(env).startInBackground(out);
    } catch (CommandException e) {
      throw new NamespacedHostsException("cannot start rabbitmq-server: " + e.getMessage(), e);
    }
    owned.add(server.toHandle(), "rabbitmq-server");
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      String log = read(out);
      if (!server.isAlive()) {
        throw new NamespacedHostsException("rabbitmq-server exited at start:\n" + log);
      }
      if (log.contains("completed with") && accepts(port)) {
        LOG.info("private RabbitMQ {} is up on 127.0.0.1:{} (data in {})", node, port, dir);
        return;
      }
      sleep(250);
    }
    throw new NamespacedHostsException(
        "rabbitmq-server did not start within " + timeout + ":\n" + read(out));
  }

  private static String read(Path f) {
    try {
      return Files.exists(f) ? Files.readString(f) : "";
    } catch (IOException e) {
      return "";
    }
  }

  private static boolean accepts(int port) {
    try (Socket s = new Socket("127.0.0.1", port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void waitFor(Process p, Duration d) {
    try {
      p.waitFor(d.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new NamespacedHostsException("interrupted while starting rabbitmq-server", e);
    }
  }

  /** Stops broker and epmd; the data directory stays. */
  @Override
  public void close() {
    stopServer();
    if (epmd != null) {
      epmd.destroy();
      waitFor(epmd, Duration.ofSeconds(5));
      epmd.destroyForcibly();
      owned.remove(epmd.toHandle());
      epmd = null;
    }
  }
}
