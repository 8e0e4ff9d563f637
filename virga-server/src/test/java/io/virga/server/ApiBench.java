package io.virga.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.virga.core.Config;
import io.virga.libvirt.LibvirtDriver;
import io.virga.libvirt.RawFloor;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * API benchmark (bench/README.md, "API create"): {@code POST /servers} → ACTIVE seen by {@code GET
 * /servers/{id}} through the whole of {@code virga up} (real libvirt, TCG, tiny guest, v1.tiny),
 * against the raw floor — qemu-img create of the overlay + defineXML + start of the domain XML
 * Virga generated, polled to RUNNING — interleaved in the same run, single and concurrent.
 */
public final class ApiBench {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http = HttpClient.newHttpClient();
  private final UpCommand.Running up;
  private final LibvirtDriver driver;
  private final Path floorDir;
  private final String base;
  private final String token;
  private final String imageId;
  private RawFloor floor;

  private ApiBench(UpCommand.Running up, Path floorDir) throws Exception {
    this.up = up;
    this.driver = (LibvirtDriver) up.cloud().driver();
    this.floorDir = floorDir;
    this.base = up.cloud().api().url();
    this.token = token();
    this.imageId =
        UpDefaults.activeImage(
                up.cloud().images(), up.users().adminProjectId(), UpDefaults.TINY_IMAGE)
            .orElseThrow()
            .id();
    up.cloud()
        .compute()
        .quotas()
        .set(up.users().adminProjectId(), Map.of("instances", -1L, "cores", -1L, "ram", -1L));
  }

  public static void main(String[] args) throws Exception {
    int runs = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    int concurrency = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    Path home = Files.createTempDirectory("virga-apibench-");
    Map<String, String> values = new HashMap<>();
    values.put("home", home.toString());
    values.put("port", "0");
    values.put("virt_type", System.getenv().getOrDefault("VIRGA_VIRT_TYPE", "qemu"));
    values.put("password_hash_cost", "4");
    Config config = Config.of(values);
    VirgaUpProcess.seedInstanceIds(config); // libvirtd may be shared
    UpCommand.Running up =
        UpCommand.start(
            config,
            Map.of("VIRGA_ADMIN_PASSWORD", "bench-admin", "VIRGA_DEMO_PASSWORD", "bench-demo"),
            home.resolve("clouds.yaml"),
            null,
            new PrintStream(java.io.OutputStream.nullOutputStream()));
    try {
      ApiBench b = new ApiBench(up, Files.createDirectories(home.resolve("floor")));
      b.warm();
      System.out.printf("api bench: %d runs, concurrency %d, load %s%n", runs, concurrency, load());
      RawFloor.report("single", runs, 1, "api", b::apiSpawn, b.floor::spawn);
      RawFloor.report(
          "concurrent-" + concurrency,
          Math.max(1, (runs + 1) / 2),
          concurrency,
          "api",
          b::apiSpawn,
          b.floor::spawn);
    } finally {
      up.cloud().close();
      try (Stream<Path> walk = Files.walk(home)) {
        walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static String load() throws Exception {
    return Files.readString(Path.of("/proc/loadavg")).strip();
  }

  private String token() throws Exception {
    String body =
        """
        {"auth": {"identity": {"methods": ["password"], "password": {"user":
          {"name": "admin", "domain": {"name": "Default"}, "password": "bench-admin"}}},
         "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
        """;
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create(base + "/identity/v3/auth/tokens"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    return r.headers().firstValue("X-Subject-Token").orElseThrow();
  }

  private HttpResponse<String> call(String method, String path, String body) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(base + "/compute/v2.1" + path))
            .header("X-Auth-Token", token)
            .header("OpenStack-API-Version", "compute 2.37")
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      b.header("Content-Type", "application/json");
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** POST /servers and poll GET until ACTIVE; returns nanoseconds; deletes it afterwards. */
  private long apiSpawn() throws Exception {
    String body =
        """
        {"server": {"name": "bench", "imageRef": "%s", "flavorRef": "v1.tiny", "networks": "none"}}
        """
            .formatted(imageId);
    long t0 = System.nanoTime();
    HttpResponse<String> r = call("POST", "/servers", body);
    if (r.statusCode() != 202) {
      throw new IllegalStateException("create: " + r.statusCode() + " " + r.body());
    }
    String id = JSON.readTree(r.body()).path("server").path("id").asText();
    while (true) {
      JsonNode s = JSON.readTree(call("GET", "/servers/" + id, null).body()).path("server");
      String status = s.path("status").asText();
      if (status.equals("ACTIVE")) {
        break;
      }
      if (status.equals("ERROR")) {
        throw new IllegalStateException("server went to ERROR: " + s.path("fault"));
      }
      // 50 ms: ten clients polling faster would take the CPU the guests boot on (2 cores)
      Thread.sleep(50);
    }
    long ns = System.nanoTime() - t0;
    call("DELETE", "/servers/" + id, null);
    while (call("GET", "/servers/" + id, null).statusCode() != 404) {
      Thread.sleep(20);
    }
    return ns;
  }

  /** One boot through the API: fills the base cache and captures the XML the floor replays. */
  private void warm() throws Exception {
    String body =
        """
        {"server": {"name": "warm", "imageRef": "%s", "flavorRef": "v1.tiny", "networks": "none"}}
        """
            .formatted(imageId);
    String id =
        JSON.readTree(call("POST", "/servers", body).body()).path("server").path("id").asText();
    while (!JSON.readTree(call("GET", "/servers/" + id, null).body())
        .path("server")
        .path("status")
        .asText()
        .equals("ACTIVE")) {
      Thread.sleep(50);
    }
    String templateXml = Files.readString(driver.options().instanceDir(id).resolve("libvirt.xml"));
    floor = RawFloor.of(driver, floorDir, templateXml, imageId, java.util.Optional.empty());
    call("DELETE", "/servers/" + id, null);
    while (call("GET", "/servers/" + id, null).statusCode() != 404) {
      Thread.sleep(50);
    }
  }
}
