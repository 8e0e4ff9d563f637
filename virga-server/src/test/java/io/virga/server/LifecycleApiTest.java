package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.core.VirgaException;
import io.virga.db.ImageRecord;
import io.virga.virt.FakeDriver;
import io.virga.virt.FakeFaults;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Lock, reset-state, rebuild and rescue through the compute API over real HTTP, with virga up's
 * wiring on a FakeDriver agent: states, task states, 409s, instance actions and start-up recovery.
 */
class LifecycleApiTest {
  @TempDir Path home;
  ComputeTestCloud cloud;
  String admin;
  String demo;

  @BeforeEach
  void start() {
    cloud = new ComputeTestCloud(home, new FakeDriver("fake-host", 8, 4096, 100), Map.of());
    admin = cloud.admin();
    demo = cloud.demo();
  }

  @AfterEach
  void stop() {
    cloud.close();
  }

  private ComputeTestCloud.Reply action(String token, String id, String version, String body) {
    return cloud.call("POST", "/servers/" + id + "/action", token, version, body);
  }

  private String active(String name) {
    String id = cloud.boot(demo, name, "v1.tiny");
    cloud.awaitStatus(demo, id, "ACTIVE");
    return id;
  }

  /** A second public image, as another image to rebuild or rescue with. */
  private String otherImage(String name) throws Exception {
    Path raw = home.resolve(name + ".raw");
    Files.write(raw, new byte[1024 * 1024]);
    ImageRecord r =
        UpDefaults.ensureImage(
            cloud.running.cloud().images(),
            cloud.running.users().adminProjectId(),
            name,
            raw,
            "raw");
    return r.id();
  }

  private List<String> actionNames(String id) {
    List<String> out = new ArrayList<>();
    // 2.21: a deleted server's actions stay readable (the delete may have finished already)
    cloud
        .call("GET", "/servers/" + id + "/os-instance-actions", admin, "2.21", null)
        .json()
        .path("instanceActions")
        .forEach(a -> out.add(a.path("action").asText()));
    return out;
  }

  /**
   * The action's events once each has ended: the agent writes the resting state before it ends the
   * event, so a test that saw the state may still find the event open for a moment.
   */
  private List<String> events(String id, String action) {
    return Awaitility.await()
        .atMost(Duration.ofSeconds(20))
        .pollInterval(Duration.ofMillis(50))
        .alias("the " + action + " events of " + id + " to end")
        .until(
            () -> openOrEndedEvents(id, action),
            l -> !l.isEmpty() && l.stream().noneMatch(e -> e.endsWith(":null")));
  }

  private List<String> openOrEndedEvents(String id, String action) {
    List<String> out = new ArrayList<>();
    for (JsonNode a :
        cloud
            .get("/servers/" + id + "/os-instance-actions", admin)
            .json()
            .path("instanceActions")) {
      if (a.path("action").asText().equals(action)) {
        String rid = a.path("request_id").asText();
        cloud
            .get("/servers/" + id + "/os-instance-actions/" + rid, admin)
            .json()
            .path("instanceAction")
            .path("events")
            .forEach(e -> out.add(e.path("event").asText() + ":" + e.path("result").asText()));
      }
    }
    return out;
  }

  @Test
  void aLockedServerRefusesChangesFromItsMembersButNotFromAdmins() {
    String id = active("locked");
    assertThat(action(demo, id, null, "{\"lock\": null}").status()).isEqualTo(202);
    assertThat(
            cloud
                .call("GET", "/servers/" + id, demo, "2.9", null)
                .json()
                .path("server")
                .path("locked")
                .asBoolean())
        .isTrue();
    ComputeTestCloud.Reply refused = action(demo, id, null, "{\"os-stop\": null}");
    assertThat(refused.status()).isEqualTo(409);
    assertThat(refused.json().path("conflictingRequest").path("message").asText())
        .contains("is locked");
    assertThat(cloud.call("DELETE", "/servers/" + id, demo, null, null).status()).isEqualTo(409);
    assertThat(action(demo, id, null, "{\"createImage\": {\"name\": \"x\"}}").status())
        .isEqualTo(409);
    assertThat(
            action(demo, id, null, "{\"rebuild\": {\"imageRef\": \"" + cloud.ensureImage() + "\"}}")
                .status())
        .isEqualTo(409);
    assertThat(action(demo, id, null, "{\"rescue\": null}").status()).isEqualTo(409);
    assertThat(cloud.server(demo, id).path("status").asText()).isEqualTo("ACTIVE");
    // a reason needs 2.73
    assertThat(action(demo, id, "2.53", "{\"lock\": {\"locked_reason\": \"x\"}}").status())
        .isEqualTo(400);
    // an admin may still act on it
    assertThat(action(admin, id, null, "{\"os-stop\": null}").status()).isEqualTo(202);
    cloud.awaitStatus(demo, id, "SHUTOFF");
    assertThat(action(demo, id, null, "{\"unlock\": null}").status()).isEqualTo(202);
    assertThat(action(demo, id, null, "{\"os-start\": null}").status()).isEqualTo(202);
    cloud.awaitStatus(demo, id, "ACTIVE");
    // an admin's lock is the admin's to lift
    assertThat(action(admin, id, null, "{\"lock\": null}").status()).isEqualTo(202);
    assertThat(action(demo, id, null, "{\"unlock\": null}").status()).isEqualTo(403);
    assertThat(action(admin, id, null, "{\"unlock\": null}").status()).isEqualTo(202);
    assertThat(cloud.call("DELETE", "/servers/" + id, demo, null, null).status()).isEqualTo(204);
    assertThat(actionNames(id)).contains("lock", "unlock");
  }

  @Test
  void aLockReasonShowsFrom273() {
    String id = active("reason");
    assertThat(
            action(demo, id, "2.73", "{\"lock\": {\"locked_reason\": \"maintenance\"}}").status())
        .isEqualTo(202);
    JsonNode s = cloud.call("GET", "/servers/" + id, demo, "2.73", null).json().path("server");
    assertThat(s.path("locked").asBoolean()).isTrue();
    assertThat(s.path("locked_reason").asText()).isEqualTo("maintenance");
    assertThat(
            cloud
                .call("GET", "/servers/" + id, demo, "2.72", null)
                .json()
                .path("server")
                .has("locked_reason"))
        .isFalse();
    assertThat(action(demo, id, null, "{\"unlock\": null}").status()).isEqualTo(202);
    s = cloud.call("GET", "/servers/" + id, demo, "2.73", null).json().path("server");
    assertThat(s.path("locked_reason").isNull()).isTrue();
  }

  @Test
  void resetStateIsForAdminsAndClearsTheTask() {
    String id = active("reset");
    assertThat(action(demo, id, null, "{\"os-resetState\": {\"state\": \"error\"}}").status())
        .isEqualTo(403);
    assertThat(action(admin, id, null, "{\"os-resetState\": {\"state\": \"paused\"}}").status())
        .isEqualTo(400);
    // a task stuck by hand (as a crashed control plane would leave it)
    cloud
        .running
        .cloud()
        .compute()
        .instances()
        .compareAndSwap(
            id,
            io.virga.core.InstanceUpdate.none().task(io.virga.core.TaskState.POWERING_OFF),
            null);
    assertThat(action(admin, id, null, "{\"os-resetState\": {\"state\": \"error\"}}").status())
        .isEqualTo(202);
    JsonNode s = cloud.server(admin, id);
    assertThat(s.path("status").asText()).isEqualTo("ERROR");
    assertThat(s.path("OS-EXT-STS:task_state").isNull()).isTrue();
    assertThat(action(admin, id, null, "{\"os-resetState\": {\"state\": \"active\"}}").status())
        .isEqualTo(202);
    assertThat(cloud.server(admin, id).path("OS-EXT-STS:vm_state").asText()).isEqualTo("active");
    assertThat(actionNames(id)).contains("resetState");
  }

  @Test
  void rebuildReplacesImageNameAndMetadataAndKeepsThePowerState() throws Exception {
    String id = active("rb");
    String other = otherImage("other");
    ComputeTestCloud.Reply r =
        action(
            demo,
            id,
            "2.53",
            """
            {"rebuild": {"imageRef": "%s", "name": "rebuilt", "metadata": {"k": "v2"},
             "preserve_ephemeral": true, "adminPass": "pw-123"}}
            """
                .formatted(other));
    assertThat(r.status()).isEqualTo(202);
    assertThat(r.json().path("server").path("adminPass").asText()).isEqualTo("pw-123");
    assertThat(r.json().path("server").path("status").asText()).isEqualTo("REBUILD");
    JsonNode s = cloud.awaitStatus(demo, id, "ACTIVE");
    assertThat(s.path("image").path("id").asText()).isEqualTo(other);
    assertThat(s.path("name").asText()).isEqualTo("rebuilt");
    assertThat(s.path("metadata").path("k").asText()).isEqualTo("v2");
    assertThat(cloud.driver.imageFetchCount(other)).isEqualTo(1);
    // the password answered is the one the rebuilt config drive carries
    assertThat(cloud.driver.adminPass(id)).contains("pw-123");
    String console =
        action(demo, id, null, "{\"os-getConsoleOutput\": {}}").json().path("output").asText();
    assertThat(console.split("VIRGA-GUEST-UP", -1)).hasSize(3); // booted twice
    assertThat(events(id, "rebuild")).containsExactly("compute_rebuild_instance:Success");
    // a stopped server is rebuilt and stopped again
    assertThat(action(demo, id, null, "{\"os-stop\": null}").status()).isEqualTo(202);
    cloud.awaitStatus(demo, id, "SHUTOFF");
    assertThat(
            action(demo, id, null, "{\"rebuild\": {\"imageRef\": \"" + cloud.ensureImage() + "\"}}")
                .status())
        .isEqualTo(202);
    s = cloud.awaitStatus(demo, id, "SHUTOFF");
    assertThat(s.path("image").path("id").asText()).isEqualTo(cloud.ensureImage());
    assertThat(s.path("OS-EXT-STS:power_state").asInt()).isEqualTo(4);
  }

  @Test
  void rebuildReplacesUserDataAt257AndTheKeyAt254() {
    String id = active("rb-ud");
    ComputeTestCloud.Reply key =
        cloud.call(
            "POST",
            "/os-keypairs",
            demo,
            "2.1",
            "{\"keypair\": {\"name\": \"k1\", \"public_key\": \"ssh-ed25519"
                + " AAAAC3NzaC1lZDI1NTE5AAAAIBz1f0MhnaqaKV5m0nO8fN5hOm0hB5eKdOBpSB3B7hbq t@x\"}}");
    assertThat(key.status()).as(key.text()).isIn(200, 201);
    String body =
        "{\"rebuild\": {\"imageRef\": \"%s\", \"user_data\": \"IyEvYmluL3NoCg==\","
            + " \"key_name\": \"k1\"}}";
    assertThat(action(demo, id, "2.56", body.formatted(cloud.ensureImage())).status())
        .isEqualTo(400);
    assertThat(action(demo, id, "2.57", body.formatted(cloud.ensureImage())).status())
        .isEqualTo(202);
    cloud.awaitStatus(demo, id, "ACTIVE");
    JsonNode s = cloud.call("GET", "/servers/" + id, admin, "2.57", null).json().path("server");
    assertThat(s.path("OS-EXT-SRV-ATTR:user_data").asText()).isEqualTo("IyEvYmluL3NoCg==");
    assertThat(s.path("key_name").asText()).isEqualTo("k1");
    // key_name null removes the key; an unknown one is refused before anything changes
    assertThat(
            action(
                    demo,
                    id,
                    "2.57",
                    "{\"rebuild\": {\"imageRef\": \""
                        + cloud.ensureImage()
                        + "\", \"key_name\": \"nope\"}}")
                .status())
        .isEqualTo(400);
    assertThat(cloud.server(demo, id).path("OS-EXT-STS:task_state").isNull()).isTrue();
    assertThat(
            action(
                    demo,
                    id,
                    "2.57",
                    "{\"rebuild\": {\"imageRef\": \""
                        + cloud.ensureImage()
                        + "\", \"key_name\": null}}")
                .status())
        .isEqualTo(202);
    s = cloud.awaitStatus(demo, id, "ACTIVE");
    assertThat(s.path("key_name").isNull()).isTrue();
  }

  @Test
  void rebuildRefusesWrongStatesAndBadImagesWithoutLeavingATask() {
    String id = active("rb-bad");
    assertThat(action(demo, id, null, "{\"rebuild\": {\"imageRef\": \"no-such-image\"}}").status())
        .isEqualTo(400);
    assertThat(
            action(
                    demo,
                    id,
                    null,
                    "{\"rebuild\": {\"imageRef\": \""
                        + cloud.ensureImage()
                        + "\", \"key_name\": \"x\"}}")
                .status())
        .isEqualTo(400); // key_name only from 2.54, beyond this API's 2.53
    assertThat(action(demo, id, null, "{\"rebuild\": {}}").status()).isEqualTo(400);
    assertThat(cloud.server(demo, id).path("OS-EXT-STS:task_state").isNull()).isTrue();
    assertThat(action(demo, id, null, "{\"pause\": null}").status()).isEqualTo(202);
    cloud.awaitStatus(demo, id, "PAUSED");
    ComputeTestCloud.Reply wrong =
        action(demo, id, null, "{\"rebuild\": {\"imageRef\": \"" + cloud.ensureImage() + "\"}}");
    assertThat(wrong.status()).isEqualTo(409);
    assertThat(wrong.json().path("conflictingRequest").path("message").asText())
        .contains("Cannot 'rebuild' instance " + id + " while it is in vm_state paused");
  }

  @Test
  void aFailedRebuildLeavesTheServerInErrorWithAFault() {
    String id = active("rb-fail");
    cloud.driver.faults().failNext(FakeFaults.Op.REBUILD, () -> new VirgaException("disk gone"));
    assertThat(
            action(demo, id, null, "{\"rebuild\": {\"imageRef\": \"" + cloud.ensureImage() + "\"}}")
                .status())
        .isEqualTo(202);
    JsonNode s = cloud.awaitStatus(demo, id, "ERROR");
    assertThat(s.path("fault").path("message").asText()).contains("disk gone");
    assertThat(events(id, "rebuild")).containsExactly("compute_rebuild_instance:Error");
    // rebuild is allowed from ERROR and brings it back
    assertThat(
            action(demo, id, null, "{\"rebuild\": {\"imageRef\": \"" + cloud.ensureImage() + "\"}}")
                .status())
        .isEqualTo(202);
    cloud.awaitStatus(demo, id, "ACTIVE");
  }

  @Test
  void rescueBootsTheRescueImageAndUnrescueComesBack() throws Exception {
    String id = active("rs");
    String rescueImage = otherImage("rescue-image");
    assertThat(action(demo, id, null, "{\"unrescue\": null}").status()).isEqualTo(409);
    ComputeTestCloud.Reply r =
        action(
            demo,
            id,
            null,
            "{\"rescue\": {\"rescue_image_ref\": \"" + rescueImage + "\", \"adminPass\": \"p\"}}");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.json().path("adminPass").asText()).isEqualTo("p");
    JsonNode s = cloud.awaitStatus(demo, id, "RESCUE");
    assertThat(s.path("OS-EXT-STS:vm_state").asText()).isEqualTo("rescued");
    assertThat(cloud.driver.rescueImage(id)).contains(rescueImage);
    assertThat(cloud.driver.rescueAdminPass(id)).contains("p"); // on the rescue config drive
    assertThat(action(demo, id, null, "{\"rescue\": null}").status()).isEqualTo(409);
    assertThat(action(demo, id, null, "{\"os-start\": null}").status()).isEqualTo(409);
    assertThat(action(demo, id, null, "{\"unrescue\": null}").status()).isEqualTo(202);
    s = cloud.awaitStatus(demo, id, "ACTIVE");
    assertThat(cloud.driver.rescueImage(id)).isEmpty();
    assertThat(events(id, "rescue")).containsExactly("compute_rescue_instance:Success");
    assertThat(events(id, "unrescue")).containsExactly("compute_unrescue_instance:Success");
    // by default the server's own image rescues it
    assertThat(action(demo, id, null, "{\"rescue\": null}").status()).isEqualTo(200);
    cloud.awaitStatus(demo, id, "RESCUE");
    assertThat(cloud.driver.rescueImage(id)).contains(cloud.ensureImage());
    assertThat(action(demo, id, null, "{\"os-stop\": null}").status()).isEqualTo(202);
    cloud.awaitStatus(demo, id, "SHUTOFF");
  }

  @Test
  void anAgentStoppedMidRebuildLeavesErrorAndMidRescueComesBackActive() throws Exception {
    String rb = active("crash-rb");
    String rs = active("crash-rs");
    var crash = cloud.crashDuring(FakeFaults.Op.REBUILD, FakeFaults.Op.RESCUE);
    assertThat(
            action(demo, rb, null, "{\"rebuild\": {\"imageRef\": \"" + cloud.ensureImage() + "\"}}")
                .status())
        .isEqualTo(202);
    assertThat(action(demo, rs, null, "{\"rescue\": null}").status()).isEqualTo(200);
    assertThat(crash.awaitReached()).isTrue();
    assertThat(cloud.server(demo, rb).path("OS-EXT-STS:task_state").asText())
        .isEqualTo("rebuilding");
    assertThat(cloud.server(demo, rs).path("OS-EXT-STS:task_state").asText()).isEqualTo("rescuing");
    // the agent dies with both tasks in flight
    crash.crash();
    demo = cloud.demo();
    JsonNode a = cloud.awaitStatus(demo, rb, "ERROR");
    assertThat(a.path("OS-EXT-STS:task_state").isNull()).isTrue();
    JsonNode b = cloud.awaitStatus(demo, rs, "ACTIVE");
    assertThat(b.path("OS-EXT-STS:vm_state").asText()).isEqualTo("active");
  }
}
