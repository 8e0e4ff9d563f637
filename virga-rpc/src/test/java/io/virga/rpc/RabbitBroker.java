package io.virga.rpc;

import io.virga.testing.PerClassFixture;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A throw-away rabbitmq-server (Debian package) for one test class: its own node name, ports,
 * Mnesia directory and cookie under a temp dir; stopped and removed by {@link #close}.
 */
public final class RabbitBroker implements AutoCloseable {
  private static final Path SERVER = Path.of("/usr/lib/rabbitmq/bin/rabbitmq-server");
  private final Path dir;
  private final Process process;
  private final int port;

  private RabbitBroker(Path dir, Process process, int port) {
    this.dir = dir;
    this.process = process;
    this.port = port;
  }

  public static RabbitBroker start(Duration startTimeout) throws IOException, InterruptedException {
    if (!Files.isExecutable(SERVER)) {
      throw new IllegalStateException(
          SERVER + " is missing: apt-get install rabbitmq-server (the IT needs a real broker)");
    }
    Path dir = Files.createTempDirectory("virga-rabbit-it-");
    Files.createDirectories(dir.resolve("mnesia"));
    Files.createDirectories(dir.resolve("log"));
    Files.writeString(dir.resolve("enabled_plugins"), "[].\n");
    int port = freePort();
    int dist = freePort();
    ProcessBuilder pb = new ProcessBuilder(SERVER.toString());
    Map<String, String> env = pb.environment();
    env.put("HOME", dir.toString());
    env.put("RABBITMQ_NODENAME", "virga-it-" + ProcessHandle.current().pid() + "@localhost");
    env.put("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1");
    env.put("RABBITMQ_NODE_PORT", Integer.toString(port));
    env.put("RABBITMQ_DIST_PORT", Integer.toString(dist));
    env.put("RABBITMQ_MNESIA_BASE", dir.resolve("mnesia").toString());
    env.put("RABBITMQ_LOG_BASE", dir.resolve("log").toString());
    env.put("RABBITMQ_ENABLED_PLUGINS_FILE", dir.resolve("enabled_plugins").toString());
    env.put("RABBITMQ_PID_FILE", dir.resolve("pid").toString());
    pb.redirectErrorStream(true).redirectOutput(dir.resolve("server.out").toFile());
    RabbitBroker broker = new RabbitBroker(dir, pb.start(), port);
    long deadline = System.nanoTime() + startTimeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (!broker.process.isAlive()) {
        String out = Files.readString(dir.resolve("server.out"));
        broker.close();
        throw new IllegalStateException("rabbitmq-server exited at start:\n" + out);
      }
      if (Files.readString(dir.resolve("server.out")).contains("completed with") && accepts(port)) {
        return broker;
      }
      Thread.sleep(250);
    }
    broker.close();
    throw new IllegalStateException("rabbitmq-server did not start within " + startTimeout);
  }

  /**
   * One broker per test class: {@code @RegisterExtension static final … = RabbitBroker.perClass()}.
   */
  public static PerClassFixture<RabbitBroker> perClass() {
    return new PerClassFixture<>(() -> start(Duration.ofSeconds(180)));
  }

  public URI uri() {
    return URI.create("amqp://guest:guest@127.0.0.1:" + port + "/%2F");
  }

  private static boolean accepts(int port) {
    try (Socket s = new Socket("127.0.0.1", port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Override
  public void close() {
    // the script runs erl as a child; stop the whole tree we started
    process.descendants().forEach(ProcessHandle::destroy);
    process.destroy();
    try {
      process.waitFor(20, java.util.concurrent.TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // temp files only
    }
  }
}
