package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.compute.ComputeManager;
import io.virga.compute.ComputeOptions;
import io.virga.core.ComputeAgentApi;
import io.virga.core.Config;
import io.virga.rpc.Rpc;
import io.virga.virt.FakeDriver;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Placement across two FakeDriver hosts of one control plane (a second agent on the same in-process
 * transport): server groups' policies at claim time, including servers created at once, NoValidHost
 * when a policy cannot be met, and availability zones made by aggregates. host-b is much larger, so
 * without a policy the free-RAM weigher sends every server there.
 */
class PlacementApiTest {
  @TempDir Path home;
  ComputeTestCloud cloud;
  FakeDriver hostB;
  ComputeManager agentB;
  AutoCloseable listenerB;
  String admin;
  String demo;

  @BeforeEach
  void start() throws Exception {
    cloud = new ComputeTestCloud(home, new FakeDriver("fake-host", 8, 4096, 100), Map.of());
    hostB = new FakeDriver("host-b", 16, 65536, 500);
    AllInOne aio = cloud.running.cloud();
    agentB =
        new ComputeManager(
            hostB,
            Rpc.conductor(aio.transport()),
            AllInOne.inProcessImages(aio.images()),
            ComputeOptions.fromConfig(Config.of(Map.of("update_resources_interval", "1"))));
    agentB.start();
    listenerB =
        Rpc.serve(aio.transport(), Rpc.computeTopic("host-b"), ComputeAgentApi.class, agentB);
    admin = cloud.admin();
    demo = cloud.demo();
    Awaitility.await().until(() -> aio.compute().hosts().nodes().size() == 2);
  }

  @AfterEach
  void stop() throws Exception {
    listenerB.close();
    agentB.close();
    cloud.close();
    hostB.close();
  }

  private String host(String id) {
    return cloud.server(admin, id).path("OS-EXT-SRV-ATTR:host").asText();
  }

  private String group(String policy) {
    ComputeTestCloud.Reply r =
        cloud.call(
            "POST",
            "/os-server-groups",
            demo,
            "2.53",
            "{\"server_group\": {\"name\": \"g-%s\", \"policies\": [\"%s\"]}}"
                .formatted(policy, policy));
    assertThat(r.status()).as(r.text()).isEqualTo(200);
    return r.json().path("server_group").path("id").asText();
  }

  /** Boots {@code count} servers in one request (scheduled in parallel); their ids. */
  private List<String> boot(String name, int count, String group, String zone) {
    String hints = group == null ? "" : ", \"os:scheduler_hints\": {\"group\": \"" + group + "\"}";
    String az = zone == null ? "" : ", \"availability_zone\": \"" + zone + "\"";
    ComputeTestCloud.Reply r =
        cloud.call(
            "POST",
            "/servers",
            demo,
            "2.37",
            """
            {"server": {"name": "%s", "imageRef": "%s", "flavorRef": "v1.tiny", "networks": "none",
             "min_count": %d, "return_reservation_id": true %s}%s}
            """
                .formatted(name, cloud.ensureImage(), count, az, hints));
    assertThat(r.status()).as(r.text()).isEqualTo(202);
    String reservation = r.json().path("reservation_id").asText();
    List<String> ids = new ArrayList<>();
    for (JsonNode s : cloud.get("/servers/detail?limit=1000", demo).json().path("servers")) {
      if (s.path("name").asText().startsWith(name)) {
        ids.add(s.path("id").asText());
      }
    }
    assertThat(ids).as("servers of reservation " + reservation).hasSize(count);
    return ids;
  }

  @Test
  void withoutAGroupTheWeigherPutsEveryServerOnTheBiggerHost() {
    for (String id : boot("free", 2, null, null)) {
      cloud.awaitStatus(demo, id, "ACTIVE");
      assertThat(host(id)).isEqualTo("host-b");
    }
  }

  @Test
  void antiAffinityMembersCreatedAtOnceNeverShareAHostAndAThirdHasNoValidHost() {
    for (int round = 0; round < 3; round++) {
      String g = group("anti-affinity");
      List<String> ids = boot("anti" + round + "-", 2, g, null);
      Set<String> hosts = new HashSet<>();
      for (String id : ids) {
        cloud.awaitStatus(demo, id, "ACTIVE");
        hosts.add(host(id));
      }
      assertThat(hosts).as("round " + round).containsExactlyInAnyOrder("fake-host", "host-b");
      JsonNode shown = cloud.get("/os-server-groups/" + g, demo).json().path("server_group");
      assertThat(shown.path("members")).hasSize(2);
      if (round == 0) {
        String third = boot("anti-third", 1, g, null).get(0);
        JsonNode s = cloud.awaitStatus(demo, third, "ERROR");
        assertThat(s.path("fault").path("message").asText())
            .contains("No valid host")
            .contains("anti-affinity");
        cloud.call("DELETE", "/servers/" + third, demo, null, null);
      }
      for (String id : ids) {
        cloud.call("DELETE", "/servers/" + id, demo, null, null);
      }
      Awaitility.await().until(() -> cloud.get("/servers", demo).json().path("servers").isEmpty());
    }
  }

  @Test
  void affinityKeepsMembersTogetherEvenOnTheSmallerHost() {
    String g = group("affinity");
    var hosts = cloud.running.cloud().compute().hosts();
    // the first member goes to the small host while the big one is disabled
    hosts.setDisabled("host-b", true, Optional.of("test"));
    String first = boot("aff-first", 1, g, null).get(0);
    cloud.awaitStatus(demo, first, "ACTIVE");
    assertThat(host(first)).isEqualTo("fake-host");
    hosts.setDisabled("host-b", false, Optional.empty());
    // the weigher prefers host-b; the policy keeps the others with the first
    for (String id : boot("aff-more", 3, g, null)) {
      cloud.awaitStatus(demo, id, "ACTIVE");
      assertThat(host(id)).isEqualTo("fake-host");
    }
  }

  @Test
  void maxServerPerHostLetsTwoMembersShareAHost() {
    ComputeTestCloud.Reply r =
        cloud.call(
            "POST",
            "/os-server-groups",
            demo,
            "2.64",
            "{\"server_group\": {\"name\": \"max2\", \"policy\": \"anti-affinity\","
                + " \"rules\": {\"max_server_per_host\": 2}}}");
    assertThat(r.status()).as(r.text()).isEqualTo(200);
    assertThat(r.json().path("server_group").path("rules").path("max_server_per_host").asInt())
        .isEqualTo(2);
    String g = r.json().path("server_group").path("id").asText();
    assertThat(
            cloud
                .call(
                    "POST",
                    "/os-server-groups",
                    demo,
                    "2.64",
                    "{\"server_group\": {\"name\": \"x\", \"policy\": \"affinity\","
                        + " \"rules\": {\"max_server_per_host\": 2}}}")
                .status())
        .isEqualTo(400);
    List<String> ids = boot("max2-", 4, g, null);
    Map<String, Integer> perHost = new HashMap<>();
    for (String id : ids) {
      cloud.awaitStatus(demo, id, "ACTIVE");
      perHost.merge(host(id), 1, Integer::sum);
    }
    assertThat(perHost).containsEntry("fake-host", 2).containsEntry("host-b", 2);
    String fifth = boot("max2-fifth", 1, g, null).get(0);
    cloud.awaitStatus(demo, fifth, "ERROR");
    JsonNode shown = cloud.call("GET", "/servers/" + ids.get(0), demo, "2.71", null).json();
    assertThat(shown.path("server").path("server_groups").get(0).asText()).isEqualTo(g);
  }

  @Test
  void softAntiAffinitySpreadsButNeverRefuses() {
    String g = group("soft-anti-affinity");
    // soft policies only weigh (no claim-time check, as in Nova): booted one after the other
    Set<String> hosts = new HashSet<>();
    for (String name : List.of("soft-a", "soft-b")) {
      String id = boot(name, 1, g, null).get(0);
      cloud.awaitStatus(demo, id, "ACTIVE");
      hosts.add(host(id));
    }
    assertThat(hosts).containsExactlyInAnyOrder("fake-host", "host-b");
    String third = boot("soft-third", 1, g, null).get(0);
    cloud.awaitStatus(demo, third, "ACTIVE");
  }

  @Test
  void anAggregatesZoneSteersABootAndShowsInTheZoneList() {
    assertThat(
            cloud
                .call("POST", "/os-aggregates", demo, null, "{\"aggregate\": {\"name\": \"a\"}}")
                .status())
        .isEqualTo(403);
    ComputeTestCloud.Reply created =
        cloud.call(
            "POST",
            "/os-aggregates",
            admin,
            "2.41",
            "{\"aggregate\": {\"name\": \"small\", \"availability_zone\": \"zone-small\"}}");
    assertThat(created.status()).as(created.text()).isEqualTo(200);
    long id = created.json().path("aggregate").path("id").asLong();
    assertThat(created.json().path("aggregate").path("uuid").asText()).hasSize(36);
    assertThat(
            cloud
                .call(
                    "POST", "/os-aggregates", admin, null, "{\"aggregate\": {\"name\": \"small\"}}")
                .status())
        .isEqualTo(409);
    assertThat(
            cloud
                .call(
                    "POST",
                    "/os-aggregates/" + id + "/action",
                    admin,
                    null,
                    "{\"add_host\": {\"host\": \"nowhere\"}}")
                .status())
        .isEqualTo(404);
    ComputeTestCloud.Reply added =
        cloud.call(
            "POST",
            "/os-aggregates/" + id + "/action",
            admin,
            null,
            "{\"add_host\": {\"host\": \"fake-host\"}}");
    assertThat(added.status()).as(added.text()).isEqualTo(200);
    assertThat(added.json().path("aggregate").path("hosts").get(0).asText()).isEqualTo("fake-host");
    assertThat(
            cloud
                .call(
                    "POST",
                    "/os-aggregates/" + id + "/action",
                    admin,
                    null,
                    "{\"set_metadata\": {\"metadata\": {\"ssd\": \"true\"}}}")
                .json()
                .path("aggregate")
                .path("metadata")
                .path("ssd")
                .asText())
        .isEqualTo("true");
    JsonNode zones = cloud.get("/os-availability-zone/detail", admin).json();
    Map<String, String> zoneOfHost = new HashMap<>();
    for (JsonNode z : zones.path("availabilityZoneInfo")) {
      z.path("hosts")
          .fieldNames()
          .forEachRemaining(h -> zoneOfHost.put(h, z.path("zoneName").asText()));
    }
    assertThat(zoneOfHost).containsEntry("fake-host", "zone-small").containsEntry("host-b", "nova");
    // the free-RAM weigher would pick host-b; the zone steers the boot to the small host
    String id1 = boot("zoned", 1, null, "zone-small").get(0);
    JsonNode s = cloud.awaitStatus(demo, id1, "ACTIVE");
    assertThat(host(id1)).isEqualTo("fake-host");
    assertThat(s.path("OS-EXT-AZ:availability_zone").asText()).isEqualTo("zone-small");
    // an aggregate with hosts cannot go; without them it can, and the host returns to nova
    assertThat(cloud.call("DELETE", "/os-aggregates/" + id, admin, null, null).status())
        .isEqualTo(400);
    assertThat(
            cloud
                .call(
                    "POST",
                    "/os-aggregates/" + id + "/action",
                    admin,
                    null,
                    "{\"remove_host\": {\"host\": \"fake-host\"}}")
                .status())
        .isEqualTo(200);
    assertThat(cloud.call("DELETE", "/os-aggregates/" + id, admin, null, null).status())
        .isEqualTo(200);
    assertThat(
            cloud
                .running
                .cloud()
                .compute()
                .hosts()
                .service("fake-host")
                .orElseThrow()
                .availabilityZone())
        .isEqualTo("nova");
    assertThat(cloud.get("/os-aggregates", admin).json().path("aggregates")).isEmpty();
  }

  /**
   * Nova's RequestSpec.availability_zone: a server created without a zone shows its host's zone but
   * may be scheduled into another one later; a server created in a zone never leaves it.
   */
  @Test
  void onlyARequestedZoneBindsAServerWhenItIsScheduledAgain() {
    var hosts = cloud.running.cloud().compute().hosts();
    var agg = hosts.aggregates().create("small", Optional.of("zone-small"));
    hosts.aggregates().addHost(agg.id(), "fake-host");
    String free = boot("free", 1, null, null).get(0);
    String pinned = boot("pinned", 1, null, "nova").get(0);
    for (String id : List.of(free, pinned)) {
      JsonNode s = cloud.awaitStatus(demo, id, "ACTIVE");
      assertThat(host(id)).isEqualTo("host-b"); // the weigher's choice, in nova
      assertThat(s.path("OS-EXT-AZ:availability_zone").asText()).isEqualTo("nova");
      cloud.call("POST", "/servers/" + id + "/action", demo, null, "{\"shelve\": null}");
      cloud.awaitStatus(demo, id, "SHELVED_OFFLOADED");
    }
    hosts.setDisabled("host-b", true, Optional.of("test"));
    for (String id : List.of(free, pinned)) {
      cloud.call("POST", "/servers/" + id + "/action", demo, null, "{\"unshelve\": null}");
    }
    JsonNode moved = cloud.awaitStatus(demo, free, "ACTIVE");
    assertThat(host(free)).isEqualTo("fake-host");
    assertThat(moved.path("OS-EXT-AZ:availability_zone").asText()).isEqualTo("zone-small");
    Awaitility.await()
        .until(
            () -> {
              JsonNode s = cloud.server(admin, pinned);
              return s.path("status").asText().equals("SHELVED_OFFLOADED")
                  && s.path("OS-EXT-STS:task_state").isNull();
            });
    // fake-host had room (free went there) but is in zone-small: pinned stays offloaded
    assertThat(cloud.server(admin, pinned).path("OS-EXT-SRV-ATTR:host").isNull()).isTrue();
  }

  @Test
  void unshelveAt277GoesToTheZoneItNames() {
    var hosts = cloud.running.cloud().compute().hosts();
    var agg = hosts.aggregates().create("small", Optional.of("zone-small"));
    hosts.aggregates().addHost(agg.id(), "fake-host");
    String id = boot("shelved", 1, null, null).get(0);
    cloud.awaitStatus(demo, id, "ACTIVE");
    assertThat(host(id)).isEqualTo("host-b");
    assertThat(
            cloud
                .call("POST", "/servers/" + id + "/action", demo, null, "{\"shelve\": null}")
                .status())
        .isEqualTo(202);
    cloud.awaitStatus(demo, id, "SHELVED_OFFLOADED");
    String body = "{\"unshelve\": {\"availability_zone\": \"zone-small\"}}";
    assertThat(cloud.call("POST", "/servers/" + id + "/action", demo, "2.76", body).status())
        .isEqualTo(400);
    assertThat(
            cloud
                .call(
                    "POST",
                    "/servers/" + id + "/action",
                    demo,
                    "2.77",
                    "{\"unshelve\": {\"availability_zone\": \"nowhere\"}}")
                .status())
        .isEqualTo(400);
    assertThat(cloud.call("POST", "/servers/" + id + "/action", demo, "2.77", body).status())
        .isEqualTo(202);
    JsonNode s = cloud.awaitStatus(demo, id, "ACTIVE");
    assertThat(host(id)).isEqualTo("fake-host");
    assertThat(s.path("OS-EXT-AZ:availability_zone").asText()).isEqualTo("zone-small");
  }
}
