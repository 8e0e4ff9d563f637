package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
  private UpHostsCloud hosts;

  @Test
  void aServerMovesBetweenTwoHostsAndKeepsItsDisk() throws Exception {
    hosts = UpHostsCloud.start(home, Map.of());
    try {
      moveAroundAndBack();
    } finally {
      hosts.stop();
    }
  }

  private void moveAroundAndBack() throws Exception {
    Path userData = home.resolve("user-data");
    Files.writeString(userData, "#!/bin/sh\nvirga-marker write MIGRATE-ME\n");
    hosts.ok("flavor", "create", "--ram", "256", "--disk", "2", "--vcpus", "1", "v1.bigger");
    String id =
        hosts.createServerOn(1, "mover", "--user-data", userData.toString()).path("id").asText();
    hosts.awaitConsole(id, "VIRGA-MARKER-WRITTEN MIGRATE-ME");

    // resize to the other host, confirm: new flavor, root grown 1 → 2 GiB, marker kept
    hosts.ok("server", "resize", "--flavor", "v1.bigger", "--wait", id);
    hosts.awaitServer(id, "VERIFY_RESIZE", "virga-host2");
    hosts.ok("server", "resize", "confirm", id);
    JsonNode resized = hosts.awaitServer(id, "ACTIVE", "virga-host2");
    assertThat(resized.path("flavor").asText()).contains("v1.bigger");
    String console = hosts.awaitConsole(id, "VIRGA-MARKER MIGRATE-ME");
    assertThat(console).contains("VIRGA-DISK vda bytes=2147483648");
    hosts.awaitNoInstanceDirs(1);

    // live migration back; at 2.30 block migration is "auto": these hosts share no storage
    long before = lastTick(hosts.awaitConsole(id, "(?m)^TICK \\d+"));
    hosts.ok(
        "--os-compute-api-version", "2.30", "server", "migrate", "--live-migration", "--wait", id);
    hosts.awaitServer(id, "ACTIVE", "virga-host1");
    Awaitility.await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofSeconds(1))
        .until(() -> lastTick(hosts.console(id)) > before);
    Matcher first = TICK.matcher(hosts.console(id));
    assertThat(first.find()).isTrue();
    assertThat(Long.parseLong(first.group(1))).as("TICK never restarts").isGreaterThan(before - 5);
    hosts.awaitNoInstanceDirs(2);

    // cold migration and revert: back where it was, running
    hosts.ok("server", "migrate", "--wait", id);
    hosts.awaitServer(id, "VERIFY_RESIZE", "virga-host2");
    hosts.ok("server", "resize", "revert", id);
    hosts.awaitServer(id, "ACTIVE", "virga-host1");
    hosts.awaitNoInstanceDirs(2);

    // a stopped server stays stopped through migrate + confirm, then boots with its marker
    hosts.ok("server", "stop", id);
    hosts.awaitServer(id, "SHUTOFF", "virga-host1");
    hosts.ok("server", "migrate", "--wait", id);
    hosts.awaitServer(id, "VERIFY_RESIZE", "virga-host2");
    hosts.ok("server", "resize", "confirm", id);
    hosts.awaitServer(id, "SHUTOFF", "virga-host2");
    hosts.ok("server", "start", id);
    hosts.awaitServer(id, "ACTIVE", "virga-host2");
    hosts.awaitConsole(id, "VIRGA-MARKER MIGRATE-ME");

    List<String> outcomes = new ArrayList<>();
    for (JsonNode m : hosts.migrations(id)) {
      outcomes.add(m.path("Type").asText() + ":" + m.path("Status").asText());
    }
    assertThat(outcomes)
        .containsExactly(
            "migration:confirmed",
            "migration:reverted",
            "live-migration:completed",
            "resize:confirmed");

    hosts.ok("server", "delete", "--wait", id);
    hosts.awaitNoInstanceDirs(1);
    hosts.awaitNoInstanceDirs(2);
  }

  private static long lastTick(String console) {
    Matcher m = TICK.matcher(console);
    long last = -1;
    while (m.find()) {
      last = Long.parseLong(m.group(1));
    }
    return last;
  }
}
