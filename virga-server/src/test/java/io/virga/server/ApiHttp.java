package io.virga.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.function.Predicate;
import org.awaitility.Awaitility;

/** A small HTTP client of a running Virga API for the multi-host tests (tokens, calls, waits). */
final class ApiHttp {
  static final ObjectMapper JSON = new ObjectMapper();
  private final String base;
  private final HttpClient http = HttpClient.newHttpClient();

  ApiHttp(String base) {
    this.base = base;
  }

  record Reply(int status, JsonNode json, String text) {}

  String base() {
    return base;
  }

  String token(String user, String password, String project) {
    String body =
        """
        {"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "%s",
         "domain": {"id": "default"}, "password": "%s"}}}, "scope": {"project": {"name": "%s",
         "domain": {"id": "default"}}}}}
        """
            .formatted(user, password, project);
    HttpResponse<String> r = send("POST", "/identity/v3/auth/tokens", null, null, body);
    if (r.statusCode() != 201) {
      throw new AssertionError("token for " + user + ": " + r.statusCode() + " " + r.body());
    }
    return r.headers().firstValue("X-Subject-Token").orElseThrow();
  }

  HttpResponse<String> send(String method, String path, String token, String version, String body) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60));
    if (token != null) {
      b.header("X-Auth-Token", token);
    }
    if (version != null) {
      b.header("OpenStack-API-Version", "compute " + version);
    }
    b.method(
        method,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      b.header("Content-Type", "application/json");
    }
    try {
      return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new AssertionError(method + " " + path + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  Reply call(String method, String path, String token, String version, String body) {
    HttpResponse<String> r = send(method, "/compute/v2.1" + path, token, version, body);
    JsonNode json = null;
    try {
      json = r.body().isEmpty() ? null : JSON.readTree(r.body());
    } catch (IOException e) {
      // not JSON
    }
    return new Reply(r.statusCode(), json, r.body());
  }

  /** Uploads a public qcow2 image and returns its id. */
  String uploadImage(String token, String name, Path file) {
    HttpResponse<String> c =
        send(
            "POST",
            "/image/v2/images",
            token,
            null,
            """
            {"name": "%s", "disk_format": "qcow2", "container_format": "bare",
             "visibility": "public"}
            """
                .formatted(name));
    if (c.statusCode() != 201) {
      throw new AssertionError("image create: " + c.statusCode() + " " + c.body());
    }
    String id;
    try {
      id = JSON.readTree(c.body()).path("id").asText();
      HttpRequest put =
          HttpRequest.newBuilder(URI.create(base + "/image/v2/images/" + id + "/file"))
              .header("X-Auth-Token", token)
              .header("Content-Type", "application/octet-stream")
              .PUT(HttpRequest.BodyPublishers.ofFile(file))
              .build();
      HttpResponse<String> r = http.send(put, HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 204) {
        throw new AssertionError("image upload: " + r.statusCode() + " " + r.body());
      }
      return id;
    } catch (IOException e) {
      throw new AssertionError(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** One multi-create of {@code n} v1.tiny servers without networks (min_count = max_count). */
  void bootMany(String token, String name, String image, int n) {
    Reply r =
        call(
            "POST",
            "/servers",
            token,
            "2.37",
            """
            {"server": {"name": "%s", "imageRef": "%s", "flavorRef": "v1.tiny",
             "networks": "none", "min_count": %d, "max_count": %d}}
            """
                .formatted(name, image, n, n));
    if (r.status() != 202) {
      throw new IllegalStateException("create: " + r.status() + " " + r.text());
    }
  }

  /** POST /servers at 2.37 without networks; {@code az} may be null. Returns the server id. */
  String boot(String token, String name, String image, String flavor, String az) {
    String body =
        az == null
            ? """
              {"server": {"name": "%s", "imageRef": "%s", "flavorRef": "%s", "networks": "none"}}
              """
                .formatted(name, image, flavor)
            : """
              {"server": {"name": "%s", "imageRef": "%s", "flavorRef": "%s", "networks": "none",
               "availability_zone": "%s"}}
              """
                .formatted(name, image, flavor, az);
    Reply r = call("POST", "/servers", token, "2.37", body);
    if (r.status() != 202) {
      throw new AssertionError("boot " + name + ": " + r.status() + " " + r.text());
    }
    return r.json().path("server").path("id").asText();
  }

  JsonNode server(String token, String id) {
    Reply r = call("GET", "/servers/" + id, token, "2.37", null);
    if (r.status() != 200) {
      throw new AssertionError("show " + id + ": " + r.status() + " " + r.text());
    }
    return r.json().path("server");
  }

  /** Waits for a status with no task; fails at once on ERROR unless that is what is awaited. */
  JsonNode awaitStatus(String token, String id, String status, Duration timeout) {
    JsonNode[] last = new JsonNode[1];
    Awaitility.await()
        .atMost(timeout)
        .pollInterval(Duration.ofMillis(250))
        .alias("server " + id + " to reach " + status)
        .until(
            () -> {
              last[0] = server(token, id);
              String s = last[0].path("status").asText();
              if (s.equals("ERROR") && !status.equals("ERROR")) {
                throw new AssertionError("server " + id + " went to ERROR: " + last[0]);
              }
              return s.equals(status) && last[0].path("OS-EXT-STS:task_state").isNull();
            });
    return last[0];
  }

  String console(String token, String id) {
    Reply r =
        call("POST", "/servers/" + id + "/action", token, "2.37", "{\"os-getConsoleOutput\": {}}");
    return r.status() == 200 ? r.json().path("output").asText() : "";
  }

  void awaitConsole(String token, String id, String text, Duration timeout) {
    Awaitility.await()
        .atMost(timeout)
        .pollInterval(Duration.ofMillis(500))
        .alias("console of " + id + " to show " + text)
        .until(() -> console(token, id).contains(text));
  }

  /** The compute services by host: "up" or "down". */
  Map<String, String> serviceStates(String token) {
    return services(token, s -> s.path("state").asText());
  }

  /**
   * Each compute service's last heartbeat ({@code updated_at}, UTC): a state of "up" alone may
   * still be the heartbeat from before an outage, within service_down_time.
   */
  Map<String, java.time.Instant> servicesSeen(String token) {
    Map<String, java.time.Instant> out =
        services(
            token,
            s ->
                s.path("updated_at").isTextual()
                    ? java.time.LocalDateTime.parse(s.path("updated_at").asText())
                        .toInstant(java.time.ZoneOffset.UTC)
                    : null);
    out.values().removeIf(java.util.Objects::isNull);
    return out;
  }

  /** One value of each compute service (os-services), by host. */
  private <T> Map<String, T> services(String token, java.util.function.Function<JsonNode, T> of) {
    Map<String, T> out = new java.util.TreeMap<>();
    for (JsonNode s : call("GET", "/os-services", token, null, null).json().path("services")) {
      out.put(s.path("host").asText(), of.apply(s));
    }
    return out;
  }

  void awaitServices(
      String token, Predicate<Map<String, String>> ok, Duration timeout, String what) {
    awaitServices(() -> serviceStates(token), ok, timeout, what);
  }

  /** Until {@link #servicesSeen} satisfies {@code ok}. */
  void awaitServicesSeen(
      String token, Predicate<Map<String, java.time.Instant>> ok, Duration timeout, String what) {
    awaitServices(() -> servicesSeen(token), ok, timeout, what);
  }

  private static <T> void awaitServices(
      java.util.function.Supplier<T> read, Predicate<T> ok, Duration timeout, String what) {
    Awaitility.await()
        .atMost(timeout)
        .pollInterval(Duration.ofMillis(500))
        .alias(what)
        .until(() -> ok.test(read.get()));
  }
}
