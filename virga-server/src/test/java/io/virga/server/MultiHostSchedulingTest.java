package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.compute.ComputeOptions;
import io.virga.rpc.Rpc;
import io.virga.virt.FakeDriver;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scheduling across hosts on the control plane's own wiring: a second FakeDriver agent joins the
 * first on the transport, as a second `virga agent` would. Forced hosts, the spread by free RAM and
 * per-host usage in os-hypervisors.
 */
class MultiHostSchedulingTest {
  @TempDir Path home;
  ComputeTestCloud cloud;
  AgentRuntime second;
  String admin;
  String demo;

  @BeforeEach
  void start() {
    cloud = new ComputeTestCloud(home, new FakeDriver("fake-a", 8, 4096, 100), Map.of());
    AllInOne a = cloud.running.cloud();
    second =
        AgentRuntime.start(
            new FakeDriver("fake-b", 8, 4096, 100),
            Rpc.conductor(a.transport()),
            a.transport(),
            AllInOne.inProcessImages(a.images()),
            io.virga.core.Config.of(Map.of()),
            ComputeOptions.defaults()
                .withIntervals(
                    java.time.Duration.ofSeconds(1),
                    java.time.Duration.ofSeconds(600),
                    java.time.Duration.ofSeconds(300)));
    admin = cloud.admin();
    demo = cloud.demo();
    Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(20))
        .until(() -> cloud.get("/os-hypervisors", admin).json().path("hypervisors").size() == 2);
  }

  @AfterEach
  void stop() {
    second.close();
    cloud.close();
  }

  private ComputeTestCloud.Reply boot(String token, String name, String az) {
    return cloud.call(
        "POST",
        "/servers",
        token,
        "2.37",
        """
        {"server": {"name": "%s", "imageRef": "%s", "flavorRef": "v1.tiny", "networks": "none",
         "availability_zone": "%s"}}
        """
            .formatted(name, cloud.ensureImage(), az));
  }

  private String host(String id) {
    return cloud.awaitStatus(admin, id, "ACTIVE").path("OS-EXT-SRV-ATTR:host").asText();
  }

  @Test
  void anAdminForcesAHostWithTheAvailabilityZone() {
    for (String h : List.of("fake-a", "fake-b")) {
      ComputeTestCloud.Reply r = boot(admin, "forced-" + h, "nova:" + h);
      assertThat(r.status()).as(r.text()).isEqualTo(202);
      String id = r.json().path("server").path("id").asText();
      assertThat(host(id)).isEqualTo(h);
      assertThat(cloud.server(admin, id).path("OS-EXT-AZ:availability_zone").asText())
          .isEqualTo("nova");
    }
    // twice more on fake-b: forced wins over the spread
    for (int i = 0; i < 2; i++) {
      String id =
          boot(admin, "again-" + i, "nova:fake-b").json().path("server").path("id").asText();
      assertThat(host(id)).isEqualTo("fake-b");
    }
  }

  @Test
  void microversion274RequestsAHostThroughTheFilters() {
    String body =
        """
        {"server": {"name": "req", "imageRef": "%s", "flavorRef": "v1.tiny", "networks": "none",
         "host": "fake-b"}}
        """
            .formatted(cloud.ensureImage());
    ComputeTestCloud.Reply old = cloud.call("POST", "/servers", admin, "2.73", body);
    assertThat(old.status()).isEqualTo(400);
    ComputeTestCloud.Reply denied = cloud.call("POST", "/servers", demo, "2.74", body);
    assertThat(denied.status()).isEqualTo(403);
    ComputeTestCloud.Reply r = cloud.call("POST", "/servers", admin, "2.74", body);
    assertThat(r.status()).as(r.text()).isEqualTo(202);
    assertThat(host(r.json().path("server").path("id").asText())).isEqualTo("fake-b");
  }

  @Test
  void forcingIsForAdminsAndOnlyToKnownHosts() {
    ComputeTestCloud.Reply denied = boot(demo, "x", "nova:fake-a");
    assertThat(denied.status()).isEqualTo(403);
    assertThat(denied.text()).contains("forced_host");
    ComputeTestCloud.Reply unknown = boot(admin, "x", "nova:no-such-host");
    assertThat(unknown.status()).isEqualTo(400);
    assertThat(unknown.text()).contains("Compute host no-such-host could not be found");
    ComputeTestCloud.Reply badZone = boot(admin, "x", "elsewhere");
    assertThat(badZone.status()).isEqualTo(400);
    assertThat(cloud.get("/servers", admin).json().path("servers")).isEmpty();
  }

  @Test
  void serversSpreadByFreeRamAndHypervisorsCountPerHost() {
    // one after another: each request's scheduling pass reads the usage its predecessors
    // claimed (passes running side by side each weigh with what they read, and may pick the same
    // host — see docs/architecture.md, "Boot")
    List<String> ids = new ArrayList<>();
    Map<String, Integer> perHost = new HashMap<>();
    for (int i = 0; i < 4; i++) {
      ids.add(cloud.boot(demo, "spread-" + i, "v1.tiny"));
      perHost.merge(host(ids.get(i)), 1, Integer::sum);
    }
    assertThat(perHost).containsOnly(Map.entry("fake-a", 2), Map.entry("fake-b", 2));
    int tinyMb = cloud.get("/flavors/v1.tiny", admin).json().path("flavor").path("ram").asInt();
    for (JsonNode h : cloud.get("/os-hypervisors/detail", admin).json().path("hypervisors")) {
      assertThat(h.path("running_vms").asInt()).isEqualTo(2);
      assertThat(h.path("memory_mb_used").asInt()).isEqualTo(512 + 2 * tinyMb);
    }
    for (String id : ids) {
      assertThat(cloud.call("DELETE", "/servers/" + id, demo, null, null).status()).isEqualTo(204);
    }
    Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(20))
        .until(() -> cloud.get("/servers", admin).json().path("servers").isEmpty());
    for (JsonNode h : cloud.get("/os-hypervisors/detail", admin).json().path("hypervisors")) {
      assertThat(h.path("running_vms").asInt()).isZero();
    }
  }

  private List<String> multiCreate(String token, int n, String az) {
    ComputeTestCloud.Reply r =
        cloud.call(
            "POST",
            "/servers",
            token,
            "2.37",
            """
            {"server": {"name": "m", "imageRef": "%s", "flavorRef": "v1.tiny", "networks": "none",
             "min_count": %d, "max_count": %d%s}}
            """
                .formatted(
                    cloud.ensureImage(),
                    n,
                    n,
                    az == null ? "" : ", \"availability_zone\": \"" + az + "\""));
    assertThat(r.status()).as(r.text()).isEqualTo(202);
    List<String> ids = new ArrayList<>();
    for (JsonNode s : cloud.get("/servers?all_tenants=1", admin).json().path("servers")) {
      if (s.path("name").asText().startsWith("m-")) {
        ids.add(s.path("id").asText());
      }
    }
    assertThat(ids).hasSize(n);
    return ids;
  }

  @Test
  void oneSchedulingPassForAMultiCreateStillSpreadsByFreeRam() {
    // the pass reads the hosts once: its own claims must count, or all four land on one host
    Map<String, Integer> perHost = new HashMap<>();
    for (String id : multiCreate(demo, 4, null)) {
      perHost.merge(host(id), 1, Integer::sum);
    }
    assertThat(perHost).containsOnly(Map.entry("fake-a", 2), Map.entry("fake-b", 2));
    for (JsonNode h : cloud.get("/os-hypervisors/detail", admin).json().path("hypervisors")) {
      assertThat(h.path("running_vms").asInt()).isEqualTo(2);
    }
  }

  @Test
  void oneSchedulingPassHonoursAForcedHostForEveryInstance() {
    for (String id : multiCreate(admin, 3, "nova:fake-b")) {
      assertThat(host(id)).isEqualTo("fake-b");
    }
  }

  @Test
  void aPassThatFillsTheHostsFailsOnlyTheInstancesThatDoNotFit() {
    // fake hosts of 4096 MB (RAM ratio 1.5, 512 MB reserved) hold two 2048 MB servers each
    ComputeTestCloud.Reply f =
        cloud.call(
            "POST",
            "/flavors",
            admin,
            null,
            """
            {"flavor": {"name": "sched-big", "id": "sched-big", "ram": 2048, "vcpus": 1,
             "disk": 1}}
            """);
    assertThat(f.status()).as(f.text()).isEqualTo(200);
    ComputeTestCloud.Reply r =
        cloud.call(
            "POST",
            "/servers",
            admin,
            "2.37",
            """
            {"server": {"name": "m", "imageRef": "%s", "flavorRef": "sched-big",
             "networks": "none", "min_count": 6, "max_count": 6}}
            """
                .formatted(cloud.ensureImage()));
    assertThat(r.status()).as(r.text()).isEqualTo(202);
    Map<String, Integer> byStatus = new HashMap<>();
    Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(30))
        .until(
            () -> {
              byStatus.clear();
              for (JsonNode s : cloud.get("/servers/detail", admin).json().path("servers")) {
                if (s.path("OS-EXT-STS:task_state").isNull()) {
                  byStatus.merge(s.path("status").asText(), 1, Integer::sum);
                }
              }
              return byStatus.values().stream().mapToInt(Integer::intValue).sum() == 6;
            });
    assertThat(byStatus).containsOnly(Map.entry("ACTIVE", 4), Map.entry("ERROR", 2));
    for (JsonNode h : cloud.get("/os-hypervisors/detail", admin).json().path("hypervisors")) {
      assertThat(h.path("running_vms").asInt()).isEqualTo(2);
    }
  }
}
