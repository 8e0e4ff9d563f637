package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.virt.FakeDriver;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The compute API over real HTTP against virga up's wiring with a FakeDriver agent (SQLite). */
class ComputeApiTest {
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

  @Test
  void versionDocumentsAdvertiseTheMicroversionRange() {
    ComputeTestCloud.Reply v = cloud.get("", null);
    assertThat(v.status()).isEqualTo(200);
    assertThat(v.json().path("version").path("min_version").asText()).isEqualTo("2.1");
    assertThat(v.json().path("version").path("version").asText()).isEqualTo("2.80");
    var all = cloud.send("GET", "/compute", null, null, null);
    assertThat(all.statusCode()).isEqualTo(200);
    assertThat(all.body()).contains("\"v2.1\"");
  }

  @Test
  void createReachesActiveWithNovaShapedBodies() {
    ComputeTestCloud.Reply created =
        cloud.call(
            "POST",
            "/servers",
            demo,
            "2.37",
            """
            {"server": {"name": "vm1", "imageRef": "%s", "flavorRef": "v1.tiny",
             "networks": "none", "metadata": {"k": "v"}, "user_data": "IyEvYmluL3NoCg=="}}
            """
                .formatted(cloud.ensureImage()));
    assertThat(created.status()).isEqualTo(202);
    JsonNode s = created.json().path("server");
    assertThat(s.path("adminPass").asText()).isNotEmpty();
    String id = s.path("id").asText();
    JsonNode active = cloud.awaitStatus(demo, id, "ACTIVE");
    // the generated password reached the build's config drive
    assertThat(cloud.driver.adminPass(id)).contains(s.path("adminPass").asText());
    assertThat(active.path("OS-EXT-STS:vm_state").asText()).isEqualTo("active");
    assertThat(active.path("OS-EXT-STS:power_state").asInt()).isEqualTo(1);
    assertThat(active.path("metadata").path("k").asText()).isEqualTo("v");
    assertThat(active.path("hostId").asText()).hasSize(56);
    assertThat(active.path("flavor").path("id").asText()).isEqualTo("v1.tiny");
    assertThat(active.has("OS-EXT-SRV-ATTR:host")).isFalse();
    assertThat(active.has("locked")).isFalse();
    assertThat(active.path("OS-SRV-USG:launched_at").isNull()).isFalse();
    // admin sees the host, named as os-services names it; 2.47 embeds the flavor; 2.9 locked
    ComputeTestCloud.Reply adminView = cloud.call("GET", "/servers/" + id, admin, "2.53", null);
    JsonNode a = adminView.json().path("server");
    assertThat(a.path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo("fake-host");
    assertThat(a.path("OS-EXT-SRV-ATTR:instance_name").asText()).matches("instance-[0-9a-f]{8}");
    assertThat(a.path("flavor").path("ram").asInt()).isEqualTo(128);
    assertThat(a.path("locked").asBoolean()).isFalse();
    assertThat(a.path("host_status").asText()).isEqualTo("UP");
    JsonNode services = cloud.get("/os-services", admin).json().path("services");
    assertThat(services).hasSize(1);
    assertThat(services.get(0).path("host").asText()).isEqualTo("fake-host");
    assertThat(services.get(0).path("state").asText()).isEqualTo("up");
    // lists
    assertThat(cloud.get("/servers", demo).json().path("servers")).hasSize(1);
    assertThat(cloud.get("/servers/detail?status=ACTIVE", demo).json().path("servers")).hasSize(1);
    assertThat(cloud.get("/servers/detail?status=SHUTOFF", demo).json().path("servers")).isEmpty();
    assertThat(cloud.get("/servers?name=%5Evm", demo).json().path("servers")).hasSize(1);
    assertThat(cloud.get("/servers?name=nomatch", demo).json().path("servers")).isEmpty();
    // instance actions recorded with the build's events
    JsonNode actions = cloud.get("/servers/" + id + "/os-instance-actions", demo).json();
    assertThat(actions.path("instanceActions").get(0).path("action").asText()).isEqualTo("create");
    String rid = actions.path("instanceActions").get(0).path("request_id").asText();
    JsonNode action = cloud.get("/servers/" + id + "/os-instance-actions/" + rid, admin).json();
    assertThat(action.path("instanceAction").path("events").size()).isGreaterThanOrEqualTo(1);
    // console
    ComputeTestCloud.Reply console =
        cloud.call(
            "POST",
            "/servers/" + id + "/action",
            demo,
            null,
            "{\"os-getConsoleOutput\": {\"length\": 10}}");
    assertThat(console.status()).isEqualTo(200);
    assertThat(console.json().path("output").asText()).contains("VIRGA-GUEST-UP");
  }

  private int action(String token, String id, String body) {
    return cloud.call("POST", "/servers/" + id + "/action", token, null, body).status();
  }

  @Test
  void everyPowerActionReachesItsStateAndWrongStatesAre409() {
    String id = cloud.boot(demo, "p1", "v1.tiny");
    cloud.awaitStatus(demo, id, "ACTIVE");
    ComputeTestCloud.Reply wrong =
        cloud.call("POST", "/servers/" + id + "/action", demo, null, "{\"unpause\": null}");
    assertThat(wrong.status()).isEqualTo(409);
    assertThat(wrong.json().path("conflictingRequest").path("message").asText())
        .contains("Cannot 'unpause' instance " + id + " while it is in vm_state active");
    assertThat(action(demo, id, "{\"os-stop\": null}")).isEqualTo(202);
    cloud.awaitStatus(demo, id, "SHUTOFF");
    assertThat(action(demo, id, "{\"os-stop\": null}")).isEqualTo(409);
    assertThat(action(demo, id, "{\"os-start\": null}")).isEqualTo(202);
    cloud.awaitStatus(demo, id, "ACTIVE");
    assertThat(action(demo, id, "{\"reboot\": {\"type\": \"SOFT\"}}")).isEqualTo(202);
    cloud.awaitStatus(demo, id, "ACTIVE");
    assertThat(action(demo, id, "{\"reboot\": {\"type\": \"HARD\"}}")).isEqualTo(202);
    cloud.awaitStatus(demo, id, "ACTIVE");
    assertThat(action(demo, id, "{\"pause\": null}")).isEqualTo(202);
    cloud.awaitStatus(demo, id, "PAUSED");
    assertThat(action(demo, id, "{\"suspend\": null}")).isEqualTo(409);
    assertThat(action(demo, id, "{\"unpause\": null}")).isEqualTo(202);
    cloud.awaitStatus(demo, id, "ACTIVE");
    assertThat(action(demo, id, "{\"suspend\": null}")).isEqualTo(202);
    cloud.awaitStatus(demo, id, "SUSPENDED");
    assertThat(action(demo, id, "{\"resume\": null}")).isEqualTo(202);
    cloud.awaitStatus(demo, id, "ACTIVE");
    assertThat(action(demo, id, "{\"frobnicate\": null}")).isEqualTo(400);
    List<String> names = new ArrayList<>();
    cloud
        .get("/servers/" + id + "/os-instance-actions", demo)
        .json()
        .path("instanceActions")
        .forEach(a -> names.add(a.path("action").asText()));
    assertThat(names)
        .containsSubsequence(
            "resume", "suspend", "unpause", "pause", "reboot", "reboot", "start", "stop", "create");
    assertThat(cloud.call("DELETE", "/servers/" + id, demo, null, null).status()).isEqualTo(204);
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(20))
        .until(() -> cloud.get("/servers/" + id, demo).status() == 404);
    assertThat(cloud.driver.listInstanceUuids()).doesNotContain(id);
  }

  @Test
  void anotherProjectsServerIs404AndAdminOnlyApisAre403() {
    String id = cloud.boot(admin, "secret", "v1.tiny");
    cloud.awaitStatus(admin, id, "ACTIVE");
    assertThat(cloud.get("/servers/" + id, demo).status()).isEqualTo(404);
    assertThat(cloud.get("/servers/" + id, demo).json().has("itemNotFound")).isTrue();
    assertThat(action(demo, id, "{\"os-stop\": null}")).isEqualTo(404);
    assertThat(cloud.call("DELETE", "/servers/" + id, demo, null, null).status()).isEqualTo(404);
    assertThat(cloud.get("/servers/" + id + "/metadata", demo).status()).isEqualTo(404);
    assertThat(cloud.get("/servers/detail?all_tenants=1", demo).json().path("servers")).isEmpty();
    assertThat(cloud.get("/servers/detail?all_tenants=1", admin).json().path("servers")).hasSize(1);
    assertThat(cloud.get("/os-hypervisors", demo).status()).isEqualTo(403);
    assertThat(cloud.get("/os-services", demo).status()).isEqualTo(403);
    assertThat(
            cloud
                .call(
                    "POST",
                    "/flavors",
                    demo,
                    null,
                    "{\"flavor\": {\"name\": \"x\", \"ram\": 1, \"vcpus\": 1, \"disk\": 0}}")
                .status())
        .isEqualTo(403);
    assertThat(cloud.get("/servers/" + id, admin).status()).isEqualTo(200);
  }

  @Test
  void malformedAndWronglyTypedBodiesAre400AndOversizedOnes413() {
    String img = cloud.ensureImage();
    String[] bad = {
      "not json",
      "[]",
      "{\"server\": 5}",
      "{\"server\": {\"name\": 5, \"imageRef\": \""
          + img
          + "\", \"flavorRef\": \"1\", \"networks\": \"none\"}}",
      "{\"server\": {\"name\": \"x\", \"imageRef\": \"" + img + "\", \"networks\": \"none\"}}",
      "{\"server\": {\"name\": \"x\", \"imageRef\": \"" + img + "\", \"flavorRef\": \"1\"}}",
      "{\"server\": {\"name\": \"x\", \"imageRef\": \""
          + img
          + "\", \"flavorRef\": \"1\", \"networks\": \"none\", \"user_data\": \"%%%\"}}",
      "{\"server\": {\"name\": \"x\", \"imageRef\": \""
          + img
          + "\", \"flavorRef\": \"1\", \"networks\": \"none\", \"min_count\": \"a\"}}",
      "{\"server\": {\"name\": \"x\", \"imageRef\": \""
          + img
          + "\", \"flavorRef\": \"1\", \"networks\": \"none\", \"metadata\": {\"k\": 1}}}",
      "{\"server\": {\"name\": \"x\", \"imageRef\": \""
          + img
          + "\", \"flavorRef\": \"1\", \"networks\": \"none\", \"bogus\": 1}}",
      "{\"server\": {\"name\": \"x\", \"imageRef\": \""
          + img
          + "\", \"flavorRef\": \"nope\", \"networks\": \"none\"}}",
      "{\"server\": {\"name\": \"x\", \"imageRef\": \"nope\", \"flavorRef\": \"1\", \"networks\": \"none\"}}",
      "{\"server\": {\"name\": \"x\", \"imageRef\": \""
          + img
          + "\", \"flavorRef\": \"1\", \"networks\": [{\"uuid\": \"x\"}]}}",
    };
    for (String body : bad) {
      ComputeTestCloud.Reply r = cloud.call("POST", "/servers", demo, "2.37", body);
      assertThat(r.status()).as(body).isEqualTo(400);
      assertThat(r.json().path("badRequest").path("message").asText()).as(body).isNotEmpty();
    }
    String huge = "{\"server\": {\"name\": \"" + "x".repeat(200_000) + "\"}}";
    assertThat(cloud.call("POST", "/servers", demo, "2.37", huge).status()).isEqualTo(413);
    assertThat(cloud.call("POST", "/servers", demo, "2.99", bad[3]).status()).isEqualTo(406);
    assertThat(cloud.get("/servers?status=BOGUS", demo).json().path("servers")).isEmpty();
    assertThat(cloud.call("GET", "/servers?status=BOGUS", demo, "2.38", null).status())
        .isEqualTo(400);
    assertThat(cloud.get("/servers?limit=x", demo).status()).isEqualTo(400);
  }

  @Test
  void noValidHostLeavesTheServerInErrorWithAFault() {
    String id = cloud.boot(demo, "big", "4"); // m1.large: 8 GB on a 4 GB host
    JsonNode s = cloud.awaitStatus(demo, id, "ERROR");
    assertThat(s.path("fault").path("message").asText())
        .startsWith("No valid host was found. There are not enough hosts available.")
        .contains("MB RAM free");
    assertThat(s.path("fault").path("code").asInt()).isEqualTo(500);
    assertThat(cloud.call("DELETE", "/servers/" + id, demo, null, null).status()).isEqualTo(204);
    assertThat(cloud.get("/servers/" + id, demo).status()).isEqualTo(404);
  }

  @Test
  void concurrentBootsNeverOversubscribeTheHost() throws Exception {
    // 4096 MB * 1.5 - 512 reserved = 5632 MB: five 1 GB servers fit, the sixth does not
    cloud.call(
        "POST",
        "/flavors",
        admin,
        null,
        "{\"flavor\": {\"name\": \"g1\", \"id\": \"g1\", \"ram\": 1024, \"vcpus\": 1, \"disk\": 1}}");
    ExecutorService pool = Executors.newFixedThreadPool(10);
    List<Future<String>> boots = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      int n = i;
      boots.add(pool.submit(() -> cloud.boot(admin, "c" + n, "g1")));
    }
    List<String> ids = new ArrayList<>();
    for (Future<String> f : boots) {
      ids.add(f.get());
    }
    pool.shutdown();
    int active = 0;
    int error = 0;
    for (String id : ids) {
      org.awaitility.Awaitility.await()
          .atMost(java.time.Duration.ofSeconds(30))
          .until(
              () -> {
                JsonNode s = cloud.server(admin, id);
                return s.path("OS-EXT-STS:task_state").isNull()
                    && !s.path("status").asText().equals("BUILD");
              });
      String status = cloud.server(admin, id).path("status").asText();
      if (status.equals("ACTIVE")) {
        active++;
      } else if (status.equals("ERROR")) {
        error++;
      }
    }
    assertThat(active).isEqualTo(5);
    assertThat(error).isEqualTo(5);
  }

  @Test
  void restartKeepsServersAndTheirStates() {
    String a = cloud.boot(demo, "keep-active", "v1.tiny");
    String b = cloud.boot(demo, "keep-stopped", "v1.tiny");
    cloud.awaitStatus(demo, a, "ACTIVE");
    cloud.awaitStatus(demo, b, "ACTIVE");
    assertThat(action(demo, b, "{\"os-stop\": null}")).isEqualTo(202);
    cloud.awaitStatus(demo, b, "SHUTOFF");
    cloud.restart();
    demo = cloud.demo();
    assertThat(cloud.get("/servers", demo).json().path("servers")).hasSize(2);
    assertThat(cloud.server(demo, a).path("status").asText()).isEqualTo("ACTIVE");
    assertThat(cloud.server(demo, b).path("status").asText()).isEqualTo("SHUTOFF");
    assertThat(cloud.get("/flavors", demo).json().path("flavors")).hasSize(6);
  }

  @Test
  void anAgentStoppedDuringSpawnLeavesTheServerInErrorAfterRestart() throws Exception {
    java.util.concurrent.CountDownLatch spawning = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch never = new java.util.concurrent.CountDownLatch(1);
    cloud
        .driver
        .faults()
        .hook(
            io.virga.virt.FakeFaults.Op.SPAWN,
            uuid -> {
              spawning.countDown();
              try {
                never.await();
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
              throw new io.virga.core.VirgaException("agent stopped mid-spawn");
            });
    String id = cloud.boot(demo, "crash", "v1.tiny");
    assertThat(spawning.await(20, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    assertThat(cloud.server(demo, id).path("OS-EXT-STS:task_state").asText()).isEqualTo("spawning");
    // the agent dies with the task in flight: nothing it does afterwards reaches the database
    cloud.running.cloud().database().close();
    never.countDown();
    cloud.driver.faults().clear();
    cloud.restart();
    demo = cloud.demo();
    JsonNode s = cloud.awaitStatus(demo, id, "ERROR");
    assertThat(s.path("OS-EXT-STS:vm_state").asText()).isEqualTo("error");
  }

  @Test
  void flavorsKeyPairsLimitsQuotasAndZones() {
    JsonNode flavors = cloud.get("/flavors/detail", demo).json().path("flavors");
    assertThat(flavors).hasSize(6);
    JsonNode tiny = cloud.get("/flavors/v1.tiny", demo).json().path("flavor");
    assertThat(tiny.path("ram").asInt()).isEqualTo(128);
    assertThat(tiny.path("os-flavor-access:is_public").asBoolean()).isTrue();
    assertThat(tiny.path("swap").asText()).isEmpty();
    ComputeTestCloud.Reply spec =
        cloud.call(
            "POST",
            "/flavors/v1.tiny/os-extra_specs",
            admin,
            null,
            "{\"extra_specs\": {\"quota:cpu_shares\": \"100\"}}");
    assertThat(spec.status()).isEqualTo(200);
    assertThat(
            cloud
                .get("/flavors/v1.tiny/os-extra_specs/quota:cpu_shares", demo)
                .json()
                .path("quota:cpu_shares")
                .asText())
        .isEqualTo("100");
    ComputeTestCloud.Reply kp =
        cloud.call("POST", "/os-keypairs", demo, "2.2", "{\"keypair\": {\"name\": \"k1\"}}");
    assertThat(kp.status()).isEqualTo(201);
    assertThat(kp.json().path("keypair").path("private_key").asText()).contains("PRIVATE KEY");
    assertThat(kp.json().path("keypair").path("public_key").asText()).startsWith("ssh-rsa ");
    assertThat(kp.json().path("keypair").path("fingerprint").asText())
        .matches("([0-9a-f]{2}:){15}[0-9a-f]{2}");
    assertThat(
            cloud
                .call(
                    "POST",
                    "/os-keypairs",
                    demo,
                    "2.2",
                    "{\"keypair\": {\"name\": \"k2\", \"public_key\": \"ssh-rsa bm90IGEga2V5\"}}")
                .status())
        .isEqualTo(400);
    assertThat(cloud.get("/os-keypairs", demo).json().path("keypairs")).hasSize(1);
    assertThat(cloud.call("DELETE", "/os-keypairs/k1", demo, "2.2", null).status()).isEqualTo(204);
    JsonNode limits = cloud.get("/limits", demo).json().path("limits").path("absolute");
    assertThat(limits.path("maxTotalInstances").asInt()).isEqualTo(10);
    assertThat(limits.path("totalInstancesUsed").asInt()).isZero();
    String demoProject = cloud.running.users().demoProjectId();
    ComputeTestCloud.Reply q =
        cloud.call(
            "PUT",
            "/os-quota-sets/" + demoProject,
            admin,
            null,
            "{\"quota_set\": {\"instances\": 1}}");
    assertThat(q.status()).isEqualTo(200);
    assertThat(
            cloud
                .call(
                    "PUT",
                    "/os-quota-sets/" + demoProject,
                    demo,
                    null,
                    "{\"quota_set\": {\"instances\": 100}}")
                .status())
        .isEqualTo(403);
    cloud.boot(demo, "one", "v1.tiny");
    ComputeTestCloud.Reply over =
        cloud.call(
            "POST",
            "/servers",
            demo,
            "2.37",
            "{\"server\": {\"name\": \"two\", \"imageRef\": \""
                + cloud.ensureImage()
                + "\", \"flavorRef\": \"v1.tiny\", \"networks\": \"none\"}}");
    assertThat(over.status()).isEqualTo(403);
    assertThat(over.text()).contains("Quota exceeded for instances");
    JsonNode zones = cloud.get("/os-availability-zone", demo).json().path("availabilityZoneInfo");
    assertThat(zones.get(0).path("zoneName").asText()).isEqualTo("nova");
    JsonNode hyp = cloud.get("/os-hypervisors/detail", admin).json().path("hypervisors").get(0);
    assertThat(hyp.path("hypervisor_hostname").asText()).isNotEmpty();
    assertThat(hyp.path("state").asText()).isEqualTo("up");
    assertThat(cloud.get("/os-hypervisors/" + hyp.path("id").asText(), admin).status())
        .isEqualTo(200);
    assertThat(
            cloud
                .get("/os-hypervisors/statistics", admin)
                .json()
                .path("hypervisor_statistics")
                .path("count")
                .asInt())
        .isEqualTo(1);
  }

  @Test
  void disabledHostsAreNotScheduledTo() {
    JsonNode svc =
        cloud.call("GET", "/os-services", admin, "2.53", null).json().path("services").get(0);
    ComputeTestCloud.Reply off =
        cloud.call(
            "PUT",
            "/os-services/" + svc.path("id").asText(),
            admin,
            "2.53",
            "{\"status\": \"disabled\", \"disabled_reason\": \"maintenance\"}");
    assertThat(off.status()).isEqualTo(200);
    assertThat(off.json().path("service").path("status").asText()).isEqualTo("disabled");
    String id = cloud.boot(demo, "nohost", "v1.tiny");
    assertThat(cloud.awaitStatus(demo, id, "ERROR").path("fault").path("message").asText())
        .contains("disabled");
    ComputeTestCloud.Reply on =
        cloud.call(
            "PUT",
            "/os-services/enable",
            admin,
            "2.1",
            "{\"host\": \"fake-host\", \"binary\": \"nova-compute\"}");
    assertThat(on.status()).isEqualTo(200);
    String ok = cloud.boot(demo, "yeshost", "v1.tiny");
    cloud.awaitStatus(demo, ok, "ACTIVE");
  }

  @Test
  void createImageQueuesASnapshotImageAndClearsTheTaskAfterwards() {
    String id = cloud.boot(demo, "snap-src", "v1.tiny");
    cloud.awaitStatus(demo, id, "ACTIVE");
    var old =
        cloud.send(
            "POST",
            "/compute/v2.1/servers/" + id + "/action",
            demo,
            "2.1",
            "{\"createImage\": {\"name\": \"s1\"}}");
    assertThat(old.statusCode()).isEqualTo(202);
    assertThat(old.body()).isEmpty();
    String location = old.headers().firstValue("Location").orElse("");
    assertThat(location).matches(".*/image/v2/images/[0-9a-f-]{36}");
    cloud.awaitStatus(demo, id, "ACTIVE");
    // hold the fake snapshot until the queued image has been looked at
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    cloud
        .driver
        .faults()
        .hook(
            io.virga.virt.FakeFaults.Op.SNAPSHOT,
            u -> {
              try {
                release.await(20, java.util.concurrent.TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
    ComputeTestCloud.Reply r =
        cloud.call(
            "POST",
            "/servers/" + id + "/action",
            demo,
            "2.45",
            "{\"createImage\": {\"name\": \"s2\", \"metadata\": {\"purpose\": \"test\"}}}");
    assertThat(r.status()).isEqualTo(202);
    String imageId = r.json().path("image_id").asText();
    var image = cloud.running.cloud().images().record(imageId).orElseThrow();
    assertThat(image.status()).isEqualTo("queued");
    assertThat(image.name()).contains("s2");
    assertThat(image.properties())
        .containsEntry("image_type", "snapshot")
        .containsEntry("instance_uuid", id)
        .containsEntry("purpose", "test");
    assertThat(cloud.server(demo, id).path("OS-EXT-STS:task_state").asText()).startsWith("image_");
    assertThat(action(demo, id, "{\"os-stop\": null}")).isEqualTo(409);
    release.countDown();
    cloud.driver.faults().clear();
    cloud.awaitStatus(demo, id, "ACTIVE");
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(10))
        .until(
            () ->
                cloud
                    .running
                    .cloud()
                    .images()
                    .record(imageId)
                    .orElseThrow()
                    .status()
                    .equals("active"));
    List<String> names = new ArrayList<>();
    cloud
        .get("/servers/" + id + "/os-instance-actions", demo)
        .json()
        .path("instanceActions")
        .forEach(a -> names.add(a.path("action").asText()));
    assertThat(names).containsSubsequence("createImage", "createImage", "create");
    assertThat(
            cloud
                .call("POST", "/servers/" + id + "/action", demo, "2.45", "{\"createImage\": {}}")
                .status())
        .isEqualTo(400);
    assertThat(action(cloud.admin(), id, "{\"os-stop\": null}")).isEqualTo(202);
    cloud.awaitStatus(demo, id, "SHUTOFF");
    assertThat(action(demo, id, "{\"os-start\": null}")).isEqualTo(202);
    cloud.awaitStatus(demo, id, "ACTIVE");
  }

  @Test
  void multiCreateKeyNameMetadataAndPaging() {
    ComputeTestCloud.Reply kp =
        cloud.call(
            "POST",
            "/os-keypairs",
            demo,
            "2.2",
            "{\"keypair\": {\"name\": \"mine\", \"public_key\": \"ssh-ed25519"
                + " AAAAC3NzaC1lZDI1NTE5AAAAIHqv7nqYkUCQ4z0lTV1zMHBm5LTkk7Vh8r3a1hIHCc0R test\"}}");
    assertThat(kp.status()).as(kp.text()).isEqualTo(201);
    ComputeTestCloud.Reply r =
        cloud.call(
            "POST",
            "/servers",
            demo,
            "2.37",
            "{\"server\": {\"name\": \"many\", \"imageRef\": \""
                + cloud.ensureImage()
                + "\", \"flavorRef\": \"v1.tiny\", \"networks\": \"auto\", \"key_name\": \"mine\","
                + " \"min_count\": 2, \"max_count\": 3, \"return_reservation_id\": true}}");
    assertThat(r.status()).as(r.text()).isEqualTo(202);
    assertThat(r.json().path("reservation_id").asText()).startsWith("r-");
    JsonNode all = cloud.get("/servers/detail", demo).json().path("servers");
    assertThat(all).hasSize(3);
    List<String> names = new ArrayList<>();
    all.forEach(s -> names.add(s.path("name").asText()));
    assertThat(names).containsExactlyInAnyOrder("many-1", "many-2", "many-3");
    all.forEach(s -> assertThat(s.path("key_name").asText()).isEqualTo("mine"));
    String id = all.get(0).path("id").asText();
    cloud.awaitStatus(demo, id, "ACTIVE");
    // paging: limit 2 gives a next link whose marker continues the list
    JsonNode page = cloud.get("/servers?limit=2", demo).json();
    assertThat(page.path("servers")).hasSize(2);
    String next = page.path("servers_links").get(0).path("href").asText();
    String marker = next.substring(next.indexOf("marker=") + 7);
    assertThat(cloud.get("/servers?limit=2&marker=" + marker, demo).json().path("servers"))
        .hasSize(1);
    assertThat(cloud.get("/servers?marker=nope", demo).status()).isEqualTo(400);
    // the database's pages (no filter) and the filtered list (name: filtered in Java) agree
    List<String> paged = new ArrayList<>();
    page.path("servers").forEach(s -> paged.add(s.path("id").asText()));
    cloud
        .get("/servers?limit=2&marker=" + marker, demo)
        .json()
        .path("servers")
        .forEach(s -> paged.add(s.path("id").asText()));
    List<String> filtered = new ArrayList<>();
    cloud
        .get("/servers?name=many", demo)
        .json()
        .path("servers")
        .forEach(s -> filtered.add(s.path("id").asText()));
    assertThat(paged).hasSize(3).containsExactlyElementsOf(filtered);
    assertThat(cloud.get("/servers", demo).json().has("servers_links")).isFalse();
    // metadata CRUD
    assertThat(
            cloud
                .call(
                    "PUT",
                    "/servers/" + id + "/metadata/a",
                    demo,
                    null,
                    "{\"meta\": {\"a\": \"1\"}}")
                .status())
        .isEqualTo(200);
    assertThat(
            cloud
                .call(
                    "POST",
                    "/servers/" + id + "/metadata",
                    demo,
                    null,
                    "{\"metadata\": {\"b\": \"2\"}}")
                .json()
                .path("metadata"))
        .hasSize(2);
    assertThat(
            cloud
                .get("/servers/" + id + "/metadata/a", demo)
                .json()
                .path("meta")
                .path("a")
                .asText())
        .isEqualTo("1");
    assertThat(cloud.call("DELETE", "/servers/" + id + "/metadata/a", demo, null, null).status())
        .isEqualTo(204);
    assertThat(cloud.get("/servers/" + id + "/metadata/a", demo).status()).isEqualTo(404);
    assertThat(
            cloud
                .call("PUT", "/servers/" + id + "/metadata", demo, null, "{\"metadata\": {}}")
                .json()
                .path("metadata"))
        .isEmpty();
    ComputeTestCloud.Reply renamed =
        cloud.call(
            "PUT",
            "/servers/" + id,
            demo,
            "2.19",
            "{\"server\": {\"name\": \"renamed\", \"description\": \"d\"}}");
    assertThat(renamed.json().path("server").path("name").asText()).isEqualTo("renamed");
    assertThat(renamed.json().path("server").path("description").asText()).isEqualTo("d");
    // a quota that fits min_count but not max_count creates what fits
    ComputeTestCloud.Reply over =
        cloud.call(
            "POST",
            "/servers",
            demo,
            "2.37",
            "{\"server\": {\"name\": \"more\", \"imageRef\": \""
                + cloud.ensureImage()
                + "\", \"flavorRef\": \"v1.tiny\", \"networks\": \"none\", \"min_count\": 8,"
                + " \"max_count\": 20}}");
    assertThat(over.status()).as(over.text()).isEqualTo(403);
    assertThat(over.text()).contains("Quota exceeded for instances");
  }
}
