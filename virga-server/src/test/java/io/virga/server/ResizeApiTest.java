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
    // the cold copy's bytes are on the record, and server show's progress reached 100
    var record =
        cloud
            .running
            .cloud()
            .compute()
            .migrations()
            .list(io.virga.db.MigrationFilter.ofInstance(id))
            .get(0);
    assertThat(record.progress().diskTotal()).isPositive();
    assertThat(record.progress().diskProcessed()).isEqualTo(record.progress().diskTotal());
    assertThat(s.path("progress").asInt()).isEqualTo(100);

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
  void anUpsizeBeyondTheProjectsQuotaIs403() {
    String id = bootActive();
    String project = cloud.server(admin, id).path("tenant_id").asText();
    ComputeTestCloud.Reply q =
        cloud.call(
            "PUT", "/os-quota-sets/" + project, admin, null, "{\"quota_set\": {\"ram\": 256}}");
    assertThat(q.status()).as(q.text()).isEqualTo(200);
    ComputeTestCloud.Reply r =
        cloud.call(
            "POST",
            "/servers/" + id + "/action",
            demo,
            null,
            "{\"resize\": {\"flavorRef\": \"1\"}}");
    assertThat(r.status()).as(r.text()).isEqualTo(403);
    assertThat(r.text()).contains("Quota exceeded for ram");
    cloud.awaitStatus(demo, id, "ACTIVE");
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
    assertThat(cloud.running.cloud().compute().instances().latestFault(id).orElseThrow().message())
        .contains("No valid host");
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

  @Test
  void allowResizeToSameHostKeepsTheServerWhereItIsThroughConfirmAndRevert() {
    hosts.close();
    hosts = new TwoHostCloud(home.resolve("same"), Map.of("allow_resize_to_same_host", "true"));
    cloud = hosts.cloud;
    admin = cloud.admin();
    demo = cloud.demo();
    String id = bootActive();
    // host2 has the most free RAM, and may now be chosen although the server is on it
    assertThat(hosts.action(demo, id, null, "{\"resize\": {\"flavorRef\": \"1\"}}")).isEqualTo(202);
    cloud.awaitStatus(demo, id, "VERIFY_RESIZE");
    assertThat(hosts.hostOf(admin, id)).isEqualTo("host2");
    JsonNode m = hosts.awaitMigration(admin, id, "finished");
    assertThat(m.path("source_compute").asText()).isEqualTo(m.path("dest_compute").asText());
    // both flavors are held on the one host until confirm
    assertThat(usage("host2").ramMb()).isEqualTo(128 + 512);
    assertThat(hosts.action(demo, id, null, "{\"confirmResize\": null}")).isEqualTo(204);
    cloud.awaitStatus(demo, id, "ACTIVE");
    hosts.awaitMigration(admin, id, "confirmed");
    hosts.awaitIdle();
    assertThat(usage("host2").ramMb()).isEqualTo(512);
    assertThat(hosts.host2.powerState(id)).contains(PowerState.RUNNING);
    assertThat(hosts.host2.resizeLeftovers()).isEmpty();
    // up to m1.small, then reverted: the old flavor and disks return, running, on the same host
    assertThat(hosts.action(demo, id, null, "{\"resize\": {\"flavorRef\": \"2\"}}")).isEqualTo(202);
    cloud.awaitStatus(demo, id, "VERIFY_RESIZE");
    assertThat(hosts.action(demo, id, null, "{\"revertResize\": null}")).isEqualTo(202);
    JsonNode s = cloud.awaitStatus(demo, id, "ACTIVE");
    hosts.awaitMigration(admin, id, "reverted");
    hosts.awaitIdle();
    assertThat(s.path("flavor").path("id").asText()).isEqualTo("1");
    assertThat(hosts.hostOf(admin, id)).isEqualTo("host2");
    assertThat(hosts.host2.powerState(id)).contains(PowerState.RUNNING);
    assertThat(hosts.host2.resizeLeftovers()).isEmpty();
    assertThat(usage("host2").ramMb()).isEqualTo(512);
  }

  @Test
  void aServerThatNeverGotAHostCannotMove() {
    assertThat(
            cloud
                .call(
                    "POST",
                    "/flavors",
                    admin,
                    null,
                    "{\"flavor\": {\"name\": \"bigdisk\", \"id\": \"bigdisk\", \"ram\": 128,"
                        + " \"vcpus\": 1, \"disk\": 1000}}")
                .status())
        .isEqualTo(200);
    String id = cloud.boot(demo, "nohost", "bigdisk");
    cloud.awaitStatus(demo, id, "ERROR");
    assertThat(hosts.action(demo, id, null, "{\"os-stop\": null}")).isEqualTo(202);
    cloud.awaitStatus(demo, id, "SHUTOFF");
    assertThat(hosts.action(demo, id, null, "{\"resize\": {\"flavorRef\": \"1\"}}")).isEqualTo(409);
    assertThat(hosts.action(admin, id, null, "{\"migrate\": null}")).isEqualTo(409);
    JsonNode s = cloud.awaitStatus(demo, id, "SHUTOFF");
    assertThat(s.path("OS-EXT-STS:task_state").isNull()).isTrue();
  }
}
