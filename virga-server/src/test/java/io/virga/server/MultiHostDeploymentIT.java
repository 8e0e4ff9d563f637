package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.virga.db.PostgresFixture;
import io.virga.multihost.NamespacedHost;
import io.virga.multihost.NamespacedHostsFixture;
import io.virga.multihost.OwnedProcesses;
import io.virga.multihost.PrivateBroker;
import io.virga.tinyguest.TinyGuest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real-deployment shape on one machine: PostgreSQL and RabbitMQ (Debian's servers), {@code
 * virga api}, and one {@code virga agent} process per namespaced host — the commands an operator
 * runs. Boots on both hosts, loses an agent to SIGKILL (down, not scheduled to, its server kept,
 * back up after a restart) and survives a broker restart.
 */
class MultiHostDeploymentIT {
  private static final Duration BOOT = Duration.ofSeconds(240);
  private static final String SERVICE_PW = "it-service-pw";

  @TempDir Path tmp;
  private final List<Process> agents = new ArrayList<>(List.of(dummy(), dummy()));
  private Path jar;
  private String transportUrl;
  private String apiUrl;
  private final int[] metricsPorts = new int[2];

  @Test
  void apiAndTwoAgentsOverPostgresAndRabbitmq() throws Exception {
    jar = VirgaApiProcess.jar();
    assertThat(jar).exists();
    OwnedProcesses owned = OwnedProcesses.open(OwnedProcesses.DEFAULT_DIR, "deployment-it");
    VirgaApiProcess api = null;
    try (PostgresFixture pg = PostgresFixture.start();
        PrivateBroker broker =
            PrivateBroker.start(tmp.resolve("rabbit"), 0, owned, Duration.ofSeconds(120));
        NamespacedHostsFixture hosts = NamespacedHostsFixture.start(2, false)) {
      transportUrl = broker.uri().toString();
      api =
          VirgaApiProcess.start(
              tmp.resolve("api"),
              pg.jdbcUrl(pg.createDatabase()),
              transportUrl,
              SERVICE_PW,
              Map.of("VIRGA_SERVICE_DOWN_TIME", "12"),
              logs().resolve("api.log"));
      apiUrl = api.url();
      for (int i = 1; i <= 2; i++) {
        metricsPorts[i - 1] = VirgaApiProcess.freePort();
        agents.set(i - 1, startAgent(hosts.host(i), i));
      }
      ApiHttp http = new ApiHttp(apiUrl);
      String admin = http.token("admin", VirgaApiProcess.ADMIN_PW, "admin");
      http.awaitServices(
          admin,
          s -> "up".equals(s.get("virga-host1")) && "up".equals(s.get("virga-host2")),
          Duration.ofSeconds(180),
          "both agents up");
      // what an operator watches: the agents' and the API's /metrics
      assertThat(metrics("http://127.0.0.1:" + metricsPorts[0] + "/metrics"))
          .contains("virga_agent_heartbeat_age_seconds")
          .contains("virga_agent_hypervisor_up 1.0")
          .contains("virga_rpc_call_seconds_count{topic=\"conductor\"}");
      String image =
          http.uploadImage(
              admin, "tiny", TinyGuest.ensureBuilt(TinyGuest.defaultCacheDir()).disk());

      // a server forced onto each host boots there, on that host's own libvirtd
      List<String> servers = new ArrayList<>();
      for (int i = 1; i <= 2; i++) {
        String id = http.boot(admin, "on-" + i, image, "v1.tiny", "nova:virga-host" + i);
        servers.add(id);
      }
      for (int i = 1; i <= 2; i++) {
        String id = servers.get(i - 1);
        assertThat(
                http.awaitStatus(admin, id, "ACTIVE", BOOT).path("OS-EXT-SRV-ATTR:host").asText())
            .isEqualTo("virga-host" + i);
        http.awaitConsole(admin, id, "VIRGA-GUEST-UP uuid=" + id, BOOT);
      }

      // SIGKILL host 2's agent: down within service_down_time, not scheduled to, server kept
      killAgent(1);
      http.awaitServices(
          admin, s -> "down".equals(s.get("virga-host2")), Duration.ofSeconds(60), "host2 down");
      String third = http.boot(admin, "while-down", image, "v1.tiny", null);
      assertThat(
              http.awaitStatus(admin, third, "ACTIVE", BOOT).path("OS-EXT-SRV-ATTR:host").asText())
          .isEqualTo("virga-host1");
      assertThat(http.server(admin, servers.get(1)).path("status").asText()).isEqualTo("ACTIVE");
      agents.set(1, startAgent(hosts.host(2), 2));
      http.awaitServices(
          admin, s -> "up".equals(s.get("virga-host2")), Duration.ofSeconds(120), "host2 back up");
      assertThat(http.server(admin, servers.get(1)).path("status").asText()).isEqualTo("ACTIVE");

      // broker restart: both sides reconnect, the next actions work
      broker.restart(Duration.ofSeconds(120));
      java.time.Instant restarted = java.time.Instant.now();
      // heartbeats stopped while the broker was away: both agents come back by themselves. "up"
      // alone would still be the last heartbeat before the restart (within service_down_time),
      // so wait for one sent through the restarted broker.
      http.awaitServicesSeen(
          admin,
          seen ->
              List.of("virga-host1", "virga-host2").stream()
                  .allMatch(h -> seen.containsKey(h) && seen.get(h).isAfter(restarted)),
          Duration.ofSeconds(120),
          "both agents heard from after the broker restart");
      String fourth = http.boot(admin, "after-restart", image, "v1.tiny", "nova:virga-host2");
      http.awaitStatus(admin, fourth, "ACTIVE", BOOT);
      assertThat(
              http.call(
                      "POST",
                      "/servers/" + servers.get(0) + "/action",
                      admin,
                      "2.37",
                      "{\"os-stop\": null}")
                  .status())
          .isEqualTo(202);
      http.awaitStatus(admin, servers.get(0), "SHUTOFF", BOOT);
      for (String id : List.of(servers.get(0), servers.get(1), third, fourth)) {
        assertThat(http.call("DELETE", "/servers/" + id, admin, null, null).status())
            .isEqualTo(204);
      }
      org.awaitility.Awaitility.await()
          .atMost(BOOT)
          .until(
              () ->
                  http.call("GET", "/servers", admin, null, null).json().path("servers").isEmpty());
      for (NamespacedHost h : hosts.hosts()) {
        assertThat(virsh(h.uri(), "list", "--all", "--name")).isBlank();
      }
      assertThat(metrics(apiUrl + "/metrics"))
          .contains("virga_service_heartbeat_age_seconds{host=\"virga-host1\"}")
          .contains("virga_rpc_call_seconds_count");
    } finally {
      for (int i = 0; i < agents.size(); i++) {
        killAgent(i);
      }
      if (api != null) {
        api.close();
      }
      owned.close();
    }
  }

  /** {@code virga agent} inside the host, configured as an operator would, by environment. */
  private Process startAgent(NamespacedHost h, int n) throws IOException {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                "setpriv",
                "--pdeathsig",
                "KILL",
                "--",
                VirgaApiProcess.java(),
                "-Xmx192m",
                "-XX:-UsePerfData",
                "--enable-native-access=ALL-UNNAMED",
                "-cp",
                jar.toString(),
                Main.class.getName(),
                "agent"));
    ProcessBuilder pb = new ProcessBuilder(h.enterKeepingMachineNetwork(cmd));
    Map<String, String> env = pb.environment();
    env.put("VIRGA_HOME", tmp.resolve("agent" + n).toString());
    env.put("VIRGA_TRANSPORT_URL", transportUrl);
    env.put("VIRGA_MY_IP", h.ip());
    env.put("VIRGA_INSTANCES_PATH", h.instancesDir().toString());
    env.put("VIRGA_VIRT_TYPE", "qemu");
    env.put("VIRGA_IMAGE_API_URL", apiUrl + "/image");
    env.put("VIRGA_AUTH_URL", apiUrl + "/identity/v3");
    env.put("VIRGA_SERVICE_PASSWORD", SERVICE_PW);
    env.put("VIRGA_REPORT_INTERVAL", "2");
    env.put("VIRGA_METRICS_PORT", Integer.toString(metricsPorts[n - 1]));
    env.put("VIRGA_UPDATE_RESOURCES_INTERVAL", "5");
    env.put("VIRGA_SHUTDOWN_TIMEOUT", "20");
    env.put("VIRGA_SHUTDOWN_RETRY_INTERVAL", "2");
    Path log = logs().resolve("agent" + n + ".log");
    pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    return pb.start();
  }

  /** SIGKILL the agent's JVM (nsenter's child), then nsenter. */
  private void killAgent(int i) {
    Process p = agents.get(i);
    p.descendants().forEach(ProcessHandle::destroyForcibly);
    p.destroyForcibly();
    try {
      p.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Logs stay in target/ for a look after a failure. */
  private static Path logs() throws IOException {
    return Files.createDirectories(Path.of("target", "multihost-deployment-it"));
  }

  private static Process dummy() {
    try {
      return new ProcessBuilder("true").start();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static String metrics(String url) throws Exception {
    var http = java.net.http.HttpClient.newHttpClient();
    var r =
        http.send(
            java.net.http.HttpRequest.newBuilder(java.net.URI.create(url)).build(),
            java.net.http.HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    return r.body();
  }

  private static String virsh(String uri, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("virsh", "-c", uri));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes()).strip();
    p.waitFor(60, TimeUnit.SECONDS);
    return out;
  }
}
