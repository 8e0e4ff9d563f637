package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.virga.core.Config;
import io.virga.db.Database;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * {@code virga up} from the built jar (real libvirt driver, SQLite, the tiny guest) in a temporary
 * VIRGA_HOME on a free port, driven with the stock {@code openstack} CLI. Domain names start at a
 * random id (libvirtd is shared); {@link #close()} deletes the servers it was told of, stops the
 * process, removes leftover domains and the home.
 */
final class LifecycleCloud implements AutoCloseable {
  static final ObjectMapper JSON = new ObjectMapper();
  final Path home;
  final Path clouds;
  final Path log;
  final int port;
  final Set<String> servers = new LinkedHashSet<>();
  final Set<String> domains = new LinkedHashSet<>();
  private Process up;

  LifecycleCloud(String prefix, Map<String, String> env) throws Exception {
    home = Files.createTempDirectory(prefix);
    clouds = home.resolve("clouds.yaml");
    log = home.resolve("up.log");
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    try (Database db = Database.open(Config.of(Map.of("home", home.toString())))) {
      long start = 0x10000000L + ThreadLocalRandom.current().nextLong(0x6fffffffL);
      db.useTransaction(
          h ->
              h.createUpdate(
                      "UPDATE compute_id_counters SET next_value = :v WHERE name = 'instances'")
                  .bind("v", start)
                  .execute());
    }
    String java = ProcessHandle.current().info().command().orElse("java");
    Path jar =
        Path.of(System.getProperty("virga.repo", "..")).resolve("virga-server/target/virga.jar");
    assertThat(jar).exists();
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
    pb.environment().put("VIRGA_HOME", home.toString());
    pb.environment().put("VIRGA_ADMIN_PASSWORD", "it-admin-pw");
    pb.environment().put("VIRGA_DEMO_PASSWORD", "it-demo-pw");
    pb.environment().putAll(env);
    pb.redirectErrorStream(true);
    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    up = pb.start();
    Instant deadline = Instant.now().plusSeconds(180);
    while (!logText().contains("Virga is up on http://127.0.0.1:" + port)) {
      if (!up.isAlive() || Instant.now().isAfter(deadline)) {
        throw new AssertionError("virga up did not come up:\n" + logText());
      }
      Thread.sleep(200);
    }
  }

  record Result(int rc, String out, String err) {
    JsonNode json() {
      try {
        return JSON.readTree(out);
      } catch (IOException e) {
        throw new AssertionError("not JSON (rc " + rc + "): " + out + err, e);
      }
    }
  }

  String logText() {
    try {
      return Files.exists(log) ? Files.readString(log) : "";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  Result run(List<String> cmd, Map<String, String> env) {
    try {
      ProcessBuilder pb = new ProcessBuilder(cmd);
      pb.environment().putAll(env);
      Path out = Files.createTempFile(home, "out", ".txt");
      Path err = Files.createTempFile(home, "err", ".txt");
      pb.redirectOutput(out.toFile());
      pb.redirectError(err.toFile());
      Process p = pb.start();
      if (!p.waitFor(300, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError("timed out: " + cmd);
      }
      Result r = new Result(p.exitValue(), Files.readString(out), Files.readString(err));
      Files.delete(out);
      Files.delete(err);
      return r;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** {@code openstack --os-cloud <cloud> args…} against this run's clouds.yaml. */
  Result cli(String cloud, String... args) {
    List<String> cmd = new ArrayList<>(List.of("openstack", "--os-cloud", cloud));
    cmd.addAll(List.of(args));
    return run(cmd, Map.of("OS_CLIENT_CONFIG_FILE", clouds.toString()));
  }

  Result ok(String cloud, String... args) {
    Result r = cli(cloud, args);
    assertThat(r.rc()).as("openstack %s: %s", String.join(" ", args), r.err()).isZero();
    return r;
  }

  String virsh(String... args) {
    List<String> cmd = new ArrayList<>(List.of("virsh"));
    cmd.addAll(List.of(args));
    Result r = run(cmd, Map.of());
    return r.rc() == 0 ? r.out().strip() : "";
  }

  JsonNode show(String cloud, String id) {
    return ok(cloud, "server", "show", id, "-f", "json").json();
  }

  /** Polls server show until the status is reached with no task. */
  JsonNode awaitStatus(String cloud, String id, String status) {
    Instant deadline = Instant.now().plus(Duration.ofSeconds(180));
    JsonNode s = null;
    while (Instant.now().isBefore(deadline)) {
      s = show(cloud, id);
      if (s.path("status").asText().equals(status) && s.path("OS-EXT-STS:task_state").isNull()) {
        return s;
      }
      sleep(500);
    }
    throw new AssertionError("server did not reach " + status + ": " + s);
  }

  String console(String cloud, String id) {
    return ok(cloud, "console", "log", "show", id).out();
  }

  /** Waits until the console log matches {@code regex}; returns the log. */
  String awaitConsole(String cloud, String id, String regex) {
    java.util.regex.Pattern p =
        java.util.regex.Pattern.compile(regex, java.util.regex.Pattern.MULTILINE);
    Instant deadline = Instant.now().plusSeconds(180);
    String out = "";
    while (Instant.now().isBefore(deadline)) {
      out = console(cloud, id);
      if (p.matcher(out).find()) {
        return out;
      }
      sleep(1000);
    }
    throw new AssertionError("no /" + regex + "/ in the console log:\n" + out);
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() throws Exception {
    try {
      if (up != null && up.isAlive()) {
        for (String s : servers) {
          cli("virga", "server", "delete", "--wait", s);
        }
        up.destroy();
        up.waitFor(60, TimeUnit.SECONDS);
      }
    } finally {
      for (String d : domains) {
        run(List.of("virsh", "destroy", d), Map.of());
        run(List.of("virsh", "undefine", "--managed-save", d), Map.of());
      }
      try (Stream<Path> walk = Files.walk(home)) {
        walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }
}
