package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.testing.Cli;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./virga up --hosts 2} driven with the stock openstack CLI: two compute services and
 * hypervisors, a server forced onto each host boots on that host's own libvirtd, four more spread
 * over both by free RAM, and deleting them all leaves no domain, no instance directory and
 * running_vms 0; stopping up leaves no process behind.
 */
class VirgaUpHostsIT {
  @TempDir Path home;

  @Test
  void twoNamespacedHostsWithAnAgentEach() throws Exception {
    UpHostsCloud hosts = UpHostsCloud.start(home, Map.of());
    try {
      JsonNode services = hosts.ok("compute", "service", "list", "-f", "json").json();
      assertThat(services).hasSize(2);
      services.forEach(s -> assertThat(s.path("State").asText()).isEqualTo("up"));
      assertThat(hosts.ok("hypervisor", "list", "-f", "json").json()).hasSize(2);

      List<String> ids = new ArrayList<>();
      for (int i = 1; i <= 2; i++) {
        JsonNode s = hosts.createServerOn(i, "forced-" + i);
        String id = s.path("id").asText();
        ids.add(id);
        assertThat(s.path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo("virga-host" + i);
        String domain = s.path("OS-EXT-SRV-ATTR:instance_name").asText();
        assertThat(hosts.virsh(i, "domstate", domain).strip()).isEqualTo("running");
        assertThat(Cli.virsh("list", "--all", "--name")).doesNotContain(domain);
        hosts.awaitConsole(id, "VIRGA-GUEST-UP uuid=" + id);
      }
      for (int i = 0; i < 4; i++) {
        ids.add(hosts.createServer("spread-" + i).path("id").asText());
      }
      Map<String, Integer> perHost = new HashMap<>();
      Awaitility.await()
          .atMost(Duration.ofSeconds(300))
          .pollInterval(Duration.ofSeconds(2))
          .until(
              () -> {
                perHost.clear();
                for (JsonNode s : hosts.ok("server", "list", "--long", "-f", "json").json()) {
                  if (!s.path("Status").asText().equals("ACTIVE")) {
                    assertThat(s.path("Status").asText()).isNotEqualTo("ERROR");
                    return false;
                  }
                  perHost.merge(s.path("Host").asText(), 1, Integer::sum);
                }
                return perHost.values().stream().mapToInt(Integer::intValue).sum() == 6;
              });
      assertThat(perHost).containsOnly(Map.entry("virga-host1", 3), Map.entry("virga-host2", 3));

      List<String> delete = new ArrayList<>(List.of("server", "delete", "--wait"));
      delete.addAll(ids);
      hosts.ok(delete.toArray(String[]::new));
      for (int i = 1; i <= 2; i++) {
        assertThat(hosts.virsh(i, "list", "--all", "--name")).isBlank();
        assertThat(hosts.instanceDirs(i)).isEmpty();
        assertThat(hosts.hypervisor(i).path("running_vms").asInt()).isZero();
      }
    } finally {
      hosts.stop();
    }
    try (Stream<ProcessHandle> all = ProcessHandle.allProcesses()) {
      assertThat(
              all.map(p -> p.info().commandLine().orElse(""))
                  .filter(c -> c.contains(home.toString())))
          .as("processes left by up --hosts")
          .isEmpty();
    }
    assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).doesNotContain(home.toString());
  }
}
