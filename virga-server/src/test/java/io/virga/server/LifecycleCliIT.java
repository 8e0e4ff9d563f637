package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The rest of a server's life through the stock {@code openstack} CLI against {@code virga up} on
 * real libvirt with the tiny guest: lock, rebuild, rescue/unrescue, backup with rotation,
 * shelve/unshelve and reset-state, on one demo server whose user data writes a marker to its root
 * disk. Every boot's console (truncated at each start) says which disks the guest sees and which
 * marker its root disk carries. Steps run in order.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LifecycleCliIT {
  static final String DEMO = "virga-demo";
  LifecycleCloud up;
  String marker = "lc-" + UUID.randomUUID().toString().substring(0, 8);
  String id;
  String domain;

  @BeforeAll
  void start() throws Exception {
    up = new LifecycleCloud("virga-lifecycle-it-", Map.of());
  }

  @AfterAll
  void stop() throws Exception {
    if (up != null) {
      up.close();
    }
  }

  private static boolean line(String console, String prefix) {
    return Pattern.compile("(?m)^" + Pattern.quote(prefix)).matcher(console).find();
  }

  private Path instanceDir() {
    return up.home.resolve("instances").resolve(id);
  }

  @Test
  @Order(1)
  void aDemoServerBootsAndWritesItsMarker() throws Exception {
    Path userData = up.home.resolve("user-data");
    Files.writeString(userData, "#!/bin/sh\nvirga-marker write " + marker + "\n");
    JsonNode s =
        up.ok(
                DEMO,
                "--os-compute-api-version",
                "2.37",
                "server",
                "create",
                "--image",
                UpDefaults.TINY_IMAGE,
                "--flavor",
                "v1.tiny",
                "--nic",
                "none",
                "--user-data",
                userData.toString(),
                "--wait",
                "lifecycle-vm",
                "-f",
                "json")
            .json();
    id = s.path("id").asText();
    up.servers.add(id);
    domain = up.show("virga", id).path("OS-EXT-SRV-ATTR:instance_name").asText();
    up.domains.add(domain);
    up.awaitConsole(DEMO, id, "VIRGA-MARKER-WRITTEN " + marker);
  }

  @Test
  @Order(2)
  void aLockedServerRefusesItsMemberWith409UntilUnlocked() {
    up.ok(DEMO, "server", "lock", id);
    JsonNode locked =
        up.ok(DEMO, "--os-compute-api-version", "2.9", "server", "show", id, "-f", "json").json();
    assertThat(locked.path("locked").asBoolean()).as(locked.toString()).isTrue();
    LifecycleCloud.Result stop = up.cli(DEMO, "server", "stop", id);
    assertThat(stop.rc()).isNotZero();
    assertThat(stop.err()).contains("409").contains("locked");
    up.ok(DEMO, "server", "unlock", id);
    assertThat(up.show(DEMO, id).path("status").asText()).isEqualTo("ACTIVE");
  }

  @Test
  @Order(3)
  void rebuildBootsAFreshRootDiskFromTheImage() {
    String before = up.console(DEMO, id);
    assertThat(line(before, "VIRGA-MARKER-WRITTEN " + marker)).isTrue();
    up.ok(DEMO, "server", "rebuild", "--image", UpDefaults.TINY_IMAGE, "--wait", id);
    up.awaitStatus(DEMO, id, "ACTIVE");
    // the new boot: the guest reads no marker from its root disk before its user data runs again
    String console = up.awaitConsole(DEMO, id, "^VIRGA-MARKER-WRITTEN " + Pattern.quote(marker));
    assertThat(line(console, "VIRGA-GUEST-UP uuid=" + id)).isTrue();
    assertThat(line(console, "VIRGA-MARKER " + marker)).as(console).isFalse();
    List<String> actions = new ArrayList<>();
    up.ok(DEMO, "server", "event", "list", id, "-f", "json")
        .json()
        .forEach(a -> actions.add(a.path("Action").asText()));
    assertThat(actions).contains("rebuild");
  }

  @Test
  @Order(4)
  void rescueBootsTheRescueImageWithTheRootDiskSecond() {
    up.ok(DEMO, "server", "rescue", id);
    up.awaitStatus(DEMO, id, "RESCUE");
    String console = up.awaitConsole(DEMO, id, "^VIRGA-GUEST-UP");
    // vda is the rescue disk (no marker), vdb the server's own root disk
    assertThat(console).containsPattern("(?m)^VIRGA-DISK vdb bytes=\\d+ label=VIRGAROOT");
    assertThat(line(console, "VIRGA-MARKER " + marker)).as(console).isFalse();
    assertThat(instanceDir().resolve("unrescue.xml")).isRegularFile();
    assertThat(up.cli(DEMO, "server", "start", id).rc()).isNotZero(); // 409 in RESCUE
  }

  @Test
  @Order(5)
  void unrescueBootsTheServersOwnDiskAgain() {
    up.ok(DEMO, "server", "unrescue", id);
    up.awaitStatus(DEMO, id, "ACTIVE");
    String console = up.awaitConsole(DEMO, id, "^VIRGA-GUEST-UP");
    assertThat(line(console, "VIRGA-MARKER " + marker)).as(console).isTrue();
    assertThat(console).doesNotContainPattern("(?m)^VIRGA-DISK vdb");
    assertThat(instanceDir().resolve("unrescue.xml")).doesNotExist();
    assertThat(instanceDir().resolve("disk.rescue")).doesNotExist();
  }

  @Test
  @Order(6)
  void backupsBeyondTheRotationAreDeleted() {
    for (String name : List.of("bk-1", "bk-2", "bk-3")) {
      up.ok(
          DEMO,
          "server",
          "backup",
          "create",
          "--name",
          name,
          "--type",
          "daily",
          "--rotate",
          "2",
          "--wait",
          id);
      up.awaitStatus(DEMO, id, "ACTIVE");
    }
    List<String> names = new ArrayList<>();
    for (JsonNode i :
        up.ok(DEMO, "image", "list", "--property", "image_type=backup", "-f", "json").json()) {
      names.add(i.path("Name").asText());
    }
    assertThat(names).containsExactlyInAnyOrder("bk-2", "bk-3");
  }

  @Test
  @Order(7)
  void shelveOffloadsEverythingAndUnshelveBootsWithTheData() {
    up.ok(DEMO, "server", "shelve", id);
    JsonNode s = up.awaitStatus("virga", id, "SHELVED_OFFLOADED");
    assertThat(
            s.path("OS-EXT-SRV-ATTR:host").isNull()
                || s.path("OS-EXT-SRV-ATTR:host").asText().isEmpty())
        .as(s.toString())
        .isTrue();
    assertThat(up.virsh("domstate", domain)).isEmpty(); // no domain
    assertThat(instanceDir()).doesNotExist(); // no disks
    JsonNode shelved =
        up.ok(DEMO, "image", "list", "--name", "lifecycle-vm-shelved", "-f", "json").json();
    assertThat(shelved).hasSize(1);
    String shelveImage = shelved.get(0).path("ID").asText();

    up.ok(DEMO, "server", "unshelve", id);
    up.awaitStatus(DEMO, id, "ACTIVE");
    String console = up.awaitConsole(DEMO, id, "^VIRGA-GUEST-UP");
    assertThat(line(console, "VIRGA-MARKER " + marker)).as(console).isTrue();
    assertThat(up.cli(DEMO, "image", "show", shelveImage).rc()).isNotZero(); // deleted
  }

  @Test
  @Order(8)
  void anAdminResetsTheStateAndTheMemberMayNot() {
    assertThat(up.cli(DEMO, "server", "set", "--state", "error", id).rc()).isNotZero();
    up.ok("virga", "server", "set", "--state", "error", id);
    assertThat(up.show("virga", id).path("status").asText()).isEqualTo("ERROR");
    up.ok("virga", "server", "set", "--state", "active", id);
    assertThat(up.show("virga", id).path("status").asText()).isEqualTo("ACTIVE");
  }

  @Test
  @Order(9)
  void theServerLogShowsNo500() {
    assertThat(up.logText()).doesNotContainPattern(" 5(?!01)\\d\\d [0-9.]+ms");
  }
}
