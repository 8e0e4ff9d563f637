package io.virga.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.virga.core.Config;
import io.virga.db.ImageRecord;
import io.virga.virt.FakeDriver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.awaitility.Awaitility;

/**
 * {@code virga up}'s wiring on a FakeDriver with SQLite in a temp VIRGA_HOME, on a free port, with
 * the admin and demo users, the default flavors and one public raw image; plus a small HTTP client.
 * The FakeDriver is the test's "hypervisor": it outlives {@link #restart()} as libvirt would.
 */
final class ComputeTestCloud implements AutoCloseable {
  static final ObjectMapper JSON = new ObjectMapper();
  final Path home;
  final FakeDriver driver;
  final Map<String, String> settings;
  UpCommand.Running running;
  String imageId;
  private final HttpClient http = HttpClient.newHttpClient();

  ComputeTestCloud(Path home, FakeDriver driver, Map<String, String> extra) {
    this.home = home;
    this.driver = driver;
    this.settings = new HashMap<>();
    settings.put("home", home.toString());
    settings.put("port", "0");
    settings.put("compute_driver", "fake");
    settings.put("password_hash_cost", "4");
    settings.put("import_tiny_image", "false");
    settings.put("update_resources_interval", "1");
    settings.putAll(extra);
    start();
  }

  private void start() {
    Config config = Config.of(settings);
    running =
        UpCommand.start(
            config,
            Map.of("VIRGA_ADMIN_PASSWORD", "adminpw", "VIRGA_DEMO_PASSWORD", "demopw"),
            home.resolve("clouds.yaml"),
            null,
            new java.io.PrintStream(java.io.OutputStream.nullOutputStream()),
            c -> driver,
            false);
  }

  void restart() {
    running.cloud().close();
    start();
  }

  synchronized String ensureImage() {
    if (imageId == null) {
      try {
        Path raw = home.resolve("test.raw");
        Files.write(raw, new byte[1024 * 1024]);
        ImageRecord r =
            UpDefaults.ensureImage(
                running.cloud().images(), running.users().adminProjectId(), "test-raw", raw, "raw");
        imageId = r.id();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return imageId;
  }

  String url() {
    return running.cloud().api().url();
  }

  record Reply(int status, JsonNode json, String text) {}

  String token(String user, String password, String project) {
    String body =
        """
        {"auth": {"identity": {"methods": ["password"], "password": {"user":
          {"name": "%s", "domain": {"name": "Default"}, "password": "%s"}}},
         "scope": {"project": {"name": "%s", "domain": {"id": "default"}}}}}
        """
            .formatted(user, password, project);
    HttpResponse<String> r = send("POST", "/identity/v3/auth/tokens", null, null, body);
    if (r.statusCode() != 201) {
      throw new AssertionError("token: " + r.statusCode() + " " + r.body());
    }
    return r.headers().firstValue("X-Subject-Token").orElseThrow();
  }

  String admin() {
    return token("admin", "adminpw", "admin");
  }

  String demo() {
    return token("demo", "demopw", "demo");
  }

  HttpResponse<String> send(String method, String path, String token, String version, String body) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(url() + path))
            .timeout(Duration.ofSeconds(30))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      b.header("X-Auth-Token", token);
    }
    if (version != null) {
      b.header("OpenStack-API-Version", "compute " + version);
    }
    if (body != null) {
      b.header("Content-Type", "application/json");
    }
    try {
      return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  Reply call(String method, String path, String token, String version, String body) {
    HttpResponse<String> r = send(method, "/compute/v2.1" + path, token, version, body);
    JsonNode json = null;
    if (!r.body().isEmpty()) {
      try {
        json = JSON.readTree(r.body());
      } catch (IOException e) {
        json = null;
      }
    }
    return new Reply(r.statusCode(), json, r.body());
  }

  Reply get(String path, String token) {
    return call("GET", path, token, null, null);
  }

  /** Boots a server at 2.37 (networks none) and returns its id. */
  String boot(String token, String name, String flavor) {
    Reply r =
        call(
            "POST",
            "/servers",
            token,
            "2.37",
            """
            {"server": {"name": "%s", "imageRef": "%s", "flavorRef": "%s", "networks": "none"}}
            """
                .formatted(name, ensureImage(), flavor));
    if (r.status() != 202) {
      throw new AssertionError("boot: " + r.status() + " " + r.text());
    }
    return r.json().path("server").path("id").asText();
  }

  JsonNode server(String token, String id) {
    Reply r = get("/servers/" + id, token);
    if (r.status() != 200) {
      throw new AssertionError("show: " + r.status() + " " + r.text());
    }
    return r.json().path("server");
  }

  /** Waits until the server has this status and no task. */
  JsonNode awaitStatus(String token, String id, String status) {
    JsonNode[] last = new JsonNode[1];
    Awaitility.await()
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(50))
        .alias("server " + id + " to reach " + status)
        .until(
            () -> {
              last[0] = server(token, id);
              return last[0].path("status").asText().equals(status)
                  && last[0].path("OS-EXT-STS:task_state").isNull();
            });
    return last[0];
  }

  /**
   * The agent dies in the middle of {@code ops}: each blocks when reached until {@link
   * AgentCrash#crash} closes the database (nothing the dying agent does afterwards lands), lets the
   * blocked calls fail, and restarts the whole process on the same home and driver.
   */
  AgentCrash crashDuring(io.virga.virt.FakeFaults.Op... ops) {
    return new AgentCrash(this, ops);
  }

  static final class AgentCrash {
    private final ComputeTestCloud cloud;
    private final java.util.concurrent.CountDownLatch reached;
    private final java.util.concurrent.CountDownLatch never =
        new java.util.concurrent.CountDownLatch(1);

    private AgentCrash(ComputeTestCloud cloud, io.virga.virt.FakeFaults.Op... ops) {
      this.cloud = cloud;
      this.reached = new java.util.concurrent.CountDownLatch(ops.length);
      for (io.virga.virt.FakeFaults.Op op : ops) {
        cloud
            .driver
            .faults()
            .hook(
                op,
                uuid -> {
                  reached.countDown();
                  try {
                    never.await();
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                  throw new io.virga.core.VirgaException("agent stopped mid-" + op);
                });
      }
    }

    /** Waits until every operation is blocked mid-way. */
    boolean awaitReached() throws InterruptedException {
      return reached.await(20, java.util.concurrent.TimeUnit.SECONDS);
    }

    void crash() {
      cloud.running.cloud().database().close();
      never.countDown();
      cloud.driver.faults().clear();
      cloud.restart();
    }
  }

  @Override
  public void close() {
    if (running != null) {
      running.cloud().close();
    }
  }
}
