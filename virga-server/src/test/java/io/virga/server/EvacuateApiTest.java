package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.core.PowerState;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Evacuate with two FakeDriver agents on one control plane: host2's agent dies (its hypervisor
 * keeps the guests, as libvirt would), an admin evacuates a server to fake-host, and when host2's
 * agent starts again it destroys the evacuated server's copy and only that one.
 */
class EvacuateApiTest {
  @TempDir Path home;
  TwoHostCloud two;
  ComputeTestCloud cloud;
  String admin;
  String demo;

  @BeforeEach
  void start() {
    two = new TwoHostCloud(home, Map.of());
    cloud = two.cloud;
    admin = cloud.admin();
    demo = cloud.demo();
  }

  @AfterEach
  void stop() {
    two.close();
  }

  private String activeOnHost2(String name) {
    String id = cloud.boot(demo, name, "v1.tiny");
    cloud.awaitStatus(demo, id, "ACTIVE");
    assertThat(two.hostOf(admin, id)).isEqualTo("host2");
    return id;
  }

  private void host2Down() {
    two.killHost2();
    cloud.running.cloud().compute().hosts().setForcedDown("host2", true);
  }

  @Test
  void anEvacuatedServerIsRebuiltElsewhereAndTheSourceCleansUpOnlyItWhenItReturns() {
    String evacuated = activeOnHost2("evac");
    String stays = activeOnHost2("stays");
    // the source must be down
    assertThat(two.action(admin, evacuated, "2.80", "{\"evacuate\": {}}")).isEqualTo(400);
    host2Down();
    assertThat(two.action(demo, evacuated, "2.80", "{\"evacuate\": {}}")).isEqualTo(403);
    assertThat(two.action(admin, evacuated, "2.80", "{\"evacuate\": {\"host\": \"host2\"}}"))
        .isEqualTo(400);
    assertThat(two.action(admin, evacuated, "2.80", "{\"evacuate\": {\"host\": \"nowhere\"}}"))
        .isEqualTo(404);
    ComputeTestCloud.Reply r =
        cloud.call(
            "POST",
            "/servers/" + evacuated + "/action",
            admin,
            "2.13",
            "{\"evacuate\":"
                + " {\"host\": \"fake-host\", \"onSharedStorage\": false, \"adminPass\": \"pw\"}}");
    assertThat(r.status()).as(r.text()).isEqualTo(200);
    assertThat(r.json().path("adminPass").asText()).isEqualTo("pw");
    JsonNode s = cloud.awaitStatus(admin, evacuated, "ACTIVE");
    assertThat(two.hostOf(admin, evacuated)).isEqualTo("fake-host");
    assertThat(cloud.driver.powerState(evacuated)).contains(PowerState.RUNNING);
    assertThat(s.path("image").path("id").asText()).isEqualTo(cloud.ensureImage());
    JsonNode m = two.awaitMigration(admin, evacuated, "done");
    assertThat(m.path("migration_type").asText()).isEqualTo("evacuation");
    assertThat(m.path("source_compute").asText()).isEqualTo("host2");
    assertThat(m.path("dest_compute").asText()).isEqualTo("fake-host");
    // the dead agent's hypervisor still has both guests
    assertThat(two.host2.powerState(evacuated)).isPresent();
    assertThat(two.host2.powerState(stays)).isPresent();

    cloud.running.cloud().compute().hosts().setForcedDown("host2", false);
    two.startHost2();
    Awaitility.await().until(() -> two.host2.powerState(evacuated).isEmpty());
    two.awaitMigration(admin, evacuated, "completed");
    assertThat(two.host2.powerState(stays)).contains(PowerState.RUNNING);
    assertThat(cloud.server(demo, stays).path("status").asText()).isEqualTo("ACTIVE");
    assertThat(cloud.driver.powerState(evacuated)).contains(PowerState.RUNNING);
    // the server is whole on fake-host: it can be stopped and started there
    assertThat(two.action(demo, evacuated, null, "{\"os-stop\": null}")).isEqualTo(202);
    cloud.awaitStatus(demo, evacuated, "SHUTOFF");
  }

  @Test
  void aStoppedServerIsEvacuatedStoppedAndNoValidHostLeavesItAsItWas() {
    String id = activeOnHost2("stopped");
    assertThat(two.action(demo, id, null, "{\"os-stop\": null}")).isEqualTo(202);
    cloud.awaitStatus(demo, id, "SHUTOFF");
    host2Down();
    var hosts = cloud.running.cloud().compute().hosts();
    hosts.setDisabled("fake-host", true, Optional.of("test"));
    assertThat(two.action(admin, id, "2.80", "{\"evacuate\": {}}")).isEqualTo(200);
    JsonNode s = cloud.awaitStatus(admin, id, "SHUTOFF");
    assertThat(s.path("OS-EXT-STS:task_state").isNull()).isTrue();
    assertThat(two.hostOf(admin, id)).isEqualTo("host2");
    hosts.setDisabled("fake-host", false, Optional.empty());
    ComputeTestCloud.Reply r =
        cloud.call("POST", "/servers/" + id + "/action", admin, "2.80", "{\"evacuate\": {}}");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.text()).isEmpty(); // no adminPass from 2.14 on
    cloud.awaitStatus(admin, id, "SHUTOFF");
    assertThat(two.hostOf(admin, id)).isEqualTo("fake-host");
    assertThat(cloud.driver.powerState(id)).contains(PowerState.SHUTDOWN);
    // wrong state
    assertThat(two.action(admin, id, "2.80", "{\"os-start\": null}")).isEqualTo(202);
    cloud.awaitStatus(admin, id, "ACTIVE");
    assertThat(two.action(admin, id, null, "{\"pause\": null}")).isEqualTo(202);
    cloud.awaitStatus(admin, id, "PAUSED");
    assertThat(two.action(admin, id, "2.80", "{\"evacuate\": {}}")).isEqualTo(409);
  }

  @Test
  void aDestinationAgentKilledMidEvacuationLeavesErrorAndAFailedMigration() throws Exception {
    String id = activeOnHost2("crash");
    host2Down();
    var crash = cloud.crashDuring(io.virga.virt.FakeFaults.Op.REBUILD);
    assertThat(two.action(admin, id, "2.80", "{\"evacuate\": {}}")).isEqualTo(200);
    assertThat(crash.awaitReached()).isTrue();
    // fake-host's whole process dies (API, agent and its database handle) with the task in flight
    crash.crash();
    admin = cloud.admin();
    JsonNode s = cloud.awaitStatus(admin, id, "ERROR");
    assertThat(s.path("OS-EXT-STS:task_state").isNull()).isTrue();
    assertThat(two.migrations(admin, id, "2.80").get(0).path("status").asText())
        .isEqualTo("failed");
  }

  @Test
  void onSharedStorageTheServerIsRecreatedFromItsDisksWhichTheReturningSourceKeeps() {
    // one instances path for both hosts, as with `up --hosts 2 --shared-storage`
    two.fakeHost().shareDisks(two.host2.disks());
    String id = activeOnHost2("shared");
    String image = cloud.ensureImage();
    assertThat(two.host2.disks().read(id)).contains("image:" + image);
    two.host2.disks().write(id, "MARKER-shared"); // what the guest wrote to its disk
    host2Down();
    // before 2.14 the caller says it: a password cannot go onto disks that are kept
    assertThat(
            two.action(
                admin,
                id,
                "2.13",
                "{\"evacuate\": {\"onSharedStorage\": true, \"adminPass\": \"pw\"}}"))
        .isEqualTo(400);
    assertThat(two.action(admin, id, "2.13", "{\"evacuate\": {}}")).isEqualTo(400);
    // from 2.14 the destination finds the disks itself
    ComputeTestCloud.Reply r =
        cloud.call("POST", "/servers/" + id + "/action", admin, "2.80", "{\"evacuate\": {}}");
    assertThat(r.status()).as(r.text()).isEqualTo(200);
    cloud.awaitStatus(admin, id, "ACTIVE");
    assertThat(two.hostOf(admin, id)).isEqualTo("fake-host");
    assertThat(cloud.driver.powerState(id)).contains(PowerState.RUNNING);
    // recreated from the disks: the data is there, nothing was rebuilt from the image
    assertThat(cloud.driver.disks().read(id)).contains("MARKER-shared");
    assertThat(cloud.driver.adminPass(id)).isPresent(); // a new password for the new drive
    two.awaitMigration(admin, id, "done");

    // host2 comes back: its stale domain goes, the disks fake-host runs from stay
    cloud.running.cloud().compute().hosts().setForcedDown("host2", false);
    two.startHost2();
    Awaitility.await().until(() -> two.host2.powerState(id).isEmpty());
    two.awaitMigration(admin, id, "completed");
    assertThat(cloud.driver.disks().read(id)).contains("MARKER-shared");
    assertThat(cloud.driver.powerState(id)).contains(PowerState.RUNNING);
  }

  @Test
  void aSharedStorageClaimTheDestinationCannotConfirmFailsTheEvacuation() {
    String id = activeOnHost2("claim"); // separate instances paths: nothing shared
    host2Down();
    ComputeTestCloud.Reply r =
        cloud.call(
            "POST",
            "/servers/" + id + "/action",
            admin,
            "2.13",
            "{\"evacuate\": {\"onSharedStorage\": true}}");
    assertThat(r.status()).as(r.text()).isEqualTo(200);
    assertThat(r.json().path("adminPass").isNull()).as(r.text()).isTrue();
    JsonNode s = cloud.awaitStatus(admin, id, "ERROR");
    assertThat(s.path("OS-EXT-STS:task_state").isNull()).isTrue();
    assertThat(s.path("fault").path("message").asText())
        .contains("Invalid state of instance files on shared storage");
    assertThat(s.path("fault").path("code").asInt()).isEqualTo(400);
    assertThat(two.migrations(admin, id, "2.80").get(0).path("status").asText())
        .isEqualTo("failed");
    assertThat(cloud.driver.powerState(id)).isEmpty();
  }

  @Test
  void anEvacuationRebuiltFromTheImageDeliversItsPassword() {
    String id = activeOnHost2("pw");
    two.host2.disks().write(id, "MARKER-local");
    host2Down();
    ComputeTestCloud.Reply r =
        cloud.call(
            "POST",
            "/servers/" + id + "/action",
            admin,
            "2.13",
            "{\"evacuate\": {\"onSharedStorage\": false}}");
    assertThat(r.status()).as(r.text()).isEqualTo(200);
    String pw = r.json().path("adminPass").asText();
    assertThat(pw).hasSizeGreaterThan(8);
    cloud.awaitStatus(admin, id, "ACTIVE");
    assertThat(cloud.driver.disks().read(id)).contains("image:" + cloud.ensureImage());
    assertThat(cloud.driver.adminPass(id)).contains(pw);
  }
}
