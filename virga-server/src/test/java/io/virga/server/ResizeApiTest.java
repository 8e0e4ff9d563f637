package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.core.PowerState;
import io.virga.db.InstanceRepository;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Resize, cold migration, confirm and revert between two FakeDriver agents over the API. */
class ResizeApiTest {
  @TempDir Path home;
  TwoHostCloud hosts;
  ComputeTestCloud cloud;
  String admin;
  String demo;

  @BeforeEach
  void start() {
    hosts = new TwoHostCloud(home, Map.of());
    cloud = hosts.cloud;
    admin = cloud.admin();
    demo = cloud.demo();
  }

  @AfterEach
  void stop() {
    hosts.close();
  }

  private String bootActive() {
    String id = cloud.boot(demo, "r1", "v1.tiny");
    cloud.awaitStatus(demo, id, "ACTIVE");
    assertThat(hosts.hostOf(admin, id)).isEqualTo("host2");
    return id;
  }

  private InstanceRepository.Usage usage(String host) {
    return cloud.running.cloud().compute().hosts().usage(host);
  }

  @Test
  void resizeMovesToTheOtherHostAndConfirmKeepsTheNewFlavor() {
    String id = bootActive();
    assertThat(hosts.action(demo, id, null, "{\"resize\": {\"flavorRef\": \"1\"}}")).isEqualTo(202);
    JsonNode s = cloud.awaitStatus(demo, id, "VERIFY_RESIZE");
    assertThat(s.path("OS-EXT-STS:vm_state").asText()).isEqualTo("resized");
    assertThat(s.path("flavor").path("id").asText()).isEqualTo("1");
    assertThat(hosts.hostOf(admin, id)).isEqualTo("fake-host");
    assertThat(hosts.fakeHost().powerState(id)).contains(PowerState.RUNNING);
    // the source keeps <uuid>_resize and the old flavor's claim until confirm
    assertThat(hosts.host2.resizeLeftovers()).containsExactly(id);
    assertThat(usage("host2").ramMb()).isEqualTo(128);
    assertThat(usage("fake-host").ramMb()).isEqualTo(512);
    JsonNode m = hosts.awaitMigration(admin, id, "finished");
    assertThat(m.path("migration_type").asText()).isEqualTo("resize");
    assertThat(m.path("source_compute").asText()).isEqualTo("host2");
    assertThat(m.path("dest_compute").asText()).isEqualTo("fake-host");

    assertThat(hosts.action(demo, id, null, "{\"confirmResize\": null}")).isEqualTo(204);
    s = cloud.awaitStatus(demo, id, "ACTIVE");
    assertThat(s.path("flavor").path("id").asText()).isEqualTo("1");
    hosts.awaitMigration(admin, id, "confirmed");
    hosts.awaitIdle();
    assertThat(hosts.host2.resizeLeftovers()).isEmpty();
    assertThat(hosts.host2.powerState(id)).isEmpty();
    assertThat(usage("host2").ramMb()).isZero();
    assertThat(usage("fake-host").ramMb()).isEqualTo(512);
    // the action and its events are recorded
    JsonNode actions = cloud.get("/servers/" + id + "/os-instance-actions", demo).json();
    assertThat(actions.toString()).contains("\"resize\"").contains("\"confirmResize\"");
  }

  @Test
  void coldMigrateThenRevertReturnsToTheSourceWithTheOldFlavor() {
    String id = bootActive();
    assertThat(hosts.action(admin, id, null, "{\"migrate\": null}")).isEqualTo(202);
    cloud.awaitStatus(demo, id, "VERIFY_RESIZE");
    assertThat(hosts.hostOf(admin, id)).isEqualTo("fake-host");
    assertThat(hosts.awaitMigration(admin, id, "finished").path("migration_type").asText())
        .isEqualTo("migration");

    assertThat(hosts.action(demo, id, null, "{\"revertResize\": null}")).isEqualTo(202);
    JsonNode s = cloud.awaitStatus(demo, id, "ACTIVE");
    assertThat(s.path("flavor").path("id").asText()).isEqualTo("v1.tiny");
    assertThat(hosts.hostOf(admin, id)).isEqualTo("host2");
    hosts.awaitMigration(admin, id, "reverted");
    hosts.awaitIdle();
    assertThat(hosts.host2.powerState(id)).contains(PowerState.RUNNING);
    assertThat(hosts.fakeHost().powerState(id)).isEmpty();
    assertThat(hosts.fakeHost().openMigrationTargets()).isEmpty();
    assertThat(hosts.host2.resizeLeftovers()).isEmpty();
    assertThat(usage("fake-host").ramMb()).isZero();
  }

  @Test
  void aStoppedServerStaysShutoffThroughMigrateAndConfirm() {
    String id = bootActive();
    assertThat(hosts.action(demo, id, null, "{\"os-stop\": null}")).isEqualTo(202);
    cloud.awaitStatus(demo, id, "SHUTOFF");
    assertThat(hosts.action(admin, id, "2.56", "{\"migrate\": {\"host\": \"fake-host\"}}"))
        .isEqualTo(202);
    JsonNode s = cloud.awaitStatus(demo, id, "VERIFY_RESIZE");
    assertThat(s.path("OS-EXT-STS:power_state").asInt()).isEqualTo(4);
    assertThat(hosts.fakeHost().powerState(id)).contains(PowerState.SHUTDOWN);
    assertThat(hosts.action(demo, id, null, "{\"confirmResize\": null}")).isEqualTo(204);
    cloud.awaitStatus(demo, id, "SHUTOFF");
    assertThat(hosts.action(demo, id, null, "{\"os-start\": null}")).isEqualTo(202);
    cloud.awaitStatus(demo, id, "ACTIVE");
    assertThat(hosts.fakeHost().powerState(id)).contains(PowerState.RUNNING);
  }

  @Test
  void wrongStatesAre409AndBadFlavorsAre400() {
    String id = bootActive();
    // 400: same, unknown, shrinking root disk
    assertThat(hosts.action(demo, id, null, "{\"resize\": {\"flavorRef\": \"v1.tiny\"}}"))
        .isEqualTo(400);
    assertThat(hosts.action(demo, id, null, "{\"resize\": {\"flavorRef\": \"nope\"}}"))
        .isEqualTo(400);
    assertThat(hosts.action(demo, id, null, "{\"resize\": {}}")).isEqualTo(400);
    // 409: confirm/revert of a server that was not resized
    assertThat(hosts.action(demo, id, null, "{\"confirmResize\": null}")).isEqualTo(409);
    assertThat(hosts.action(demo, id, null, "{\"revertResize\": null}")).isEqualTo(409);
    // 403: migrate is admin-only; host needs 2.56; unknown host 400; current host 400
    assertThat(hosts.action(demo, id, null, "{\"migrate\": null}")).isEqualTo(403);
    assertThat(hosts.action(admin, id, "2.55", "{\"migrate\": {\"host\": \"fake-host\"}}"))
        .isEqualTo(400);
    assertThat(hosts.action(admin, id, "2.56", "{\"migrate\": {\"host\": \"nohost\"}}"))
        .isEqualTo(400);
    assertThat(hosts.action(admin, id, "2.56", "{\"migrate\": {\"host\": \"host2\"}}"))
        .isEqualTo(400);
    assertThat(hosts.action(demo, id, null, "{\"resize\": {\"flavorRef\": \"1\"}}")).isEqualTo(202);
    cloud.awaitStatus(demo, id, "VERIFY_RESIZE");
    // 409 while waiting for confirmation: another resize, a live migration, a stop
    assertThat(hosts.action(demo, id, null, "{\"resize\": {\"flavorRef\": \"2\"}}")).isEqualTo(409);
    assertThat(
            hosts.action(
                admin,
                id,
                "2.25",
                "{\"os-migrateLive\": {\"host\": null, \"block_migration\": \"auto\"}}"))
        .isEqualTo(409);
    assertThat(hosts.action(demo, id, null, "{\"os-stop\": null}")).isEqualTo(409);
    // shrinking: m1.tiny (1 GB) is not smaller than v1.tiny; a flavor with a smaller root is
    ComputeTestCloud.Reply f =
        cloud.call(
            "POST",
            "/flavors",
            admin,
            null,
            "{\"flavor\": {\"name\": \"zero\", \"ram\": 256, \"vcpus\": 1, \"disk\": 0, \"id\":"
                + " \"zero\"}}");
    assertThat(f.status()).as(f.text()).isEqualTo(200);
    assertThat(hosts.action(demo, id, null, "{\"confirmResize\": null}")).isEqualTo(204);
    cloud.awaitStatus(demo, id, "ACTIVE");
    assertThat(hosts.action(demo, id, null, "{\"resize\": {\"flavorRef\": \"zero\"}}"))
        .isEqualTo(400);
  }

  @Test
  void noValidHostIs400AndLeavesTheServerAsItWas() {
    String id = bootActive();
    // m1.xlarge (16 GB) fits nowhere but host2, where the server is
    ComputeTestCloud.Reply r =
        cloud.call(
            "POST",
            "/servers/" + id + "/action",
            demo,
            null,
            "{\"resize\": {\"flavorRef\": \"5\"}}");
    assertThat(r.status()).isEqualTo(400);
    assertThat(r.text()).contains("No valid host");
    JsonNode s = cloud.awaitStatus(demo, id, "ACTIVE");
    assertThat(s.path("flavor").path("id").asText()).isEqualTo("v1.tiny");
    assertThat(hosts.migrations(admin, id, "2.80")).isEmpty();
  }

  @Test
  void deletingAServerInVerifyResizeCleansBothHosts() {
    String id = bootActive();
    assertThat(hosts.action(demo, id, null, "{\"resize\": {\"flavorRef\": \"1\"}}")).isEqualTo(202);
    cloud.awaitStatus(demo, id, "VERIFY_RESIZE");
    assertThat(cloud.call("DELETE", "/servers/" + id, demo, null, null).status()).isEqualTo(204);
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(20))
        .until(() -> cloud.get("/servers/" + id, demo).status() == 404);
    hosts.awaitIdle();
    assertThat(hosts.host2.resizeLeftovers()).isEmpty();
    assertThat(hosts.fakeHost().powerState(id)).isEmpty();
    assertThat(hosts.host2.powerState(id)).isEmpty();
    assertThat(usage("host2").ramMb()).isZero();
    assertThat(usage("fake-host").ramMb()).isZero();
    assertThat(hosts.migrations(admin, id, "2.80").get(0).path("status").asText())
        .isEqualTo("confirmed");
  }

  @Test
  void resizeConfirmWindowConfirmsByItself() {
    hosts.close();
    hosts = new TwoHostCloud(home.resolve("w"), Map.of("resize_confirm_window", "1"));
    cloud = hosts.cloud;
    admin = cloud.admin();
    demo = cloud.demo();
    String id = bootActive();
    assertThat(hosts.action(demo, id, null, "{\"resize\": {\"flavorRef\": \"1\"}}")).isEqualTo(202);
    hosts.awaitMigration(admin, id, "confirmed");
    cloud.awaitStatus(demo, id, "ACTIVE");
    hosts.awaitIdle();
    assertThat(hosts.host2.resizeLeftovers()).isEmpty();
  }
}
