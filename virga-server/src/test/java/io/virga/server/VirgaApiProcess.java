package io.virga.server;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One {@code virga api} process from the built jar, configured by environment as an operator would
 * (PostgreSQL, RabbitMQ, test passwords, a cheap password hash); its log goes to {@code log}.
 */
final class VirgaApiProcess implements AutoCloseable {
  static final String ADMIN_PW = "it-admin-pw";
  static final String DEMO_PW = "it-demo-pw";

  private final Process process;
  private final String url;

  private VirgaApiProcess(Process process, String url) {
    this.process = process;
    this.url = url;
  }

  static Path jar() {
    return Path.of(System.getProperty("virga.repo", "..")).resolve("virga-server/target/virga.jar");
  }

  /**
   * Starts it and waits until it serves. {@code extra} adds or overrides environment variables
   * (e.g. {@code VIRGA_SCHEDULING_RECOVERY_AGE}).
   */
  static VirgaApiProcess start(
      Path home,
      String databaseUrl,
      String transportUrl,
      String servicePassword,
      Map<String, String> extra,
      Path log)
      throws IOException {
    int port = freePort();
    Process p = launch(home, databaseUrl, transportUrl, servicePassword, port, extra, log);
    org.awaitility.Awaitility.await()
        .atMost(Duration.ofSeconds(120))
        .pollInterval(Duration.ofMillis(250))
        .alias("virga api up (" + log + ")")
        .until(
            () -> {
              if (!p.isAlive()) {
                throw new AssertionError("virga api exited:\n" + Files.readString(log));
              }
              return Files.readString(log).contains("virga api is up on");
            });
    return new VirgaApiProcess(p, "http://127.0.0.1:" + port);
  }

  /** Starts it without waiting; an empty value in {@code extra} removes that variable. */
  static Process launch(
      Path home,
      String databaseUrl,
      String transportUrl,
      String servicePassword,
      int port,
      Map<String, String> extra,
      Path log)
      throws IOException {
    ProcessBuilder pb =
        new ProcessBuilder(
            java(), "-Xmx512m", "-cp", jar().toString(), Main.class.getName(), "api");
    Map<String, String> env = pb.environment();
    env.put("VIRGA_HOME", home.toString());
    env.put("VIRGA_DATABASE_URL", databaseUrl);
    env.put("VIRGA_DATABASE_USER", "postgres");
    env.put("VIRGA_DATABASE_PASSWORD", "");
    env.put("VIRGA_TRANSPORT_URL", transportUrl);
    env.put("VIRGA_PORT", Integer.toString(port));
    env.put("VIRGA_PASSWORD_HASH_COST", "4");
    env.put("VIRGA_ADMIN_PASSWORD", ADMIN_PW);
    env.put("VIRGA_DEMO_PASSWORD", DEMO_PW);
    env.put("VIRGA_SERVICE_PASSWORD", servicePassword);
    extra.forEach(
        (k, v) -> {
          if (v.isEmpty()) {
            env.remove(k);
          } else {
            env.put(k, v);
          }
        });
    Files.createDirectories(log.getParent());
    pb.redirectErrorStream(true).redirectOutput(log.toFile());
    return pb.start();
  }

  String url() {
    return url;
  }

  /** SIGKILL: no shutdown hook, nothing finished — as a crashed or fenced-off controller. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  @Override
  public void close() {
    process.destroy();
    try {
      process.waitFor(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    process.destroyForcibly();
  }

  static String java() {
    return ProcessHandle.current().info().command().orElse("java");
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
