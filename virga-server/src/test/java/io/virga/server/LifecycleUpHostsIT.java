package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.testing.Cli;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Placement and evacuate between the real hosts of {@code ./virga up --hosts 2}, driven with the
 * stock openstack CLI (issue 16): an aggregate's availability zone steers a boot to host 2 and
 * shows in the zone list; two anti-affinity members created at once land on both hosts and a third
 * gets NoValidHost; then host 1's agent is SIGKILLed, its service goes down, an admin evacuates the
 * server it held, which is rebuilt and boots on host 2, and when host 1's agent is started again
 * ({@code virga agent --up-host}) it destroys the evacuated server's domain and disks there.
 */
class LifecycleUpHostsIT {
  private static final int SERVICE_DOWN_TIME = 12;

  @TempDir Path home;
  private UpHostsCloud hosts;

  @Test
  void zonesGroupsAndEvacuateBetweenTwoHosts() throws Exception {
    hosts =
        UpHostsCloud.start(
            home,
            Map.of(
                "VIRGA_REPORT_INTERVAL",
                "3",
                "VIRGA_SERVICE_DOWN_TIME",
                Integer.toString(SERVICE_DOWN_TIME),
                // no agent /metrics: other up --hosts runs on this machine use 9780…
                "VIRGA_METRICS_PORT",
                "0"));
    Process restarted = null;
    try {
      aZoneSteersABoot();
      String onHost1 = antiAffinityUsesBothHostsAndRefusesAThird();
      restarted = evacuateFromAKilledAgent(onHost1);
    } finally {
      hosts.stop();
      if (restarted != null) {
        assertThat(restarted.waitFor(30, TimeUnit.SECONDS))
            .as("the restarted agent stops with its host")
            .isTrue();
      }
    }
  }

  private void aZoneSteersABoot() throws Exception {
    hosts.ok("aggregate", "create", "--zone", "az2", "agg2");
    hosts.ok("aggregate", "add", "host", "agg2", "virga-host2");
    Map<String, String> zoneOfHost = new java.util.HashMap<>();
    for (JsonNode z :
        hosts.ok("availability", "zone", "list", "--compute", "--long", "-f", "json").json()) {
      zoneOfHost.put(z.path("Host Name").asText(), z.path("Zone Name").asText());
    }
    assertThat(zoneOfHost).containsEntry("virga-host2", "az2").containsEntry("virga-host1", "nova");
    JsonNode s = hosts.createServer("zoned", "--availability-zone", "az2", "--wait");
    String id = s.path("id").asText();
    JsonNode shown = hosts.ok("server", "show", id, "-f", "json").json();
    assertThat(shown.path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo("virga-host2");
    assertThat(shown.path("OS-EXT-AZ:availability_zone").asText()).isEqualTo("az2");
    hosts.ok("server", "delete", "--wait", id);
  }

  /** Returns the member on host 1, after the others are deleted (evacuate honours the group). */
  private String antiAffinityUsesBothHostsAndRefusesAThird() {
    String group =
        hosts
            .ok("server", "group", "create", "--policy", "anti-affinity", "g", "-f", "json")
            .json()
            .path("id")
            .asText();
    hosts.createServer("anti", "--hint", "group=" + group, "--min", "2", "--max", "2");
    Map<String, String> hostOf = new java.util.HashMap<>();
    Awaitility.await()
        .atMost(Duration.ofSeconds(240))
        .pollInterval(Duration.ofSeconds(2))
        .until(
            () -> {
              hostOf.clear();
              for (JsonNode s :
                  hosts.ok("server", "list", "--name", "^anti", "--long", "-f", "json").json()) {
                assertThat(s.path("Status").asText()).isNotEqualTo("ERROR");
                if (s.path("Status").asText().equals("ACTIVE")) {
                  hostOf.put(s.path("ID").asText(), s.path("Host").asText());
                }
              }
              return hostOf.size() == 2;
            });
    assertThat(new HashSet<>(hostOf.values()))
        .containsExactlyInAnyOrder("virga-host1", "virga-host2");
    JsonNode members = hosts.ok("server", "group", "show", group, "-f", "json").json();
    assertThat(members.toString()).contains(hostOf.keySet());

    String third = hosts.createServer("third", "--hint", "group=" + group).path("id").asText();
    JsonNode[] last = new JsonNode[1];
    Awaitility.await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofSeconds(1))
        .until(
            () ->
                (last[0] = hosts.ok("server", "show", third, "-f", "json").json())
                    .path("status")
                    .asText()
                    .equals("ERROR"));
    assertThat(last[0].path("fault").path("message").asText()).contains("No valid host");
    assertThat(last[0].path("OS-EXT-SRV-ATTR:host").isNull()).isTrue();

    String onHost1 = null;
    List<String> delete = new ArrayList<>(List.of("server", "delete", "--wait", third));
    for (Map.Entry<String, String> e : hostOf.entrySet()) {
      if (e.getValue().equals("virga-host1")) {
        onHost1 = e.getKey();
      } else {
        delete.add(e.getKey());
      }
    }
    hosts.ok(delete.toArray(String[]::new));
    return onHost1;
  }

  private Process evacuateFromAKilledAgent(String id) throws Exception {
    hosts.awaitConsole(id, "VIRGA-GUEST-UP uuid=" + id);
    String domain =
        hosts
            .ok("server", "show", id, "-f", "json")
            .json()
            .path("OS-EXT-SRV-ATTR:instance_name")
            .asText();
    long agent = Long.parseLong(Files.readString(hosts.hostDir(1).resolve("agent.pid")).strip());
    Cli.run(List.of("kill", "-KILL", Long.toString(agent))).orFail("kill the agent of host 1");
    long killedAt = System.nanoTime();
    Awaitility.await()
        .atMost(Duration.ofSeconds(SERVICE_DOWN_TIME + 30))
        .pollInterval(Duration.ofSeconds(1))
        .until(() -> serviceState("virga-host1").equals("down"));
    long downAfter = Duration.ofNanos(System.nanoTime() - killedAt).toSeconds();
    assertThat(downAfter)
        .as("down within service_down_time")
        .isLessThanOrEqualTo(SERVICE_DOWN_TIME + 5);
    assertThat(hosts.virsh(1, "domstate", domain).strip())
        .as("the host's guest outlives its agent")
        .isEqualTo("running");

    // python-openstackclient 6.0 sends the evacuate, then fails to print novaclient's reply
    // (`server = server.evacuate(...)` is a TupleWithMeta): accept exactly that, and only that
    Cli.Result evacuate = hosts.cli("--os-compute-api-version", "2.29", "server", "evacuate", id);
    if (!evacuate.ok()) {
      assertThat(evacuate.err()).contains("'TupleWithMeta' object has no attribute 'to_dict'");
    }
    hosts.awaitServer(id, "ACTIVE", "virga-host2");
    assertThat(hosts.virsh(2, "domstate", domain).strip()).isEqualTo("running");
    hosts.awaitConsole(id, "VIRGA-GUEST-UP uuid=" + id); // host 2's console: a fresh boot there
    assertThat(migrationStatus(id)).isEqualTo("evacuation:done");
    assertThat(hosts.instanceDirs(1)).as("host 1 is still down: its copy is there").contains(id);

    Process restarted = restartAgentOfHost1();
    Awaitility.await()
        .atMost(Duration.ofSeconds(120))
        .pollInterval(Duration.ofSeconds(1))
        .until(() -> serviceState("virga-host1").equals("up"));
    Awaitility.await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofSeconds(1))
        .untilAsserted(
            () -> {
              assertThat(hosts.virsh(1, "list", "--all", "--name")).isBlank();
              assertThat(hosts.instanceDirs(1)).isEmpty();
              assertThat(migrationStatus(id)).isEqualTo("evacuation:completed");
            });
    // the agent's return changes nothing of the server
    hosts.awaitServer(id, "ACTIVE", "virga-host2");
    hosts.ok("server", "delete", "--wait", id);
    assertThat(hosts.virsh(2, "list", "--all", "--name")).isBlank();
    assertThat(hosts.instanceDirs(2)).isEmpty();
    return restarted;
  }

  /** {@code virga agent --up-host virga-host1}, as an operator restarts a dead nova-compute. */
  private Process restartAgentOfHost1() throws Exception {
    String java = ProcessHandle.current().info().command().orElse("java");
    Path jar =
        Path.of(System.getProperty("virga.repo", "..")).resolve("virga-server/target/virga.jar");
    ProcessBuilder pb =
        new ProcessBuilder(java, "-jar", jar.toString(), "agent", "--up-host", "virga-host1");
    pb.environment().keySet().removeIf(k -> k.startsWith("VIRGA_"));
    pb.environment().put("VIRGA_HOME", home.toString());
    pb.redirectErrorStream(true).redirectOutput(home.resolve("restart.log").toFile());
    Process p = pb.start();
    // a second start while it runs is refused
    Awaitility.await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> Files.readString(home.resolve("restart.log")).contains("runs again"));
    Cli.Result again =
        Cli.run(
            List.of(java, "-jar", jar.toString(), "agent", "--up-host", "virga-host1"),
            Map.of("VIRGA_HOME", home.toString()));
    assertThat(again.rc()).isNotZero();
    assertThat(again.err()).contains("still runs");
    return p;
  }

  private String serviceState(String host) {
    for (JsonNode s : hosts.ok("compute", "service", "list", "-f", "json").json()) {
      if (s.path("Host").asText().equals(host)) {
        return s.path("State").asText();
      }
    }
    return "missing";
  }

  private String migrationStatus(String id) {
    JsonNode list = hosts.migrations(id);
    assertThat(list).hasSize(1);
    return list.get(0).path("Type").asText() + ":" + list.get(0).path("Status").asText();
  }
}
