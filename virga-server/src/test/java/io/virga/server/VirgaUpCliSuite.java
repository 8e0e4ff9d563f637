package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.virga.core.Config;
import io.virga.core.FileTrees;
import io.virga.testing.Cli;
import io.virga.testing.Cli.Result;
import io.virga.tinyguest.TinyGuest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The stock {@code openstack} CLI (Debian's python3-openstackclient) against {@code virga up}
 * started from the built jar, with the real libvirt driver. The steps run in order and share one
 * server; subclasses choose the database.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
abstract class VirgaUpCliSuite {
  static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern SERVER_ERROR = Pattern.compile(" 5(?!01)\\d\\d [0-9.]+ms");

  VirgaUpProcess up;
  Path home;
  String serverId;
  String domain;
  String host;

  /** Extra configuration (environment variables) for the database; empty for SQLite. */
  abstract Map<String, String> databaseEnv();

  /** The same database as a Config, so the test can prepare it before virga up starts. */
  abstract Config databaseConfig(Path home);

  @BeforeAll
  void startVirga() throws Exception {
    home = Files.createTempDirectory("virga-up-it-");
    VirgaUpProcess.seedInstanceIds(databaseConfig(home));
    up = new VirgaUpProcess(home, databaseEnv());
    up.start();
  }

  void stopUp() throws InterruptedException {
    assertThat(up.stop()).as("virga up stops on SIGTERM").isTrue();
  }

  String logText() {
    return up.logText();
  }

  @AfterAll
  void stopVirga() throws Exception {
    try {
      if (up != null && up.isAlive()) {
        if (serverId != null) {
          cli("virga", "server", "delete", "--wait", serverId);
        }
        stopUp();
      }
    } finally {
      if (domain != null) {
        Cli.virsh("destroy", domain);
        Cli.virsh("undefine", "--managed-save", domain);
      }
      FileTrees.deleteTree(home);
    }
  }

  /** {@code openstack --os-cloud <cloud> args…} against this run's clouds.yaml. */
  Result cli(String cloud, String... args) {
    return up.cli(cloud, args);
  }

  Result ok(String cloud, String... args) {
    return up.ok(cloud, args);
  }

  JsonNode show() {
    return ok("virga", "server", "show", serverId, "-f", "json").json();
  }

  /** Polls server show until the status is reached with no task (the CLI's own view). */
  void awaitStatus(String status) throws InterruptedException {
    Instant deadline = Instant.now().plus(Duration.ofSeconds(120));
    JsonNode s = null;
    while (Instant.now().isBefore(deadline)) {
      s = show();
      if (s.path("status").asText().equals(status) && s.path("OS-EXT-STS:task_state").isNull()) {
        return;
      }
      if (s.path("status").asText().equals("ERROR")) {
        break;
      }
      Thread.sleep(500);
    }
    throw new AssertionError("server did not reach " + status + ": " + s);
  }

  @Test
  @Order(1)
  void imageCreateListShowSave() throws Exception {
    Path disk = TinyGuest.ensureBuilt(TinyGuest.defaultCacheDir()).disk();
    JsonNode img =
        ok(
                "virga",
                "image",
                "create",
                "--disk-format",
                "qcow2",
                "--container-format",
                "bare",
                "--file",
                disk.toString(),
                "--private",
                "it-image",
                "-f",
                "json")
            .json();
    assertThat(img.path("name").asText()).isEqualTo("it-image");
    assertThat(ok("virga", "image", "list", "-f", "value", "-c", "Name").out())
        .contains("it-image");
    JsonNode shown = ok("virga", "image", "show", "it-image", "-f", "json").json();
    assertThat(shown.path("status").asText()).isEqualTo("active");
    byte[] bytes = Files.readAllBytes(disk);
    String md5 = HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(bytes));
    assertThat(shown.path("checksum").asText()).isEqualTo(md5);
    Path saved = home.resolve("saved.qcow2");
    ok("virga", "image", "save", "--file", saved.toString(), "it-image");
    assertThat(Files.readAllBytes(saved)).isEqualTo(bytes);
    // the demo user cannot see the admin's private image
    assertThat(cli("virga-demo", "image", "show", "it-image").rc()).isNotZero();
  }

  @Test
  @Order(2)
  void flavorList() {
    String flavors = ok("virga", "flavor", "list", "-f", "value", "-c", "Name").out();
    assertThat(flavors).contains("v1.tiny", "m1.tiny", "m1.small");
  }

  @Test
  @Order(3)
  void serverCreateWaitsForActive() {
    JsonNode s =
        ok(
                "virga",
                "--os-compute-api-version",
                "2.37",
                "server",
                "create",
                "--image",
                "it-image",
                "--flavor",
                "v1.tiny",
                "--nic",
                "none",
                "--wait",
                "it-vm",
                "-f",
                "json")
            .json();
    serverId = s.path("id").asText();
    assertThat(s.path("status").asText()).isEqualTo("ACTIVE");
    domain = s.path("OS-EXT-SRV-ATTR:instance_name").asText();
    host = s.path("OS-EXT-SRV-ATTR:host").asText();
    assertThat(domain).matches("instance-[0-9a-f]{8}");
    assertThat(ok("virga", "server", "list", "-f", "value", "-c", "Name").out()).contains("it-vm");
    assertThat(show().path("status").asText()).isEqualTo("ACTIVE");
    String services = ok("virga", "compute", "service", "list", "-f", "value", "-c", "Host").out();
    assertThat(services.lines()).contains(host);
  }

  @Test
  @Order(4)
  void consoleLogShowsTheBootLine() throws InterruptedException {
    Instant deadline = Instant.now().plusSeconds(90);
    String out = "";
    while (Instant.now().isBefore(deadline)) {
      out = ok("virga", "console", "log", "show", serverId).out();
      if (out.contains("VIRGA-GUEST-UP")) {
        return;
      }
      Thread.sleep(1000);
    }
    throw new AssertionError("no VIRGA-GUEST-UP in the console log:\n" + out);
  }

  @Test
  @Order(5)
  void theDemoUserCannotSeeOrTouchTheAdminsServer() {
    Result show = cli("virga-demo", "server", "show", serverId);
    assertThat(show.rc()).isNotZero();
    assertThat(show.err()).contains("No server with a name or ID");
    Result stop = cli("virga-demo", "server", "stop", serverId);
    assertThat(stop.rc()).isNotZero();
    assertThat(show().path("status").asText()).isEqualTo("ACTIVE");
  }

  @Test
  @Order(6)
  void anActionInTheWrongStateIs409() {
    Result r = cli("virga", "server", "unpause", serverId);
    assertThat(r.rc()).isNotZero();
    assertThat(r.err()).contains("409").contains("Cannot 'unpause'");
  }

  @Test
  @Order(7)
  void powerActionsReachTheirStates() throws InterruptedException {
    // action, the API's status, the domain's state as virsh domstate prints it
    String[][] steps = {
      {"stop", "SHUTOFF", "shut off"},
      {"start", "ACTIVE", "running"},
      {"reboot", "ACTIVE", "running"},
      {"reboot --hard", "ACTIVE", "running"},
      {"pause", "PAUSED", "paused"},
      {"unpause", "ACTIVE", "running"},
      {"suspend", "SUSPENDED", "shut off"}, // a managed save: off, its memory on disk
      {"resume", "ACTIVE", "running"},
    };
    for (String[] step : steps) {
      List<String> args = new ArrayList<>(List.of("server"));
      args.addAll(List.of(step[0].split(" ")));
      args.add(serverId);
      ok("virga", args.toArray(String[]::new));
      awaitStatus(step[1]);
      assertThat(Cli.virsh("domstate", domain)).as(step[0]).isEqualTo(step[2]);
    }
  }

  @Test
  @Order(8)
  void serverImageCreateSnapshotsIntoAnActiveImage() throws InterruptedException {
    JsonNode img =
        ok(
                "virga", "server", "image", "create", "--name", "it-snap", "--wait", serverId, "-f",
                "json")
            .json();
    String id = img.path("id").asText();
    JsonNode shown = ok("virga", "image", "show", id, "-f", "json").json();
    assertThat(shown.path("status").asText()).isEqualTo("active");
    assertThat(shown.path("disk_format").asText()).isNotEmpty();
    awaitStatus("ACTIVE");
    ok("virga", "image", "delete", id);
  }

  @Test
  @Order(9)
  void hypervisorListAndShow() {
    JsonNode list = ok("virga", "hypervisor", "list", "-f", "json").json();
    assertThat(list.size()).isGreaterThanOrEqualTo(1);
    String name = list.get(0).path("Hypervisor Hostname").asText();
    JsonNode h = ok("virga", "hypervisor", "show", name, "-f", "json").json();
    assertThat(h.path("hypervisor_hostname").asText()).isEqualTo(name);
    assertThat(h.path("vcpus").asInt()).isPositive();
    assertThat(h.path("running_vms").asInt()).isGreaterThanOrEqualTo(1);
  }

  @Test
  @Order(10)
  void aRestartKeepsTheServerAndItsState() throws Exception {
    ok("virga", "server", "stop", serverId);
    awaitStatus("SHUTOFF");
    stopUp();
    up.start();
    assertThat(ok("virga", "server", "list", "-f", "value", "-c", "ID").out()).contains(serverId);
    assertThat(show().path("status").asText()).isEqualTo("SHUTOFF");
    ok("virga", "server", "start", serverId);
    awaitStatus("ACTIVE");
  }

  @Test
  @Order(11)
  void deleteLeavesNoDomainAndNoFiles() {
    ok("virga", "server", "delete", "--wait", serverId);
    assertThat(cli("virga", "server", "show", serverId).rc()).isNotZero();
    assertThat(Cli.run(List.of("virsh", "dominfo", domain)).rc())
        .as("domain %s is gone", domain)
        .isNotZero();
    assertThat(home.resolve("instances").resolve(serverId)).doesNotExist();
    assertThat(home.resolve("instances").resolve(serverId + "_del")).doesNotExist();
    serverId = null;
  }

  @Test
  @Order(12)
  void anAgentKilledDuringASpawnLeavesTheServerInErrorAfterRestart() throws Exception {
    String token = apiToken();
    HttpResponse<String> created =
        api(
            "POST",
            "/compute/v2.1/servers",
            token,
            "{\"server\": {\"name\": \"it-crash\", \"imageRef\": \"%s\", \"flavorRef\": \"v1.tiny\","
                    .formatted(imageId())
                + " \"networks\": \"none\"}}");
    assertThat(created.statusCode()).as(created.body()).isEqualTo(202);
    String id = JSON.readTree(created.body()).path("server").path("id").asText();
    serverId = id;
    String seen = "";
    Instant deadline = Instant.now().plusSeconds(60);
    while (Instant.now().isBefore(deadline)) {
      JsonNode s =
          JSON.readTree(api("GET", "/compute/v2.1/servers/" + id, token, null).body())
              .path("server");
      seen = s.path("status").asText() + "/" + s.path("OS-EXT-STS:task_state").asText();
      domain = s.path("OS-EXT-SRV-ATTR:instance_name").asText();
      if (seen.equals("BUILD/spawning")) {
        break;
      }
      assertThat(s.path("status").asText()).as("still building").isEqualTo("BUILD");
      Thread.sleep(10);
    }
    assertThat(seen).isEqualTo("BUILD/spawning");
    assertThat(up.kill()).isTrue(); // SIGKILL mid-spawn: nothing gets to clean up
    up.start();
    awaitStatus("ERROR");
    ok("virga", "server", "delete", "--wait", id);
    assertThat(Cli.run(List.of("virsh", "dominfo", domain)).rc())
        .as("domain %s is gone", domain)
        .isNotZero();
    serverId = null;
    domain = null;
  }

  String imageId() {
    return ok("virga", "image", "show", "it-image", "-f", "value", "-c", "id").out().strip();
  }

  private final java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();

  HttpResponse<String> api(String method, String path, String token, String body) throws Exception {
    java.net.http.HttpRequest.Builder b =
        java.net.http.HttpRequest.newBuilder(
                java.net.URI.create("http://127.0.0.1:" + up.port + path))
            .method(
                method,
                body == null
                    ? java.net.http.HttpRequest.BodyPublishers.noBody()
                    : java.net.http.HttpRequest.BodyPublishers.ofString(body))
            .header("OpenStack-API-Version", "compute 2.37");
    if (token != null) {
      b.header("X-Auth-Token", token);
    }
    if (body != null) {
      b.header("Content-Type", "application/json");
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  String apiToken() throws Exception {
    HttpResponse<String> r =
        api(
            "POST",
            "/identity/v3/auth/tokens",
            null,
            """
            {"auth": {"identity": {"methods": ["password"], "password": {"user":
              {"name": "admin", "domain": {"name": "Default"}, "password": "%s"}}},
             "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
            """
                .formatted(VirgaUpProcess.ADMIN_PASSWORD));
    return r.headers().firstValue("X-Subject-Token").orElseThrow();
  }

  @Test
  @Order(13)
  void theServerLogShowsNo500() {
    List<String> bad = logText().lines().filter(l -> SERVER_ERROR.matcher(l).find()).toList();
    assertThat(bad).isEmpty();
    assertThat(logText()).doesNotContain("it-admin-pw").doesNotContain("it-demo-pw");
  }
}
