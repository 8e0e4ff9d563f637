package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.core.PowerState;
import io.virga.core.VirgaException;
import io.virga.virt.FakeFaults.Op;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Live migration between two FakeDriver agents: checks, queue, progress, abort, force-complete. */
class LiveMigrationApiTest {
  static final String AUTO =
      "{\"os-migrateLive\": {\"host\": null, \"block_migration\": \"auto\"}}";
  @TempDir Path home;
  TwoHostCloud hosts;
  ComputeTestCloud cloud;
  String admin;
  String demo;

  @BeforeEach
  void start() {
    hosts = new TwoHostCloud(home, Map.of("max_concurrent_live_migrations", "1"));
    cloud = hosts.cloud;
    admin = cloud.admin();
    demo = cloud.demo();
  }

  @AfterEach
  void stop() {
    hosts.close();
  }

  private String bootActive(String name) {
    String id = cloud.boot(demo, name, "v1.tiny");
    cloud.awaitStatus(demo, id, "ACTIVE");
    assertThat(hosts.hostOf(admin, id)).isEqualTo("host2");
    return id;
  }

  /** Holds the live migration of the host2 guests at their first monitor poll until released. */
  private CountDownLatch holdLiveMigrations(CountDownLatch running) {
    CountDownLatch release = new CountDownLatch(1);
    hosts
        .host2
        .faults()
        .hook(
            Op.LIVE_MIGRATION_STEP,
            uuid -> {
              running.countDown();
              try {
                release.await(20, TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
    return release;
  }

  @Test
  void liveMigrationMovesARunningServerAndAPausedOneStaysPaused() {
    String id = bootActive("l1");
    assertThat(hosts.action(admin, id, "2.25", AUTO)).isEqualTo(202);
    hosts.awaitMigration(admin, id, "completed");
    JsonNode s = cloud.awaitStatus(demo, id, "ACTIVE");
    assertThat(hosts.hostOf(admin, id)).isEqualTo("fake-host");
    assertThat(s.path("OS-EXT-STS:power_state").asInt()).isEqualTo(1);
    assertThat(hosts.fakeHost().powerState(id)).contains(PowerState.RUNNING);
    assertThat(hosts.host2.powerState(id)).isEmpty();
    assertThat(hosts.fakeHost().incomingLiveMigrations()).isEmpty();
    assertThat(cloud.running.cloud().compute().hosts().usage("host2").ramMb()).isZero();
    assertThat(cloud.running.cloud().compute().hosts().usage("fake-host").ramMb()).isEqualTo(128);
    JsonNode m = hosts.migrations(admin, id, "2.80").get(0);
    assertThat(m.path("migration_type").asText()).isEqualTo("live-migration");
    assertThat(m.has("links")).isFalse();

    // back, paused: a paused guest stays paused; host given explicitly (2.30 force as well)
    assertThat(hosts.action(demo, id, null, "{\"pause\": null}")).isEqualTo(202);
    cloud.awaitStatus(demo, id, "PAUSED");
    assertThat(
            hosts.action(
                admin,
                id,
                "2.30",
                "{\"os-migrateLive\": {\"host\": \"host2\", \"block_migration\": \"auto\","
                    + " \"force\": false}}"))
        .isEqualTo(202);
    Awaitility.await()
        .atMost(Duration.ofSeconds(20))
        .until(
            () ->
                hosts
                    .migrations(admin, id, "2.80")
                    .get(0)
                    .path("status")
                    .asText()
                    .equals("completed"));
    cloud.awaitStatus(demo, id, "PAUSED");
    assertThat(hosts.hostOf(admin, id)).isEqualTo("host2");
    assertThat(hosts.host2.powerState(id)).contains(PowerState.PAUSED);
  }

  @Test
  void progressIsShownWhileRunningAndForceCompleteFinishesIt() {
    String id = bootActive("l2");
    CountDownLatch running = new CountDownLatch(1);
    CountDownLatch release = holdLiveMigrations(running);
    assertThat(hosts.action(admin, id, "2.25", AUTO)).isEqualTo(202);
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> running.getCount() == 0);
    assertThat(cloud.server(admin, id).path("status").asText()).isEqualTo("MIGRATING");
    JsonNode list = cloud.call("GET", "/servers/" + id + "/migrations", admin, "2.80", null).json();
    assertThat(list.path("migrations")).hasSize(1);
    JsonNode m = list.path("migrations").get(0);
    assertThat(m.path("status").asText()).isEqualTo("running");
    assertThat(m.path("server_uuid").asText()).isEqualTo(id);
    assertThat(m.has("uuid")).isTrue();
    assertThat(m.path("user_id").asText()).isNotEmpty();
    long mid = m.path("id").asLong();
    // 2.22 force_complete; 2.21 does not know the resource
    assertThat(
            cloud
                .call(
                    "POST",
                    "/servers/" + id + "/migrations/" + mid + "/action",
                    admin,
                    "2.21",
                    "{\"force_complete\": null}")
                .status())
        .isEqualTo(404);
    assertThat(
            cloud
                .call(
                    "POST",
                    "/servers/" + id + "/migrations/" + mid + "/action",
                    admin,
                    "2.22",
                    "{\"force_complete\": null}")
                .status())
        .isEqualTo(202);
    release.countDown();
    hosts.awaitMigration(admin, id, "completed");
    cloud.awaitStatus(demo, id, "ACTIVE");
    assertThat(hosts.hostOf(admin, id)).isEqualTo("fake-host");
    // a completed migration is not in progress: 404 on show, gone from the list
    assertThat(
            cloud
                .call("GET", "/servers/" + id + "/migrations/" + mid, admin, "2.23", null)
                .status())
        .isEqualTo(404);
    assertThat(
            cloud
                .call("GET", "/servers/" + id + "/migrations", admin, "2.23", null)
                .json()
                .path("migrations"))
        .isEmpty();
  }

  @Test
  void progressBytesReachTheMigrationRecord() {
    String id = bootActive("l2b");
    CountDownLatch running = new CountDownLatch(2);
    CountDownLatch release = holdLiveMigrations(running);
    hosts.host2.livePollInterval(Duration.ZERO);
    assertThat(hosts.action(admin, id, "2.25", AUTO)).isEqualTo(202);
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> running.getCount() == 1);
    // the first poll reported before the second is held
    release.countDown();
    hosts.awaitMigration(admin, id, "completed");
    // the record keeps the last figures (memory and disk), as Nova's does
    JsonNode m =
        cloud
            .running
            .cloud()
            .compute()
            .migrations()
            .list(io.virga.db.MigrationFilter.ofInstance(id))
            .stream()
            .findFirst()
            .map(x -> ComputeTestCloud.JSON.valueToTree(x.progress()))
            .map(JsonNode.class::cast)
            .orElseThrow();
    assertThat(m.path("memoryTotal").asLong()).isEqualTo(128L << 20);
    assertThat(m.path("memoryRemaining").asLong()).isZero();
    assertThat(m.path("diskTotal").asLong()).isPositive();
    assertThat(m.path("diskProcessed").asLong()).isEqualTo(m.path("diskTotal").asLong());
  }

  @Test
  void abortingARunningMigrationKeepsTheGuestOnTheSource() {
    String id = bootActive("l3");
    CountDownLatch running = new CountDownLatch(1);
    CountDownLatch release = holdLiveMigrations(running);
    assertThat(hosts.action(admin, id, "2.25", AUTO)).isEqualTo(202);
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> running.getCount() == 0);
    long mid = hosts.migrations(admin, id, "2.80").get(0).path("id").asLong();
    assertThat(
            cloud
                .call("DELETE", "/servers/" + id + "/migrations/" + mid, admin, "2.23", null)
                .status())
        .isEqualTo(404);
    assertThat(
            cloud
                .call("DELETE", "/servers/" + id + "/migrations/" + mid, demo, "2.24", null)
                .status())
        .isEqualTo(403);
    assertThat(
            cloud
                .call("DELETE", "/servers/" + id + "/migrations/" + mid, admin, "2.24", null)
                .status())
        .isEqualTo(202);
    release.countDown();
    hosts.awaitMigration(admin, id, "cancelled");
    cloud.awaitStatus(demo, id, "ACTIVE");
    hosts.awaitIdle();
    assertThat(hosts.hostOf(admin, id)).isEqualTo("host2");
    assertThat(hosts.host2.powerState(id)).contains(PowerState.RUNNING);
    assertThat(hosts.fakeHost().powerState(id)).isEmpty();
    assertThat(hosts.fakeHost().incomingLiveMigrations()).isEmpty();
    assertThat(cloud.running.cloud().compute().hosts().usage("fake-host").ramMb()).isZero();
    // a finished migration cannot be aborted
    assertThat(
            cloud
                .call("DELETE", "/servers/" + id + "/migrations/" + mid, admin, "2.24", null)
                .status())
        .isEqualTo(409);
  }

  @Test
  void aQueuedMigrationWaitsForTheHostsLimitAndCanBeAbortedAt265() {
    String first = bootActive("q1");
    String second = bootActive("q2");
    CountDownLatch running = new CountDownLatch(1);
    CountDownLatch release = holdLiveMigrations(running);
    assertThat(hosts.action(admin, first, "2.25", AUTO)).isEqualTo(202);
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> running.getCount() == 0);
    assertThat(hosts.action(admin, second, "2.25", AUTO)).isEqualTo(202);
    JsonNode queued = hosts.awaitMigration(admin, second, "queued");
    long mid = queued.path("id").asLong();
    assertThat(
            cloud
                .call("GET", "/servers/" + second + "/migrations", admin, "2.23", null)
                .json()
                .path("migrations")
                .get(0)
                .path("status")
                .asText())
        .isEqualTo("queued");
    assertThat(
            cloud
                .call("DELETE", "/servers/" + second + "/migrations/" + mid, admin, "2.64", null)
                .status())
        .isEqualTo(409);
    assertThat(
            cloud
                .call("DELETE", "/servers/" + second + "/migrations/" + mid, admin, "2.65", null)
                .status())
        .isEqualTo(202);
    hosts.awaitMigration(admin, second, "cancelled");
    cloud.awaitStatus(demo, second, "ACTIVE");
    release.countDown();
    hosts.awaitMigration(admin, first, "completed");
    hosts.awaitIdle();
    assertThat(hosts.hostOf(admin, first)).isEqualTo("fake-host");
    assertThat(hosts.hostOf(admin, second)).isEqualTo("host2");
    assertThat(hosts.host2.powerState(second)).contains(PowerState.RUNNING);
    // the cancelled migration never ran: its guest never left
    assertThat(hosts.fakeHost().powerState(second)).isEmpty();
  }

  @Test
  void failuresLeaveTheGuestRunningOnTheSource() {
    String id = bootActive("l4");
    for (var fail :
        java.util.List.of(
            Op.LIVE_CHECK_DESTINATION, Op.PRE_LIVE_MIGRATION, Op.LIVE_MIGRATION_STEP)) {
      var target = fail == Op.LIVE_MIGRATION_STEP ? hosts.host2 : hosts.fakeHost();
      target.faults().failNext(fail, () -> new VirgaException("injected " + fail));
      int before = hosts.migrations(admin, id, "2.80").size();
      assertThat(hosts.action(admin, id, "2.25", AUTO)).isEqualTo(202);
      Awaitility.await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> hosts.migrations(admin, id, "2.80").size() == before + 1);
      hosts.awaitMigration(admin, id, "error");
      cloud.awaitStatus(demo, id, "ACTIVE");
      hosts.awaitIdle();
      assertThat(hosts.hostOf(admin, id)).as("after %s", fail).isEqualTo("host2");
      assertThat(hosts.host2.powerState(id)).contains(PowerState.RUNNING);
      assertThat(hosts.fakeHost().powerState(id)).isEmpty();
      assertThat(hosts.fakeHost().incomingLiveMigrations()).isEmpty();
      assertThat(cloud.running.cloud().compute().hosts().usage("fake-host").ramMb()).isZero();
    }
    // explicit non-block migration between hosts without shared storage is refused by the checks
    assertThat(
            hosts.action(
                admin,
                id,
                "2.25",
                "{\"os-migrateLive\": {\"host\": null, \"block_migration\": false}}"))
        .isEqualTo(202);
    Awaitility.await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> hosts.migrations(admin, id, "2.80").size() == 4);
    hosts.awaitMigration(admin, id, "error");
    cloud.awaitStatus(demo, id, "ACTIVE");
  }

  @Test
  void wrongStatesAndBodies() {
    String id = bootActive("l5");
    assertThat(hosts.action(demo, id, "2.25", AUTO)).isEqualTo(403);
    assertThat(hosts.action(admin, id, "2.24", AUTO)).isEqualTo(400);
    assertThat(
            hosts.action(
                admin,
                id,
                "2.24",
                "{\"os-migrateLive\": {\"host\": null, \"block_migration\": false, \"disk_over_commit\": false}}"))
        .isEqualTo(202);
    hosts.awaitMigration(admin, id, "error");
    cloud.awaitStatus(demo, id, "ACTIVE");
    assertThat(
            hosts.action(
                admin,
                id,
                "2.68",
                "{\"os-migrateLive\": {\"host\": \"fake-host\", \"block_migration\": \"auto\", \"force\": true}}"))
        .isEqualTo(400);
    assertThat(
            hosts.action(
                admin,
                id,
                "2.25",
                "{\"os-migrateLive\": {\"host\": \"host2\", \"block_migration\": \"auto\"}}"))
        .isEqualTo(400);
    assertThat(
            hosts.action(
                admin,
                id,
                "2.25",
                "{\"os-migrateLive\": {\"host\": \"nohost\", \"block_migration\": \"auto\"}}"))
        .isEqualTo(400);
    assertThat(hosts.action(demo, id, null, "{\"os-stop\": null}")).isEqualTo(202);
    cloud.awaitStatus(demo, id, "SHUTOFF");
    assertThat(hosts.action(admin, id, "2.25", AUTO)).isEqualTo(409);
  }

  @Test
  void sourceAgentKilledMidMigrationRecoversWithTheGuestWhereItIs() throws Exception {
    String id = bootActive("l6");
    CountDownLatch running = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    hosts
        .host2
        .faults()
        .hook(
            Op.LIVE_MIGRATION_STEP,
            uuid -> {
              running.countDown();
              while (true) {
                try {
                  release.await();
                  break;
                } catch (InterruptedException e) {
                  // a dead process does not wake up
                }
              }
              throw new Error("the agent process is dead");
            });
    assertThat(hosts.action(admin, id, "2.25", AUTO)).isEqualTo(202);
    running.await();
    hosts.killHost2();
    hosts.host2.faults().clear();
    hosts.startHost2();
    hosts.awaitMigration(admin, id, "error");
    cloud.awaitStatus(demo, id, "ACTIVE");
    hosts.awaitIdle();
    assertThat(hosts.hostOf(admin, id)).isEqualTo("host2");
    assertThat(hosts.fakeHost().incomingLiveMigrations()).isEmpty();
    release.countDown();
  }

  @Test
  void deletingAServerMidLiveMigrationLeavesNothingOnEitherHost() throws Exception {
    String id = bootActive("l7");
    CountDownLatch running = new CountDownLatch(1);
    CountDownLatch release = holdLiveMigrations(running);
    assertThat(hosts.action(admin, id, "2.25", AUTO)).isEqualTo(202);
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> running.getCount() == 0);
    assertThat(cloud.call("DELETE", "/servers/" + id, demo, null, null).status()).isEqualTo(204);
    release.countDown();
    Awaitility.await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> cloud.get("/servers/" + id, demo).status() == 404);
    hosts.awaitMigration(admin, id, "cancelled");
    hosts.awaitIdle();
    assertThat(hosts.host2.powerState(id)).isEmpty();
    assertThat(hosts.fakeHost().powerState(id)).isEmpty();
    assertThat(hosts.fakeHost().incomingLiveMigrations()).isEmpty();
    assertThat(cloud.running.cloud().compute().hosts().usage("fake-host").ramMb()).isZero();
  }

  @Test
  void aFailureAfterTheGuestMovedLeavesTheRecordsWithTheGuest() {
    String id = bootActive("l8");
    hosts
        .fakeHost()
        .faults()
        .failNext(Op.POST_LIVE_MIGRATION, () -> new VirgaException("injected post"));
    assertThat(hosts.action(admin, id, "2.25", AUTO)).isEqualTo(202);
    hosts.awaitMigration(admin, id, "error");
    Awaitility.await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> cloud.server(admin, id).path("OS-EXT-STS:task_state").isNull());
    // the guest runs on the destination: the instance names it, and nothing was rolled back
    assertThat(hosts.host2.powerState(id)).isEmpty();
    assertThat(hosts.fakeHost().powerState(id)).contains(PowerState.RUNNING);
    assertThat(hosts.hostOf(admin, id)).isEqualTo("fake-host");
    cloud.awaitStatus(demo, id, "ACTIVE");
  }
}
