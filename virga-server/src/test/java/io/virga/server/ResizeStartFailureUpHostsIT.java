package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.core.Config;
import io.virga.testing.Cli;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13's "destination start fails", on real libvirt ({@code ./virga up --hosts 2}): a server is
 * resized to a flavor whose guest the destination's qemu cannot start (1 TiB of RAM, which the
 * scheduler lets through with a large {@code ram_allocation_ratio}; qemu fails with "cannot set up
 * guest memory" when the domain starts). The disks travel, {@code finish_migration} fails at its
 * {@code createDomain} step, and the server is back on the source, running, with the old flavor;
 * the action's event names the step, the migration is in error, the destination keeps no domain, no
 * directory and no claim, and the source no {@code _resize} directory.
 */
class ResizeStartFailureUpHostsIT {
  @TempDir Path home;
  private VirgaUpProcess up;

  @Test
  void aDestinationThatCannotStartTheGuestLeavesItRunningOnTheSource() throws Exception {
    VirgaUpProcess.seedInstanceIds(Config.of(Map.of("home", home.toString())));
    up =
        new VirgaUpProcess(
                home,
                Map.of(
                    "VIRGA_VIRT_TYPE", "qemu",
                    "VIRGA_REPORT_INTERVAL", "5",
                    "VIRGA_UPDATE_RESOURCES_INTERVAL", "5",
                    "VIRGA_RAM_ALLOCATION_RATIO", "100000"))
            .withArgs("--hosts", "2");
    up.start();
    try {
      resizeFailsAtDestinationStart();
    } finally {
      assertThat(up.stop()).as("virga up stops on SIGTERM").isTrue();
    }
  }

  private void resizeFailsAtDestinationStart() throws Exception {
    up.ok(
        "virga", "flavor", "create", "--ram", "1048576", "--disk", "1", "--vcpus", "1", "v1.huge");
    Path userData = home.resolve("user-data");
    Files.writeString(userData, "#!/bin/sh\nvirga-marker write STAY-HOME\n");
    String id =
        up.ok(
                "virga",
                "--os-compute-api-version",
                "2.37",
                "server",
                "create",
                "--availability-zone",
                "nova:virga-host1",
                "--image",
                "virga-tiny",
                "--flavor",
                "v1.tiny",
                "--nic",
                "none",
                "--user-data",
                userData.toString(),
                "--wait",
                "-f",
                "json",
                "homebody")
            .json()
            .path("id")
            .asText();
    awaitConsole(id, "VIRGA-MARKER-WRITTEN STAY-HOME");
    int usedBefore = memoryUsed(2);

    up.ok("virga", "server", "resize", "--flavor", "v1.huge", id);
    JsonNode migration = awaitMigration(id, "error");
    assertThat(migration.path("Destination Compute").asText()).isEqualTo("virga-host2");
    JsonNode s = awaitServer(id, "ACTIVE", "virga-host1");
    assertThat(s.path("flavor").asText()).contains("v1.tiny");
    String domain = s.path("OS-EXT-SRV-ATTR:instance_name").asText();
    assertThat(virsh(1, "domstate", domain).strip()).isEqualTo("running");
    // booted again from its own disk: the marker is still there
    Awaitility.await()
        .atMost(Duration.ofSeconds(180))
        .pollInterval(Duration.ofSeconds(1))
        .until(() -> count(console(id), "VIRGA-MARKER STAY-HOME") >= 1);

    // the failed step is named in the action's events (the fault shows only in ERROR)
    JsonNode actions = up.ok("virga", "server", "event", "list", id, "-f", "json").json();
    String rid = "";
    for (JsonNode a : actions) {
      if (a.path("Action").asText().equals("resize")) {
        rid = a.path("Request ID").asText();
      }
    }
    String events =
        up.ok(
                "virga",
                "--os-compute-api-version",
                "2.51",
                "server",
                "event",
                "show",
                id,
                rid,
                "-f",
                "json")
            .out();
    assertThat(events).contains("finish_resize failed").contains("createDomain");

    // nothing on the destination, nothing left over on the source, the claim released
    assertThat(virsh(2, "list", "--all", "--name")).doesNotContain(domain);
    assertThat(instanceDirs(2)).isEmpty();
    assertThat(instanceDirs(1)).containsExactly(id);
    Awaitility.await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofSeconds(2))
        .until(() -> memoryUsed(2) == usedBefore);

    up.ok("virga", "server", "delete", "--wait", id);
  }

  private int memoryUsed(int host) {
    return up.ok("virga", "hypervisor", "show", "virga-host" + host, "-f", "json")
        .json()
        .path("memory_mb_used")
        .asInt();
  }

  private static int count(String text, String what) {
    int n = 0;
    for (int at = text.indexOf(what); at >= 0; at = text.indexOf(what, at + 1)) {
      n++;
    }
    return n;
  }

  private JsonNode awaitMigration(String id, String status) {
    JsonNode[] last = new JsonNode[1];
    Awaitility.await()
        .atMost(Duration.ofSeconds(300))
        .pollInterval(Duration.ofSeconds(1))
        .until(
            () -> {
              JsonNode all =
                  up.ok(
                          "virga",
                          "--os-compute-api-version",
                          "2.80",
                          "server",
                          "migration",
                          "list",
                          "--server",
                          id,
                          "-f",
                          "json")
                      .json();
              last[0] = all.size() > 0 ? all.get(0) : null;
              return last[0] != null && last[0].path("Status").asText().equals(status);
            });
    return last[0];
  }

  private JsonNode awaitServer(String id, String status, String host) {
    JsonNode[] last = new JsonNode[1];
    Awaitility.await()
        .atMost(Duration.ofSeconds(300))
        .pollInterval(Duration.ofSeconds(1))
        .until(
            () -> {
              last[0] = up.ok("virga", "server", "show", id, "-f", "json").json();
              return last[0].path("status").asText().equals(status)
                  && last[0].path("OS-EXT-STS:task_state").isNull()
                  && last[0].path("OS-EXT-SRV-ATTR:host").asText().equals(host);
            });
    return last[0];
  }

  private String console(String id) {
    return up.ok("virga", "console", "log", "show", id).out();
  }

  private void awaitConsole(String id, String text) {
    Awaitility.await()
        .atMost(Duration.ofSeconds(180))
        .pollInterval(Duration.ofSeconds(1))
        .until(() -> console(id).contains(text));
  }

  private String virsh(int host, String... args) {
    String uri =
        "qemu+unix:///system?socket="
            + home.resolve("hosts/virga-host" + host + "/run-libvirt/libvirt-sock");
    List<String> cmd = new ArrayList<>(List.of("virsh", "-c", uri));
    cmd.addAll(List.of(args));
    return Cli.run(cmd).orFail("virsh " + String.join(" ", args)).out();
  }

  /** Instance directories (uuid-named, also {@code _resize}) left on a host. */
  private List<String> instanceDirs(int host) throws Exception {
    try (Stream<Path> dirs = Files.list(home.resolve("hosts/virga-host" + host + "/instances"))) {
      return dirs.map(p -> p.getFileName().toString())
          .filter(n -> n.matches("[0-9a-f-]{36}.*"))
          .toList();
    }
  }
}
