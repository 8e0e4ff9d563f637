package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.core.Config;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Resize, live migration and cold migration through the API on {@code ./virga up --hosts 2}, driven
 * with the stock openstack CLI (issues 13 and 14): a server whose user data wrote a disk marker is
 * resized to the other host and confirmed (root disk grown, marker kept), live-migrated back (block
 * migration chosen automatically, its TICK counter never restarts), cold-migrated and reverted,
 * then stopped, migrated and confirmed (it stays SHUTOFF and boots with its marker); the migration
 * list shows each record's outcome and deleting the server leaves both hosts empty.
 */
class MigrationUpHostsIT {
  private static final Pattern TICK = Pattern.compile("(?m)^TICK (\\d+)\\s*$");

  @TempDir Path home;
  private VirgaUpProcess up;

  @Test
  void aServerMovesBetweenTwoHostsAndKeepsItsDisk() throws Exception {
    VirgaUpProcess.seedInstanceIds(Config.of(Map.of("home", home.toString())));
    up =
        new VirgaUpProcess(home, Map.of("VIRGA_VIRT_TYPE", "qemu", "VIRGA_REPORT_INTERVAL", "5"))
            .withArgs("--hosts", "2");
    up.start();
    try {
      moveAroundAndBack();
    } finally {
      assertThat(up.stop()).as("virga up stops on SIGTERM").isTrue();
    }
  }

  private void moveAroundAndBack() throws Exception {
    Path userData = home.resolve("user-data");
    Files.writeString(userData, "#!/bin/sh\nvirga-marker write MIGRATE-ME\n");
    up.ok("virga", "flavor", "create", "--ram", "256", "--disk", "2", "--vcpus", "1", "v1.bigger");
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
                "mover")
            .json()
            .path("id")
            .asText();
    awaitConsole(id, "VIRGA-MARKER-WRITTEN MIGRATE-ME");

    // resize to the other host, confirm: new flavor, root grown 1 → 2 GiB, marker kept
    up.ok("virga", "server", "resize", "--flavor", "v1.bigger", "--wait", id);
    awaitServer(id, "VERIFY_RESIZE", "virga-host2");
    up.ok("virga", "server", "resize", "confirm", id);
    JsonNode resized = awaitServer(id, "ACTIVE", "virga-host2");
    assertThat(resized.path("flavor").asText()).contains("v1.bigger");
    String console = awaitConsole(id, "VIRGA-MARKER MIGRATE-ME");
    assertThat(console).contains("VIRGA-DISK vda bytes=2147483648");
    awaitNoInstanceDirs(1);

    // live migration back; at 2.30 block migration is "auto": these hosts share no storage
    long before = lastTick(awaitConsole(id, "(?m)^TICK \\d+"));
    up.ok(
        "virga",
        "--os-compute-api-version",
        "2.30",
        "server",
        "migrate",
        "--live-migration",
        "--wait",
        id);
    awaitServer(id, "ACTIVE", "virga-host1");
    Awaitility.await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofSeconds(1))
        .until(() -> lastTick(console(id)) > before);
    Matcher first = TICK.matcher(console(id));
    assertThat(first.find()).isTrue();
    assertThat(Long.parseLong(first.group(1))).as("TICK never restarts").isGreaterThan(before - 5);
    awaitNoInstanceDirs(2);

    // cold migration and revert: back where it was, running
    up.ok("virga", "server", "migrate", "--wait", id);
    awaitServer(id, "VERIFY_RESIZE", "virga-host2");
    up.ok("virga", "server", "resize", "revert", id);
    awaitServer(id, "ACTIVE", "virga-host1");
    awaitNoInstanceDirs(2);

    // a stopped server stays stopped through migrate + confirm, then boots with its marker
    up.ok("virga", "server", "stop", id);
    awaitServer(id, "SHUTOFF", "virga-host1");
    up.ok("virga", "server", "migrate", "--wait", id);
    awaitServer(id, "VERIFY_RESIZE", "virga-host2");
    up.ok("virga", "server", "resize", "confirm", id);
    awaitServer(id, "SHUTOFF", "virga-host2");
    up.ok("virga", "server", "start", id);
    awaitServer(id, "ACTIVE", "virga-host2");
    awaitConsole(id, "VIRGA-MARKER MIGRATE-ME");

    List<String> outcomes = new ArrayList<>();
    for (JsonNode m :
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
            .json()) {
      outcomes.add(m.path("Type").asText() + ":" + m.path("Status").asText());
    }
    assertThat(outcomes)
        .containsExactly(
            "migration:confirmed",
            "migration:reverted",
            "live-migration:completed",
            "resize:confirmed");

    up.ok("virga", "server", "delete", "--wait", id);
    awaitNoInstanceDirs(1);
    awaitNoInstanceDirs(2);
  }

  private JsonNode awaitServer(String id, String status, String host) {
    JsonNode[] last = new JsonNode[1];
    Awaitility.await()
        .atMost(Duration.ofSeconds(300))
        .pollInterval(Duration.ofSeconds(1))
        .until(
            () -> {
              last[0] = up.ok("virga", "server", "show", id, "-f", "json").json();
              assertThat(last[0].path("status").asText()).isNotEqualTo("ERROR");
              return last[0].path("status").asText().equals(status)
                  && last[0].path("OS-EXT-STS:task_state").isNull()
                  && last[0].path("OS-EXT-SRV-ATTR:host").asText().equals(host);
            });
    return last[0];
  }

  private String console(String id) {
    return up.ok("virga", "console", "log", "show", id).out();
  }

  private String awaitConsole(String id, String regex) {
    Pattern p = Pattern.compile(regex);
    String[] out = new String[1];
    Awaitility.await()
        .atMost(Duration.ofSeconds(180))
        .pollInterval(Duration.ofSeconds(1))
        .until(() -> p.matcher(out[0] = console(id)).find());
    return out[0];
  }

  private static long lastTick(String console) {
    Matcher m = TICK.matcher(console);
    long last = -1;
    while (m.find()) {
      last = Long.parseLong(m.group(1));
    }
    return last;
  }

  /** The host keeps no directory of the server (confirm and clean-up finish after the status). */
  private void awaitNoInstanceDirs(int host) {
    Awaitility.await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofSeconds(1))
        .untilAsserted(() -> assertThat(instanceDirs(host)).isEmpty());
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
