package io.virga.server;

import io.virga.core.Config;
import io.virga.db.Database;
import io.virga.testing.Cli;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * {@code virga up} from the built jar as its own process, for the command-line suites: its home, a
 * free port, its clouds.yaml and a log that collects every start. Passwords are {@link
 * #ADMIN_PASSWORD} and {@link #DEMO_PASSWORD}. One instance per host a test runs.
 */
final class VirgaUpProcess {
  static final String ADMIN_PASSWORD = "it-admin-pw";
  static final String DEMO_PASSWORD = "it-demo-pw";

  final Path home;
  final Path clouds;
  final Path log;
  final int port;
  private final Map<String, String> env;
  private final java.util.List<String> extraArgs = new java.util.ArrayList<>();
  private Process process;

  /** A launcher for {@code home} with {@code env} (database settings, …) added to its own. */
  VirgaUpProcess(Path home, Map<String, String> env) {
    this.home = home;
    this.clouds = home.resolve("clouds.yaml");
    this.log = home.resolve("up.log");
    this.port = freePort();
    this.env = new HashMap<>(env);
  }

  /**
   * libvirtd is shared: starts this run's domain names ({@code instance-%08x}) at a random id in
   * the database {@code config} names, before virga up creates any.
   */
  static void seedInstanceIds(Config config) {
    try (Database db = Database.open(config)) {
      long start = 0x10000000L + ThreadLocalRandom.current().nextLong(0x6fffffffL);
      db.useTransaction(
          h ->
              h.createUpdate(
                      "UPDATE compute_id_counters SET next_value = :v WHERE name = 'instances'")
                  .bind("v", start)
                  .execute());
    }
  }

  /** Adds arguments to {@code virga up} ({@code --hosts 2}, …). */
  VirgaUpProcess withArgs(String... args) {
    extraArgs.addAll(java.util.List.of(args));
    return this;
  }

  /** Starts virga up and waits (up to 180 s) for its "Virga is up" line. */
  void start() throws IOException, InterruptedException {
    String java = ProcessHandle.current().info().command().orElse("java");
    Path jar =
        Path.of(System.getProperty("virga.repo", "..")).resolve("virga-server/target/virga.jar");
    if (!Files.exists(jar)) {
      throw new AssertionError(jar + " is missing: package virga-server first");
    }
    ProcessBuilder pb =
        new ProcessBuilder(
            java,
            "-jar",
            jar.toString(),
            "up",
            "--port",
            Integer.toString(port),
            "--clouds-yaml",
            clouds.toString());
    pb.command().addAll(extraArgs);
    pb.environment().put("VIRGA_HOME", home.toString());
    pb.environment().put("VIRGA_ADMIN_PASSWORD", ADMIN_PASSWORD);
    pb.environment().put("VIRGA_DEMO_PASSWORD", DEMO_PASSWORD);
    pb.environment().putAll(env);
    pb.redirectErrorStream(true);
    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    int offset = logText().length();
    process = pb.start();
    awaitUp(offset);
  }

  private void awaitUp(int logOffset) throws InterruptedException {
    Instant deadline = Instant.now().plusSeconds(extraArgs.contains("--hosts") ? 420 : 180);
    while (Instant.now().isBefore(deadline)) {
      if (!process.isAlive()) {
        throw new AssertionError("virga up exited with " + process.exitValue() + ":\n" + logText());
      }
      if (logText().substring(logOffset).contains("Virga is up on http://127.0.0.1:" + port)) {
        return;
      }
      Thread.sleep(200);
    }
    throw new AssertionError("virga up did not come up within 180 s:\n" + logText());
  }

  boolean isAlive() {
    return process != null && process.isAlive();
  }

  /** SIGTERM, as Ctrl-C or an init system would; true when it stopped within 60 s. */
  boolean stop() throws InterruptedException {
    process.destroy();
    return process.waitFor(60, TimeUnit.SECONDS);
  }

  /** SIGKILL: no shutdown hook runs; true when it is gone within 60 s. */
  boolean kill() throws InterruptedException {
    process.destroyForcibly();
    return process.waitFor(60, TimeUnit.SECONDS);
  }

  /** Sends {@code kill -<signal>} (STOP, CONT, …) to the virga up process. */
  void signal(String signal) {
    Cli.run(java.util.List.of("kill", "-" + signal, Long.toString(process.pid())))
        .orFail("kill -" + signal);
  }

  String logText() {
    try {
      return Files.exists(log) ? Files.readString(log) : "";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** {@code openstack --os-cloud <cloud> args…} against this virga up. */
  Cli.Result cli(String cloud, String... args) {
    return Cli.openstack(clouds, cloud, args);
  }

  /** {@link #cli} that must exit 0. */
  Cli.Result ok(String cloud, String... args) {
    return Cli.openstackOk(clouds, cloud, args);
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
