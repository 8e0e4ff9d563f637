package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.virt.FakeDriver;
import io.virga.virt.FakeFaults;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Shelve, shelve offload, unshelve and createBackup through the compute API with virga up's wiring
 * on a FakeDriver agent: states, the shelve image's life, freed claims, rotation, 409s and start-up
 * recovery.
 */
class ShelveBackupApiTest {
  @TempDir Path home;
  ComputeTestCloud cloud;
  String admin;
  String demo;

  private void start(Map<String, String> settings) {
    cloud = new ComputeTestCloud(home, new FakeDriver("fake-host", 8, 4096, 100), settings);
    admin = cloud.admin();
    demo = cloud.demo();
  }

  @AfterEach
  void stop() {
    if (cloud != null) {
      cloud.close();
    }
  }

  private ComputeTestCloud.Reply action(String token, String id, String version, String body) {
    return cloud.call("POST", "/servers/" + id + "/action", token, version, body);
  }

  private String active(String name) {
    String id = cloud.boot(demo, name, "v1.tiny");
    cloud.awaitStatus(demo, id, "ACTIVE");
    return id;
  }

  private int imageStatus(String imageId) {
    return cloud.send("GET", "/image/v2/images/" + imageId, admin, null, null).statusCode();
  }

  /** The demo project's images with this image_type, newest first as the store lists them. */
  private List<JsonNode> images(String type) {
    HttpResponse<String> r = cloud.send("GET", "/image/v2/images?limit=1000", demo, null, null);
    List<JsonNode> out = new ArrayList<>();
    try {
      for (JsonNode i : ComputeTestCloud.JSON.readTree(r.body()).path("images")) {
        if (i.path("image_type").asText().equals(type)) {
          out.add(i);
        }
      }
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    return out;
  }

  private long memoryUsedOnHost() {
    return cloud.running.cloud().compute().hosts().usage("fake-host").ramMb();
  }

  @Test
  void shelveOffloadsAtOnceAndUnshelveSchedulesAndBootsFromTheShelveImage() {
    start(Map.of());
    String id = active("sh");
    assertThat(memoryUsedOnHost()).isEqualTo(128);
    assertThat(action(demo, id, null, "{\"unshelve\": null}").status()).isEqualTo(409);
    assertThat(action(demo, id, null, "{\"shelve\": null}").status()).isEqualTo(202);
    JsonNode s = cloud.awaitStatus(admin, id, "SHELVED_OFFLOADED");
    assertThat(s.path("OS-EXT-SRV-ATTR:host").isNull()).isTrue();
    assertThat(s.path("OS-EXT-STS:power_state").asInt()).isEqualTo(0);
    assertThat(cloud.driver.powerState(id)).isEmpty(); // nothing left on the host
    assertThat(memoryUsedOnHost()).isZero(); // its claim is freed
    List<JsonNode> shelved = images("snapshot");
    assertThat(shelved).hasSize(1);
    assertThat(shelved.get(0).path("name").asText()).isEqualTo("sh-shelved");
    assertThat(shelved.get(0).path("status").asText()).isEqualTo("active");
    String shelveImage = shelved.get(0).path("id").asText();
    assertThat(action(demo, id, null, "{\"shelve\": null}").status()).isEqualTo(409);
    assertThat(action(demo, id, null, "{\"os-start\": null}").status()).isEqualTo(409);

    assertThat(action(demo, id, null, "{\"unshelve\": null}").status()).isEqualTo(202);
    s = cloud.awaitStatus(admin, id, "ACTIVE");
    assertThat(s.path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo("fake-host");
    assertThat(s.path("image").path("id").asText()).isEqualTo(cloud.ensureImage());
    assertThat(cloud.driver.imageFetchCount(shelveImage)).isEqualTo(1); // booted from it
    assertThat(memoryUsedOnHost()).isEqualTo(128);
    Awaitility.await().until(() -> imageStatus(shelveImage) == 404); // and it is gone
    List<String> names = new ArrayList<>();
    cloud
        .get("/servers/" + id + "/os-instance-actions", admin)
        .json()
        .path("instanceActions")
        .forEach(a -> names.add(a.path("action").asText()));
    assertThat(names).contains("shelve", "unshelve");
  }

  @Test
  void withoutImmediateOffloadShelvedKeepsItsHostUntilShelveOffload() {
    start(Map.of("shelved_offload_time", "-1"));
    String id = active("keep");
    assertThat(action(demo, id, null, "{\"shelveOffload\": null}").status()).isEqualTo(409);
    assertThat(action(demo, id, null, "{\"shelve\": null}").status()).isEqualTo(202);
    JsonNode s = cloud.awaitStatus(admin, id, "SHELVED");
    assertThat(s.path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo("fake-host");
    assertThat(cloud.driver.powerState(id)).contains(io.virga.core.PowerState.SHUTDOWN);
    // unshelve of a shelved (not offloaded) server powers it on where it is
    assertThat(action(demo, id, null, "{\"unshelve\": null}").status()).isEqualTo(202);
    cloud.awaitStatus(admin, id, "ACTIVE");
    assertThat(cloud.driver.powerState(id)).contains(io.virga.core.PowerState.RUNNING);
    assertThat(images("snapshot")).isEmpty();
    // shelve again, then offload by hand
    assertThat(action(demo, id, null, "{\"shelve\": null}").status()).isEqualTo(202);
    cloud.awaitStatus(admin, id, "SHELVED");
    assertThat(action(demo, id, null, "{\"shelveOffload\": null}").status()).isEqualTo(202);
    s = cloud.awaitStatus(admin, id, "SHELVED_OFFLOADED");
    assertThat(s.path("OS-EXT-SRV-ATTR:host").isNull()).isTrue();
    assertThat(cloud.driver.powerState(id)).isEmpty();
  }

  @Test
  void theAgentsPeriodicTaskOffloadsAServerShelvedLongerThanShelvedOffloadTime() {
    start(Map.of("shelved_offload_time", "3", "shelved_poll_interval", "1"));
    String id = active("later");
    long shelvedAt = System.nanoTime();
    assertThat(action(demo, id, null, "{\"shelve\": null}").status()).isEqualTo(202);
    JsonNode s = cloud.awaitStatus(admin, id, "SHELVED");
    assertThat(s.path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo("fake-host");
    assertThat(memoryUsedOnHost()).isEqualTo(128); // keeps its claim while shelved
    assertThat(cloud.driver.powerState(id)).contains(io.virga.core.PowerState.SHUTDOWN);
    Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(20))
        .pollInterval(java.time.Duration.ofMillis(200))
        .until(
            () ->
                cloud
                    .get("/servers/" + id, admin)
                    .json()
                    .path("server")
                    .path("status")
                    .asText()
                    .equals("SHELVED_OFFLOADED"));
    long after = java.time.Duration.ofNanos(System.nanoTime() - shelvedAt).toMillis();
    assertThat(after).as("not offloaded before shelved_offload_time").isGreaterThanOrEqualTo(3000);
    s = cloud.get("/servers/" + id, admin).json().path("server");
    assertThat(s.path("OS-EXT-STS:task_state").isNull()).isTrue();
    assertThat(s.path("OS-EXT-SRV-ATTR:host").isNull()).isTrue();
    assertThat(cloud.driver.powerState(id)).isEmpty(); // nothing left on the host
    assertThat(memoryUsedOnHost()).isZero(); // its claim is freed
    // unshelve still works from the offloaded state
    assertThat(action(demo, id, null, "{\"unshelve\": null}").status()).isEqualTo(202);
    cloud.awaitStatus(admin, id, "ACTIVE");
  }

  @Test
  void unshelveWithNoValidHostStaysOffloadedWithAFault() {
    start(Map.of());
    String id = active("nohost");
    assertThat(action(demo, id, null, "{\"shelve\": null}").status()).isEqualTo(202);
    cloud.awaitStatus(admin, id, "SHELVED_OFFLOADED");
    cloud.running.cloud().compute().hosts().setDisabled("fake-host", true, Optional.of("test"));
    assertThat(action(demo, id, null, "{\"unshelve\": null}").status()).isEqualTo(202);
    JsonNode s = cloud.awaitStatus(admin, id, "SHELVED_OFFLOADED");
    assertThat(s.path("OS-EXT-STS:task_state").isNull()).isTrue();
    assertThat(cloud.driver.powerState(id)).isEmpty();
    cloud.running.cloud().compute().hosts().setDisabled("fake-host", false, Optional.empty());
    assertThat(action(demo, id, null, "{\"unshelve\": null}").status()).isEqualTo(202);
    cloud.awaitStatus(admin, id, "ACTIVE");
  }

  @Test
  void createBackupKeepsOnlyTheNewestRotationBackupsOfItsType() {
    start(Map.of());
    String id = active("bk");
    List<String> ids = new ArrayList<>();
    for (int n = 1; n <= 3; n++) {
      ComputeTestCloud.Reply r =
          action(
              demo,
              id,
              "2.45",
              "{\"createBackup\": {\"name\": \"daily-%d\", \"backup_type\": \"daily\", \"rotation\": 2}}"
                  .formatted(n));
      assertThat(r.status()).isEqualTo(202);
      ids.add(r.json().path("image_id").asText());
      cloud.awaitStatus(demo, id, "ACTIVE");
    }
    // a weekly backup is another rotation
    assertThat(
            action(
                    demo,
                    id,
                    null,
                    "{\"createBackup\": {\"name\": \"w\", \"backup_type\": \"weekly\", \"rotation\": 1}}")
                .status())
        .isEqualTo(202);
    cloud.awaitStatus(demo, id, "ACTIVE");
    Awaitility.await().until(() -> images("backup").size() == 3);
    List<String> left = new ArrayList<>();
    images("backup").forEach(i -> left.add(i.path("name").asText()));
    assertThat(left).containsExactlyInAnyOrder("daily-2", "daily-3", "w");
    assertThat(imageStatus(ids.get(0))).isEqualTo(404);
    JsonNode daily3 =
        images("backup").stream()
            .filter(i -> i.path("name").asText().equals("daily-3"))
            .findFirst()
            .orElseThrow();
    assertThat(daily3.path("backup_type").asText()).isEqualTo("daily");
    assertThat(daily3.path("instance_uuid").asText()).isEqualTo(id);
    // bad bodies and wrong states
    assertThat(
            action(
                    demo,
                    id,
                    null,
                    "{\"createBackup\": {\"name\": \"x\", \"backup_type\": \"daily\"}}")
                .status())
        .isEqualTo(400);
    assertThat(
            action(
                    demo,
                    id,
                    null,
                    "{\"createBackup\": {\"name\": \"x\", \"backup_type\": \"daily\", \"rotation\": -1}}")
                .status())
        .isEqualTo(400);
    assertThat(action(demo, id, null, "{\"shelve\": null}").status()).isEqualTo(202);
    cloud.awaitStatus(demo, id, "SHELVED_OFFLOADED");
    assertThat(
            action(
                    demo,
                    id,
                    null,
                    "{\"createBackup\": {\"name\": \"x\", \"backup_type\": \"daily\", \"rotation\": 1}}")
                .status())
        .isEqualTo(409);
  }

  @Test
  void anAgentStoppedMidShelveLeavesNoTaskAndNoHalfImage() throws Exception {
    start(Map.of());
    String id = active("crash-sh");
    var crash = cloud.crashDuring(FakeFaults.Op.SNAPSHOT);
    assertThat(action(demo, id, null, "{\"shelve\": null}").status()).isEqualTo(202);
    assertThat(crash.awaitReached()).isTrue();
    assertThat(cloud.server(demo, id).path("OS-EXT-STS:task_state").asText()).isEqualTo("shelving");
    crash.crash();
    demo = cloud.demo();
    admin = cloud.admin();
    // the guest was cleanly stopped before the snapshot: it comes back stopped, with no task
    JsonNode s = cloud.awaitStatus(demo, id, "SHUTOFF");
    assertThat(s.path("OS-EXT-STS:task_state").isNull()).isTrue();
    Awaitility.await().until(() -> images("snapshot").isEmpty());
    assertThat(action(demo, id, null, "{\"os-start\": null}").status()).isEqualTo(202);
    cloud.awaitStatus(demo, id, "ACTIVE");
  }
}
