package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.core.InstanceUpdate;
import io.virga.core.TaskState;
import io.virga.core.VmState;
import io.virga.rpc.Rpc;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The late server group check end to end (two FakeDriver agents, one control plane): a member a
 * raced scheduler put next to another member of its anti-affinity group is refused by that host's
 * agent, and the conductor reschedules it to a host the policy allows — or fails it with
 * NoValidHost when none is left.
 */
class GroupRescheduleApiTest {
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

  private String group() {
    ComputeTestCloud.Reply r =
        cloud.call(
            "POST",
            "/os-server-groups",
            demo,
            "2.64",
            "{\"server_group\": {\"name\": \"anti\", \"policy\": \"anti-affinity\"}}");
    assertThat(r.status()).as(r.text()).isEqualTo(200);
    return r.json().path("server_group").path("id").asText();
  }

  private String boot(String name, String group) {
    ComputeTestCloud.Reply r =
        cloud.call(
            "POST",
            "/servers",
            demo,
            "2.37",
            """
            {"server": {"name": "%s", "imageRef": "%s", "flavorRef": "v1.tiny", "networks": "none"},
             "os:scheduler_hints": {"group": "%s"}}
            """
                .formatted(name, cloud.ensureImage(), group));
    assertThat(r.status()).as(r.text()).isEqualTo(202);
    String id = r.json().path("server").path("id").asText();
    cloud.awaitStatus(demo, id, "ACTIVE");
    return id;
  }

  /**
   * What a scheduler that raced the claims would have done: {@code id} goes back to building on
   * {@code host} (its guest elsewhere gone) and that host's agent is told to build it.
   */
  private void racedOnto(String id, String host, String password) {
    two.driverOf(two.hostOf(admin, id)).vanish(id);
    var instances = cloud.running.cloud().compute().instances();
    assertThat(
            instances.compareAndSwap(
                id,
                InstanceUpdate.none().vm(VmState.BUILDING).task(TaskState.SCHEDULING).onHost(host),
                List.of(Optional.empty())))
        .isPresent();
    Rpc.computeAgent(cloud.running.cloud().transport(), host)
        .buildAndRunInstance(id, Optional.empty(), Optional.of(password));
  }

  @Test
  void aMemberRacedOntoItsGroupsHostIsRescheduledToAnAllowedOne() {
    String g = group();
    String a = boot("a", g);
    String b = boot("b", g);
    String hostA = two.hostOf(admin, a);
    String hostB = two.hostOf(admin, b);
    assertThat(hostA).isNotEqualTo(hostB);
    racedOnto(b, hostA, "pw-raced");
    JsonNode s = cloud.awaitStatus(admin, b, "ACTIVE");
    assertThat(two.hostOf(admin, b)).isEqualTo(hostB);
    assertThat(two.driverOf(hostA).powerState(b)).as("never built next to a").isEmpty();
    assertThat(two.driverOf(hostB).adminPass(b)).contains("pw-raced");
    assertThat(s.path("OS-EXT-STS:task_state").isNull()).isTrue();
    assertThat(
            cloud
                .running
                .cloud()
                .compute()
                .instances()
                .lifecycle()
                .systemMetadata(b, "build_retry_hosts"))
        .contains(hostA);
  }

  @Test
  void whenNoOtherHostMayTakeItTheRefusedBuildFailsWithNoValidHost() {
    String g = group();
    String a = boot("a", g);
    String b = boot("b", g);
    String hostA = two.hostOf(admin, a);
    String hostB = two.hostOf(admin, b);
    // the only other host goes: nowhere is left for b
    cloud.running.cloud().compute().hosts().setDisabled(hostB, true, Optional.of("test"));
    racedOnto(b, hostA, "pw");
    JsonNode s = cloud.awaitStatus(admin, b, "ERROR");
    assertThat(s.path("fault").path("message").asText()).contains("No valid host was found");
    assertThat(s.path("OS-EXT-STS:task_state").isNull()).isTrue();
    assertThat(s.path("OS-EXT-SRV-ATTR:host").isNull()).as("no claim kept").isTrue();
    assertThat(two.driverOf(hostA).powerState(b)).isEmpty();
    assertThat(cloud.server(demo, a).path("status").asText()).isEqualTo("ACTIVE");
  }
}
