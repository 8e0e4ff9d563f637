package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.core.VirgaException;
import io.virga.virt.FakeDriver;
import io.virga.virt.FakeFaults;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code createImage} action over real HTTP against virga up's wiring with a FakeDriver agent:
 * allowed states and 409s, the snapshot image's fields, and every way a snapshot can end without an
 * image — none leaves the entry queued or saving, and the server returns to its state.
 */
class SnapshotApiTest {
  @TempDir Path home;
  ComputeTestCloud cloud;
  String demo;
  String admin;

  @BeforeEach
  void start() {
    cloud = new ComputeTestCloud(home, new FakeDriver("fake-host", 8, 4096, 100), Map.of());
    demo = cloud.demo();
    admin = cloud.admin();
  }

  @AfterEach
  void stop() {
    cloud.close();
  }

  private ComputeTestCloud.Reply createImage(String token, String id, String version, String arg) {
    return cloud.call(
        "POST", "/servers/" + id + "/action", token, version, "{\"createImage\": " + arg + "}");
  }

  private ComputeTestCloud.Reply image(String token, String imageId) {
    HttpResponse<String> r = cloud.send("GET", "/image/v2/images/" + imageId, token, null, null);
    try {
      return new ComputeTestCloud.Reply(
          r.statusCode(),
          r.statusCode() == 200 ? ComputeTestCloud.JSON.readTree(r.body()) : null,
          r.body());
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  /** Every snapshot image of the demo project, whatever its status. */
  private List<JsonNode> snapshotImages() {
    HttpResponse<String> r = cloud.send("GET", "/image/v2/images?limit=1000", demo, null, null);
    List<JsonNode> out = new ArrayList<>();
    try {
      for (JsonNode i : ComputeTestCloud.JSON.readTree(r.body()).path("images")) {
        if (i.path("image_type").asText().equals("snapshot")) {
          out.add(i);
        }
      }
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    return out;
  }

  private JsonNode awaitImageActive(String imageId) {
    JsonNode[] last = new JsonNode[1];
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(30))
        .pollInterval(java.time.Duration.ofMillis(50))
        .until(
            () -> {
              last[0] = image(demo, imageId).json();
              return last[0] != null && last[0].path("status").asText().equals("active");
            });
    return last[0];
  }

  @Test
  void snapshotOfAnActiveServerBecomesAnActivePrivateImageWithNovasProperties() throws Exception {
    String id = cloud.boot(demo, "snap-src", "v1.tiny");
    cloud.awaitStatus(demo, id, "ACTIVE");
    HttpResponse<String> raw =
        cloud.send(
            "POST",
            "/compute/v2.1/servers/" + id + "/action",
            demo,
            "2.1",
            "{\"createImage\": {\"name\": \"snap-1\", \"metadata\": {\"purpose\": \"test\"}}}");
    assertThat(raw.statusCode()).isEqualTo(202);
    assertThat(raw.body()).isEmpty();
    String location = raw.headers().firstValue("Location").orElseThrow();
    assertThat(location).startsWith(cloud.url() + "/image/v2/images/");
    String imageId = location.substring(location.lastIndexOf('/') + 1);

    cloud.awaitStatus(demo, id, "ACTIVE");
    JsonNode img = awaitImageActive(imageId);
    String demoProject = cloud.running.users().demoProjectId();
    assertThat(img.path("name").asText()).isEqualTo("snap-1");
    assertThat(img.path("visibility").asText()).isEqualTo("private");
    assertThat(img.path("owner").asText()).isEqualTo(demoProject);
    assertThat(img.path("image_type").asText()).isEqualTo("snapshot");
    assertThat(img.path("instance_uuid").asText()).isEqualTo(id);
    assertThat(img.path("base_image_ref").asText()).isEqualTo(cloud.ensureImage());
    assertThat(img.path("user_id").asText()).isEqualTo(cloud.running.users().demoUserId());
    assertThat(img.path("owner_project_name").asText()).isEqualTo("demo");
    assertThat(img.path("owner_user_name").asText()).isEqualTo("demo");
    assertThat(img.path("purpose").asText()).isEqualTo("test");
    assertThat(img.path("disk_format").asText()).isEqualTo("raw");
    assertThat(img.path("container_format").asText()).isEqualTo("bare");
    assertThat(img.path("min_disk").asInt()).isEqualTo(1); // v1.tiny's root_gb
    assertThat(img.path("min_ram").asInt()).isZero();
    HttpResponse<byte[]> data =
        java.net.http.HttpClient.newHttpClient()
            .send(
                java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create(cloud.url() + "/image/v2/images/" + imageId + "/file"))
                    .header("X-Auth-Token", demo)
                    .build(),
                HttpResponse.BodyHandlers.ofByteArray());
    assertThat(data.statusCode()).isEqualTo(200);
    assertThat(new String(data.body(), java.nio.charset.StandardCharsets.UTF_8))
        .isEqualTo("fake snapshot of " + id + "\n");
    String md5 = HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(data.body()));
    assertThat(img.path("checksum").asText()).isEqualTo(md5);
    assertThat(img.path("size").asLong()).isEqualTo(data.body().length);
    assertThat(img.path("os_hash_algo").asText()).isEqualTo("sha512");

    // the instance action and the agent's event, as os-instance-actions shows them
    JsonNode actions = cloud.get("/servers/" + id + "/os-instance-actions", demo).json();
    assertThat(actions.path("instanceActions").get(0).path("action").asText())
        .isEqualTo("createImage");
    // the snapshot image boots
    ComputeTestCloud.Reply boot =
        cloud.call(
            "POST",
            "/servers",
            demo,
            "2.37",
            """
            {"server": {"name": "from-snap", "imageRef": "%s", "flavorRef": "v1.tiny",
             "networks": "none"}}
            """
                .formatted(imageId));
    assertThat(boot.status()).isEqualTo(202);
    cloud.awaitStatus(demo, boot.json().path("server").path("id").asText(), "ACTIVE");
  }

  @Test
  void from245TheReplyCarriesTheImageIdAndNoLocation() {
    String id = cloud.boot(demo, "snap-245", "v1.tiny");
    cloud.awaitStatus(demo, id, "ACTIVE");
    HttpResponse<String> raw =
        cloud.send(
            "POST",
            "/compute/v2.1/servers/" + id + "/action",
            demo,
            "2.45",
            "{\"createImage\": {\"name\": \"snap-245\"}}");
    assertThat(raw.statusCode()).isEqualTo(202);
    assertThat(raw.headers().firstValue("Location")).isEmpty();
    String imageId;
    try {
      imageId = ComputeTestCloud.JSON.readTree(raw.body()).path("image_id").asText();
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    assertThat(imageId).matches("[0-9a-f-]{36}");
    awaitImageActive(imageId);
  }

  @Test
  void stoppedPausedAndSuspendedServersAreSnapshottedAndKeepTheirState() {
    String id = cloud.boot(demo, "snap-states", "v1.tiny");
    cloud.awaitStatus(demo, id, "ACTIVE");
    String[][] steps = {
      {"{\"os-stop\": null}", "SHUTOFF", "{\"os-start\": null}"},
      {"{\"pause\": null}", "PAUSED", "{\"unpause\": null}"},
      {"{\"suspend\": null}", "SUSPENDED", "{\"resume\": null}"},
    };
    for (String[] s : steps) {
      assertThat(cloud.call("POST", "/servers/" + id + "/action", demo, null, s[0]).status())
          .isEqualTo(202);
      cloud.awaitStatus(demo, id, s[1]);
      ComputeTestCloud.Reply r = createImage(demo, id, "2.45", "{\"name\": \"in-" + s[1] + "\"}");
      assertThat(r.status()).as(s[1]).isEqualTo(202);
      awaitImageActive(r.json().path("image_id").asText());
      cloud.awaitStatus(demo, id, s[1]);
      assertThat(cloud.call("POST", "/servers/" + id + "/action", demo, null, s[2]).status())
          .isEqualTo(202);
      cloud.awaitStatus(demo, id, "ACTIVE");
    }
    assertThat(snapshotImages()).hasSize(3);
  }

  @Test
  void wrongStatesAnotherTaskAndBadBodiesAreRefusedWithoutLeavingAnImage() throws Exception {
    // building: not an allowed vm_state
    CountDownLatch spawning = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    cloud.driver.faults().hook(FakeFaults.Op.SPAWN, uuid -> hold(spawning, release));
    String building = cloud.boot(demo, "building", "v1.tiny");
    assertThat(spawning.await(20, TimeUnit.SECONDS)).isTrue();
    ComputeTestCloud.Reply r = createImage(demo, building, null, "{\"name\": \"x\"}");
    assertThat(r.status()).isEqualTo(409);
    assertThat(r.json().path("conflictingRequest").path("message").asText())
        .contains(
            "Cannot 'createImage' instance " + building + " while it is in vm_state building");
    release.countDown();
    cloud.awaitStatus(demo, building, "ACTIVE");
    cloud.driver.faults().clear();

    // another task running: a snapshot held in the driver
    CountDownLatch snapshotting = new CountDownLatch(1);
    CountDownLatch go = new CountDownLatch(1);
    cloud.driver.faults().hook(FakeFaults.Op.SNAPSHOT, uuid -> hold(snapshotting, go));
    ComputeTestCloud.Reply first = createImage(demo, building, "2.45", "{\"name\": \"first\"}");
    assertThat(first.status()).isEqualTo(202);
    assertThat(snapshotting.await(20, TimeUnit.SECONDS)).isTrue();
    assertThat(cloud.server(demo, building).path("OS-EXT-STS:task_state").asText())
        .isEqualTo("image_snapshot");
    assertThat(image(demo, first.json().path("image_id").asText()).json().path("status").asText())
        .isEqualTo("queued");
    ComputeTestCloud.Reply second = createImage(demo, building, "2.45", "{\"name\": \"second\"}");
    assertThat(second.status()).isEqualTo(409);
    assertThat(second.text()).contains("task_state image_snapshot");
    assertThat(
            cloud
                .call("POST", "/servers/" + building + "/action", demo, null, "{\"pause\": null}")
                .status())
        .isEqualTo(409);
    go.countDown();
    awaitImageActive(first.json().path("image_id").asText());
    cloud.awaitStatus(demo, building, "ACTIVE");

    // bodies and visibility
    assertThat(createImage(demo, building, null, "{}").status()).isEqualTo(400);
    assertThat(createImage(demo, building, null, "null").status()).isEqualTo(400);
    assertThat(createImage(demo, building, null, "{\"name\": \" padded\"}").status())
        .isEqualTo(400);
    assertThat(createImage(demo, building, null, "{\"name\": \"a\", \"other\": 1}").status())
        .isEqualTo(400);
    assertThat(
            createImage(demo, building, null, "{\"name\": \"a\", \"metadata\": {\"k\": 1}}")
                .status())
        .isEqualTo(400);
    String adminServer = cloud.boot(admin, "admins", "v1.tiny");
    cloud.awaitStatus(admin, adminServer, "ACTIVE");
    assertThat(createImage(demo, adminServer, null, "{\"name\": \"theirs\"}").status())
        .isEqualTo(404);
    // only the first snapshot exists
    assertThat(snapshotImages())
        .singleElement()
        .satisfies(i -> assertThat(i.path("name").asText()).isEqualTo("first"));
  }

  @Test
  void aFailedSnapshotRemovesItsImageAndClearsTheTask() {
    String id = cloud.boot(demo, "snap-fail", "v1.tiny");
    cloud.awaitStatus(demo, id, "ACTIVE");
    assertThat(
            cloud
                .call("POST", "/servers/" + id + "/action", demo, null, "{\"pause\": null}")
                .status())
        .isEqualTo(202);
    cloud.awaitStatus(demo, id, "PAUSED");
    cloud
        .driver
        .faults()
        .failNext(FakeFaults.Op.SNAPSHOT, () -> new VirgaException("qemu-img convert failed"));
    ComputeTestCloud.Reply r = createImage(demo, id, "2.45", "{\"name\": \"doomed\"}");
    assertThat(r.status()).isEqualTo(202);
    String imageId = r.json().path("image_id").asText();
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(30))
        .until(() -> image(demo, imageId).status() == 404);
    JsonNode s = cloud.awaitStatus(demo, id, "PAUSED");
    assertThat(s.path("OS-EXT-STS:vm_state").asText()).isEqualTo("paused");
    assertThat(snapshotImages()).isEmpty();
    // the failure is on the action's event (admin sees events)
    String rid =
        cloud
            .get("/servers/" + id + "/os-instance-actions", demo)
            .json()
            .path("instanceActions")
            .get(0)
            .path("request_id")
            .asText();
    JsonNode action =
        cloud
            .get("/servers/" + id + "/os-instance-actions/" + rid, admin)
            .json()
            .path("instanceAction");
    assertThat(action.path("action").asText()).isEqualTo("createImage");
    assertThat(action.path("events").get(0).path("result").asText()).isEqualTo("Error");
  }

  @Test
  void anUploadTheStoreRefusesLeavesNoImage() throws Exception {
    String id = cloud.boot(demo, "snap-store", "v1.tiny");
    cloud.awaitStatus(demo, id, "ACTIVE");
    // the store's directory becomes a file: writing the upload fails as on a full or broken disk
    Path images = home.resolve("images");
    Path moved = home.resolve("images.moved");
    Files.move(images, moved);
    Files.writeString(images, "not a directory");
    try {
      ComputeTestCloud.Reply r = createImage(demo, id, "2.45", "{\"name\": \"unstored\"}");
      assertThat(r.status()).isEqualTo(202);
      String imageId = r.json().path("image_id").asText();
      org.awaitility.Awaitility.await()
          .atMost(java.time.Duration.ofSeconds(30))
          .until(() -> image(demo, imageId).status() == 404);
      cloud.awaitStatus(demo, id, "ACTIVE");
    } finally {
      Files.delete(images);
      Files.move(moved, images);
    }
    assertThat(snapshotImages()).isEmpty();
  }

  @Test
  void deletingTheServerDuringASnapshotLeavesNoImageBehind() throws Exception {
    String id = cloud.boot(demo, "snap-del", "v1.tiny");
    cloud.awaitStatus(demo, id, "ACTIVE");
    CountDownLatch snapshotting = new CountDownLatch(1);
    CountDownLatch go = new CountDownLatch(1);
    cloud.driver.faults().hook(FakeFaults.Op.SNAPSHOT, uuid -> hold(snapshotting, go));
    ComputeTestCloud.Reply r = createImage(demo, id, "2.45", "{\"name\": \"orphan\"}");
    String imageId = r.json().path("image_id").asText();
    assertThat(snapshotting.await(20, TimeUnit.SECONDS)).isTrue();
    assertThat(cloud.call("DELETE", "/servers/" + id, demo, null, null).status()).isEqualTo(204);
    go.countDown();
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(30))
        .until(() -> cloud.get("/servers/" + id, demo).status() == 404);
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(30))
        .until(() -> image(demo, imageId).status() == 404);
    assertThat(snapshotImages()).isEmpty();
  }

  @Test
  void anAgentKilledMidSnapshotClearsTheTaskAndTheImageAtItsNextStart() throws Exception {
    String id = cloud.boot(demo, "snap-crash", "v1.tiny");
    cloud.awaitStatus(demo, id, "ACTIVE");
    assertThat(
            cloud
                .call("POST", "/servers/" + id + "/action", demo, null, "{\"os-stop\": null}")
                .status())
        .isEqualTo(202);
    cloud.awaitStatus(demo, id, "SHUTOFF");
    CountDownLatch snapshotting = new CountDownLatch(1);
    CountDownLatch never = new CountDownLatch(1);
    cloud
        .driver
        .faults()
        .hook(
            FakeFaults.Op.SNAPSHOT,
            uuid -> {
              hold(snapshotting, never);
              throw new VirgaException("agent stopped mid-snapshot");
            });
    ComputeTestCloud.Reply r = createImage(demo, id, "2.45", "{\"name\": \"interrupted\"}");
    String imageId = r.json().path("image_id").asText();
    assertThat(snapshotting.await(20, TimeUnit.SECONDS)).isTrue();
    // the agent dies with the task in flight: nothing it does afterwards reaches the database
    cloud.running.cloud().database().close();
    never.countDown();
    cloud.driver.faults().clear();
    cloud.restart();
    demo = cloud.demo();
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(30))
        .until(() -> image(demo, imageId).status() == 404);
    JsonNode s = cloud.awaitStatus(demo, id, "SHUTOFF");
    assertThat(s.path("OS-EXT-STS:task_state").isNull()).isTrue();
    assertThat(snapshotImages()).isEmpty();
  }

  private static void hold(CountDownLatch reached, CountDownLatch release) {
    reached.countDown();
    try {
      if (!release.await(30, TimeUnit.SECONDS)) {
        throw new IllegalStateException("test never released the hook");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
