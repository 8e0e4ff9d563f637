package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.core.PowerState;
import io.virga.core.VirgaException;
import io.virga.virt.FakeDriver;
import io.virga.virt.FakeFaults.Op;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A failure at each step of a resize leaves the server usable on the source (running, as it was),
 * with the migration in error naming the step, nothing left on the destination and no claim held;
 * an agent killed mid-copy recovers by itself when it starts again.
 */
class ResizeFailureTest {
  @TempDir Path home;
  TwoHostCloud hosts;
  ComputeTestCloud cloud;
  String admin;
  String demo;

  @BeforeEach
  void start() {
    // a migration stranded at resize_migrated is looked at again 1 s after an agent start
    hosts = new TwoHostCloud(home, Map.of("resize_stranded_timeout", "1"));
    cloud = hosts.cloud;
    admin = cloud.admin();
    demo = cloud.demo();
  }

  @AfterEach
  void stop() {
    hosts.close();
  }

  private String bootActive() {
    String id = cloud.boot(demo, "f1", "v1.tiny");
    cloud.awaitStatus(demo, id, "ACTIVE");
    assertThat(hosts.hostOf(admin, id)).isEqualTo("host2");
    return id;
  }

  /** Resizes, expects the failure at {@code step}, and checks both hosts. */
  private void resizeFailsAt(FakeDriver where, Op op, String step) {
    String id = bootActive();
    where.faults().failNext(op, () -> new VirgaException("injected " + op));
    assertThat(hosts.action(demo, id, null, "{\"resize\": {\"flavorRef\": \"1\"}}")).isEqualTo(202);
    hosts.awaitMigration(admin, id, "error");
    JsonNode s = cloud.awaitStatus(demo, id, "ACTIVE");
    hosts.awaitIdle();
    assertThat(s.path("flavor").path("id").asText()).isEqualTo("v1.tiny");
    assertThat(hosts.hostOf(admin, id)).isEqualTo("host2");
    assertThat(hosts.host2.powerState(id)).contains(PowerState.RUNNING);
    assertThat(hosts.host2.resizeLeftovers()).isEmpty();
    assertThat(hosts.fakeHost().powerState(id)).isEmpty();
    assertThat(hosts.fakeHost().openMigrationTargets()).isEmpty();
    assertThat(cloud.running.cloud().compute().hosts().usage("fake-host").ramMb()).isZero();
    assertThat(cloud.running.cloud().compute().hosts().usage("host2").ramMb()).isEqualTo(128);
    // the failed step is named in the instance action's events
    JsonNode actions = cloud.get("/servers/" + id + "/os-instance-actions", admin).json();
    String rid = actions.path("instanceActions").get(0).path("request_id").asText();
    JsonNode action =
        cloud
            .call("GET", "/servers/" + id + "/os-instance-actions/" + rid, admin, "2.51", null)
            .json();
    assertThat(action.toString()).contains(step + " failed").contains("injected " + op);
  }

  @Test
  void prepResizeFailingOnTheDestination() {
    resizeFailsAt(hosts.fakeHost(), Op.PREPARE_MIGRATION, "prep_resize");
  }

  @Test
  void migrateDiskAndPowerOffFailingOnTheSource() {
    resizeFailsAt(hosts.host2, Op.MIGRATE_DISK, "resize_instance");
  }

  @Test
  void diskCopyFailingMidway() {
    resizeFailsAt(hosts.host2, Op.COPY_DISK, "resize_instance");
  }

  @Test
  void finishMigrationFailingOnTheDestination() {
    resizeFailsAt(hosts.fakeHost(), Op.FINISH_MIGRATION, "finish_resize");
  }

  @Test
  void sourceAgentKilledMidCopyRecoversOnRestart() throws Exception {
    String id = bootActive();
    CountDownLatch copying = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    hosts
        .host2
        .faults()
        .hook(
            Op.COPY_DISK,
            uuid -> {
              copying.countDown();
              // a dead process does not wake up on interrupts
              while (true) {
                try {
                  release.await();
                  break;
                } catch (InterruptedException e) {
                  // keep blocking
                }
              }
              throw new Error("the agent process is dead");
            });
    assertThat(hosts.action(demo, id, null, "{\"resize\": {\"flavorRef\": \"1\"}}")).isEqualTo(202);
    copying.await();
    hosts.killHost2();
    hosts.host2.faults().clear();
    assertThat(cloud.server(admin, id).path("OS-EXT-STS:task_state").asText())
        .isEqualTo("resize_migrating");
    assertThat(hosts.host2.resizeLeftovers()).containsExactly(id);
    hosts.startHost2();
    JsonNode s = cloud.awaitStatus(demo, id, "ACTIVE");
    hosts.awaitMigration(admin, id, "error");
    hosts.awaitIdle();
    assertThat(s.path("flavor").path("id").asText()).isEqualTo("v1.tiny");
    assertThat(hosts.host2.resizeLeftovers()).isEmpty();
    assertThat(hosts.host2.powerState(id)).contains(PowerState.RUNNING);
    assertThat(hosts.fakeHost().openMigrationTargets()).isEmpty();
    assertThat(cloud.running.cloud().compute().hosts().usage("fake-host").ramMb()).isZero();
    release.countDown();
  }

  /** Blocks forever: the agent process dies where this runs. */
  private static Runnable dieHere(CountDownLatch reached, CountDownLatch release) {
    return () -> {
      reached.countDown();
      while (true) {
        try {
          release.await();
          break;
        } catch (InterruptedException e) {
          // a dead process does not wake up
        }
      }
      throw new Error("the agent process is dead");
    };
  }

  /** The resize ended back on {@code host} with the old flavor, running, the migration in error. */
  private void revertedTo(String id, String host, String other) {
    hosts.awaitMigration(admin, id, "error");
    JsonNode s = cloud.awaitStatus(demo, id, "ACTIVE");
    hosts.awaitIdle();
    assertThat(s.path("OS-EXT-STS:task_state").isNull()).isTrue();
    assertThat(s.path("flavor").path("id").asText()).isEqualTo("v1.tiny");
    assertThat(hosts.hostOf(admin, id)).isEqualTo(host);
    assertThat(hosts.driverOf(host).powerState(id)).contains(PowerState.RUNNING);
    assertThat(hosts.driverOf(host).resizeLeftovers()).isEmpty();
    assertThat(hosts.driverOf(other).powerState(id)).isEmpty();
    assertThat(hosts.driverOf(other).openMigrationTargets()).isEmpty();
    assertThat(cloud.running.cloud().compute().hosts().usage(other).ramMb()).isZero();
    JsonNode actions = cloud.get("/servers/" + id + "/os-instance-actions", admin).json();
    String rid = actions.path("instanceActions").get(0).path("request_id").asText();
    JsonNode action =
        cloud
            .call("GET", "/servers/" + id + "/os-instance-actions/" + rid, admin, "2.51", null)
            .json();
    assertThat(action.toString()).contains("finish_resize failed");
  }

  @Test
  void sourceAgentKilledBeforeCastingFinishResizeRevertsOnRestart() throws Exception {
    String id = bootActive(); // on host2, the source; fake-host is the destination
    CountDownLatch casting = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    // the disks are sent and the task is resize_migrated; the process dies before the cast
    hosts.outgoing.put("finishResize", dieHere(casting, release));
    assertThat(hosts.action(demo, id, null, "{\"resize\": {\"flavorRef\": \"1\"}}")).isEqualTo(202);
    casting.await();
    hosts.killHost2();
    hosts.outgoing.clear();
    assertThat(cloud.server(admin, id).path("OS-EXT-STS:task_state").asText())
        .isEqualTo("resize_migrated");
    assertThat(hosts.host2.resizeLeftovers()).containsExactly(id);
    hosts.startHost2();
    revertedTo(id, "host2", "fake-host");
    release.countDown();
  }

  @Test
  void destinationAgentKilledHoldingFinishResizeRevertsOnRestart() throws Exception {
    String id = bootActive();
    // first move the server to fake-host, so that host2 (restartable) is the next destination
    assertThat(hosts.action(admin, id, null, "{\"migrate\": null}")).isEqualTo(202);
    cloud.awaitStatus(demo, id, "VERIFY_RESIZE");
    assertThat(hosts.action(demo, id, null, "{\"confirmResize\": null}")).isEqualTo(204);
    cloud.awaitStatus(demo, id, "ACTIVE");
    CountDownLatch received = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    // host2 takes the finish_resize message and dies before acting on it: the message is gone
    hosts.incoming.put("finishResize", dieHere(received, release));
    assertThat(hosts.action(demo, id, null, "{\"resize\": {\"flavorRef\": \"1\"}}")).isEqualTo(202);
    received.await();
    hosts.killHost2();
    hosts.incoming.clear();
    assertThat(cloud.server(admin, id).path("OS-EXT-STS:task_state").asText())
        .isEqualTo("resize_migrated");
    hosts.startHost2();
    revertedTo(id, "fake-host", "host2");
    release.countDown();
  }

  @Test
  void aFinishResizeQueuedForARestartedDestinationStillFinishes() throws Exception {
    String id = bootActive();
    assertThat(hosts.action(admin, id, null, "{\"migrate\": null}")).isEqualTo(202);
    cloud.awaitStatus(demo, id, "VERIFY_RESIZE");
    assertThat(hosts.action(demo, id, null, "{\"confirmResize\": null}")).isEqualTo(204);
    cloud.awaitStatus(demo, id, "ACTIVE");
    // host2 dies while the source copies: the source's finish_resize cast waits in its queue
    hosts.fakeHost().faults().hook(Op.COPY_DISK, uuid -> hosts.killHost2());
    assertThat(hosts.action(demo, id, null, "{\"resize\": {\"flavorRef\": \"1\"}}")).isEqualTo(202);
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(20))
        .until(
            () ->
                cloud
                    .server(admin, id)
                    .path("OS-EXT-STS:task_state")
                    .asText()
                    .equals("resize_migrated"));
    hosts.fakeHost().faults().clear();
    hosts.startHost2();
    JsonNode s = cloud.awaitStatus(demo, id, "VERIFY_RESIZE");
    assertThat(s.path("flavor").path("id").asText()).isNotEqualTo("v1.tiny");
    Thread.sleep(1500); // past resize_stranded_timeout: the stranded check leaves it alone
    hosts.awaitIdle();
    assertThat(cloud.server(demo, id).path("status").asText()).isEqualTo("VERIFY_RESIZE");
    assertThat(hosts.hostOf(admin, id)).isEqualTo("host2");
    assertThat(hosts.host2.powerState(id)).contains(PowerState.RUNNING);
  }

  @Test
  void destinationAgentKilledMidFinishRevertsToTheSourceOnRestart() throws Exception {
    String id = bootActive();
    // first move the server to fake-host, so that host2 (restartable) is the next destination
    assertThat(hosts.action(admin, id, null, "{\"migrate\": null}")).isEqualTo(202);
    cloud.awaitStatus(demo, id, "VERIFY_RESIZE");
    assertThat(hosts.action(demo, id, null, "{\"confirmResize\": null}")).isEqualTo(204);
    cloud.awaitStatus(demo, id, "ACTIVE");
    assertThat(hosts.hostOf(admin, id)).isEqualTo("fake-host");
    CountDownLatch finishing = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    hosts
        .host2
        .faults()
        .hook(
            Op.FINISH_MIGRATION,
            uuid -> {
              finishing.countDown();
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
    assertThat(hosts.action(demo, id, null, "{\"resize\": {\"flavorRef\": \"1\"}}")).isEqualTo(202);
    finishing.await();
    hosts.killHost2();
    hosts.host2.faults().clear();
    assertThat(cloud.server(admin, id).path("OS-EXT-STS:task_state").asText())
        .isEqualTo("resize_finish");
    hosts.startHost2();
    hosts.awaitMigration(admin, id, "error");
    JsonNode s = cloud.awaitStatus(demo, id, "ACTIVE");
    hosts.awaitIdle();
    assertThat(s.path("flavor").path("id").asText()).isEqualTo("v1.tiny");
    assertThat(hosts.hostOf(admin, id)).isEqualTo("fake-host");
    assertThat(hosts.fakeHost().powerState(id)).contains(PowerState.RUNNING);
    assertThat(hosts.fakeHost().resizeLeftovers()).isEmpty();
    assertThat(hosts.host2.powerState(id)).isEmpty();
    assertThat(cloud.running.cloud().compute().hosts().usage("host2").ramMb()).isZero();
    release.countDown();
  }

  @Test
  void deletingAServerMidCopyLeavesNothingOnEitherHost() throws Exception {
    String id = bootActive();
    CountDownLatch copying = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    hosts
        .host2
        .faults()
        .hook(
            Op.COPY_DISK,
            uuid -> {
              copying.countDown();
              try {
                release.await(20, java.util.concurrent.TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
    assertThat(hosts.action(demo, id, null, "{\"resize\": {\"flavorRef\": \"1\"}}")).isEqualTo(202);
    copying.await();
    assertThat(cloud.call("DELETE", "/servers/" + id, demo, null, null).status()).isEqualTo(204);
    release.countDown();
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(20))
        .until(() -> cloud.get("/servers/" + id, demo).status() == 404);
    hosts.awaitMigration(admin, id, "error");
    hosts.awaitIdle();
    assertThat(hosts.host2.powerState(id)).isEmpty();
    assertThat(hosts.host2.resizeLeftovers()).isEmpty();
    assertThat(hosts.fakeHost().powerState(id)).isEmpty();
    assertThat(hosts.fakeHost().openMigrationTargets()).isEmpty();
    assertThat(cloud.running.cloud().compute().hosts().usage("fake-host").ramMb()).isZero();
    assertThat(cloud.running.cloud().compute().hosts().usage("host2").ramMb()).isZero();
  }

  @Test
  void aShrinkingEphemeralDiskIsRefusedByTheSourceAndTheServerKeepsRunning() {
    for (String f :
        List.of(
            "{\"flavor\": {\"name\": \"eph1\", \"id\": \"eph1\", \"ram\": 128, \"vcpus\": 1,"
                + " \"disk\": 1, \"OS-FLV-EXT-DATA:ephemeral\": 1}}",
            "{\"flavor\": {\"name\": \"eph0\", \"id\": \"eph0\", \"ram\": 256, \"vcpus\": 1,"
                + " \"disk\": 1}}")) {
      assertThat(cloud.call("POST", "/flavors", admin, null, f).status()).isEqualTo(200);
    }
    String id = cloud.boot(demo, "e1", "eph1");
    cloud.awaitStatus(demo, id, "ACTIVE");
    assertThat(hosts.action(demo, id, null, "{\"resize\": {\"flavorRef\": \"eph0\"}}"))
        .isEqualTo(202);
    hosts.awaitMigration(admin, id, "error");
    JsonNode s = cloud.awaitStatus(demo, id, "ACTIVE");
    hosts.awaitIdle();
    assertThat(s.path("flavor").path("id").asText()).isEqualTo("eph1");
    String host = hosts.hostOf(admin, id);
    assertThat(hosts.driverOf(host).powerState(id)).contains(PowerState.RUNNING);
    assertThat(hosts.driverOf(host).resizeLeftovers()).isEmpty();
    JsonNode actions = cloud.get("/servers/" + id + "/os-instance-actions", admin).json();
    String rid = actions.path("instanceActions").get(0).path("request_id").asText();
    String events =
        cloud
            .call("GET", "/servers/" + id + "/os-instance-actions/" + rid, admin, "2.51", null)
            .text();
    assertThat(events).contains("resize_instance failed").contains("smaller size");
  }
}
