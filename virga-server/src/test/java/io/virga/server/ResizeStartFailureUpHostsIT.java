package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13's "destination start fails", on real libvirt ({@code ./virga up --hosts 2}): a server is
 * resized to a flavor whose guest the destination's qemu cannot start (1 TiB of RAM, which the
 * scheduler lets through with a large {@code ram_allocation_ratio} and the quota without a RAM
 * limit; qemu fails with "cannot set up guest memory" when the domain starts). The disks travel,
 * {@code finish_migration} fails at its {@code createDomain} step, and the server is back on the
 * source, running, with the old flavor; the action's event names the step, the migration is in
 * error, the destination keeps no domain, no directory and no claim, and the source no {@code
 * _resize} directory.
 */
class ResizeStartFailureUpHostsIT {
  @TempDir Path home;
  private UpHostsCloud hosts;

  @Test
  void aDestinationThatCannotStartTheGuestLeavesItRunningOnTheSource() throws Exception {
    hosts =
        UpHostsCloud.start(
            home,
            Map.of(
                "VIRGA_UPDATE_RESOURCES_INTERVAL", "5",
                "VIRGA_RAM_ALLOCATION_RATIO", "100000"));
    try {
      resizeFailsAtDestinationStart();
    } finally {
      hosts.stop();
    }
  }

  private void resizeFailsAtDestinationStart() throws Exception {
    hosts.ok("flavor", "create", "--ram", "1048576", "--disk", "1", "--vcpus", "1", "v1.huge");
    hosts.ok("quota", "set", "--ram", "-1", "admin"); // the quota would refuse it first
    Path userData = home.resolve("user-data");
    Files.writeString(userData, "#!/bin/sh\nvirga-marker write STAY-HOME\n");
    String id =
        hosts.createServerOn(1, "homebody", "--user-data", userData.toString()).path("id").asText();
    hosts.awaitConsole(id, "VIRGA-MARKER-WRITTEN STAY-HOME");
    int usedBefore = memoryUsed(2);

    hosts.ok("server", "resize", "--flavor", "v1.huge", id);
    JsonNode migration = awaitMigration(id, "error");
    assertThat(migration.toString()).contains("virga-host2"); // its destination
    JsonNode s = hosts.awaitServer(id, "ACTIVE", "virga-host1");
    assertThat(s.path("flavor").asText()).contains("v1.tiny");
    String domain = s.path("OS-EXT-SRV-ATTR:instance_name").asText();
    assertThat(hosts.virsh(1, "domstate", domain).strip()).isEqualTo("running");
    // booted again from its own disk: the marker is still there
    Awaitility.await()
        .atMost(Duration.ofSeconds(180))
        .pollInterval(Duration.ofSeconds(1))
        .until(() -> count(hosts.console(id), "VIRGA-MARKER STAY-HOME") >= 1);

    // the failed step is named in the action's events (the fault shows only in ERROR)
    JsonNode actions = hosts.ok("server", "event", "list", id, "-f", "json").json();
    String rid = "";
    for (JsonNode a : actions) {
      if (a.path("Action").asText().equals("resize")) {
        rid = a.path("Request ID").asText();
      }
    }
    String events =
        hosts
            .ok(
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
    assertThat(hosts.virsh(2, "list", "--all", "--name")).doesNotContain(domain);
    assertThat(hosts.instanceDirs(2)).isEmpty();
    assertThat(hosts.instanceDirs(1)).containsExactly(id);
    Awaitility.await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofSeconds(2))
        .until(() -> memoryUsed(2) == usedBefore);

    hosts.ok("server", "delete", "--wait", id);
  }

  private int memoryUsed(int host) {
    return hosts.hypervisor(host).path("memory_mb_used").asInt();
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
              JsonNode all = hosts.migrations(id);
              last[0] = all.size() > 0 ? all.get(0) : null;
              return last[0] != null && last[0].path("Status").asText().equals(status);
            });
    return last[0];
  }
}
