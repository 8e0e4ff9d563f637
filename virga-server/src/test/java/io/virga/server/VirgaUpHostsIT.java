package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.core.Config;
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
    VirgaUpProcess.seedInstanceIds(Config.of(Map.of("home", home.toString())));
    VirgaUpProcess up =
        new VirgaUpProcess(home, Map.of("VIRGA_VIRT_TYPE", "qemu", "VIRGA_REPORT_INTERVAL", "5"))
            .withArgs("--hosts", "2");
    up.start();
    try {
      JsonNode services = up.ok("virga", "compute", "service", "list", "-f", "json").json();
      assertThat(services).hasSize(2);
      services.forEach(s -> assertThat(s.path("State").asText()).isEqualTo("up"));
      assertThat(up.ok("virga", "hypervisor", "list", "-f", "json").json()).hasSize(2);

      List<String> ids = new ArrayList<>();
      for (int i = 1; i <= 2; i++) {
        JsonNode s =
            up.ok(
                    "virga",
                    "--os-compute-api-version",
                    "2.37",
                    "server",
                    "create",
                    "--availability-zone",
                    "nova:virga-host" + i,
                    "--image",
                    "virga-tiny",
                    "--flavor",
                    "v1.tiny",
                    "--nic",
                    "none",
                    "--wait",
                    "-f",
                    "json",
                    "forced-" + i)
                .json();
        String id = s.path("id").asText();
        ids.add(id);
        assertThat(s.path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo("virga-host" + i);
        String domain = s.path("OS-EXT-SRV-ATTR:instance_name").asText();
        assertThat(virsh(i, "domstate", domain).strip()).isEqualTo("running");
        assertThat(Cli.virsh("list", "--all", "--name")).doesNotContain(domain);
        Awaitility.await()
            .atMost(Duration.ofSeconds(120))
            .pollInterval(Duration.ofSeconds(1))
            .until(
                () ->
                    up.ok("virga", "console", "log", "show", id)
                        .out()
                        .contains("VIRGA-GUEST-UP uuid=" + id));
      }
      for (int i = 0; i < 4; i++) {
        ids.add(
            up.ok(
                    "virga",
                    "--os-compute-api-version",
                    "2.37",
                    "server",
                    "create",
                    "--image",
                    "virga-tiny",
                    "--flavor",
                    "v1.tiny",
                    "--nic",
                    "none",
                    "-f",
                    "json",
                    "spread-" + i)
                .json()
                .path("id")
                .asText());
      }
      Map<String, Integer> perHost = new HashMap<>();
      Awaitility.await()
          .atMost(Duration.ofSeconds(300))
          .pollInterval(Duration.ofSeconds(2))
          .until(
              () -> {
                perHost.clear();
                for (JsonNode s : up.ok("virga", "server", "list", "--long", "-f", "json").json()) {
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
      up.ok("virga", delete.toArray(String[]::new));
      for (int i = 1; i <= 2; i++) {
        assertThat(virsh(i, "list", "--all", "--name")).isBlank();
        assertThat(instanceDirs(i)).isEmpty();
        JsonNode h = up.ok("virga", "hypervisor", "show", "virga-host" + i, "-f", "json").json();
        assertThat(h.path("running_vms").asInt()).isZero();
      }
    } finally {
      assertThat(up.stop()).as("virga up stops on SIGTERM").isTrue();
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

  private String virsh(int host, String... args) {
    String uri =
        "qemu+unix:///system?socket="
            + home.resolve("hosts/virga-host" + host + "/run-libvirt/libvirt-sock");
    List<String> cmd = new ArrayList<>(List.of("virsh", "-c", uri));
    cmd.addAll(List.of(args));
    return Cli.run(cmd).orFail("virsh " + String.join(" ", args)).out();
  }

  /** Instance directories (uuid-named) left on a host. */
  private List<String> instanceDirs(int host) throws Exception {
    try (Stream<Path> dirs = Files.list(home.resolve("hosts/virga-host" + host + "/instances"))) {
      return dirs.map(p -> p.getFileName().toString())
          .filter(n -> n.matches("[0-9a-f-]{36}.*"))
          .toList();
    }
  }
}
