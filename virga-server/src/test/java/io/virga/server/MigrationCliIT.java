package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.virt.FakeFaults.Op;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The stock {@code openstack} CLI's migration commands against two FakeDriver hosts behind {@code
 * virga up}'s wiring: server resize (confirm, revert), server migrate (cold and live), server
 * migration list/show/abort/force complete.
 */
class MigrationCliIT {
  @TempDir Path home;
  TwoHostCloud hosts;
  ComputeTestCloud cloud;
  String admin;

  @BeforeEach
  void start() {
    hosts = new TwoHostCloud(home, Map.of());
    cloud = hosts.cloud;
    admin = cloud.admin();
  }

  @AfterEach
  void stop() {
    hosts.close();
  }

  record Result(int rc, String out, String err) {
    JsonNode json() {
      try {
        return ComputeTestCloud.JSON.readTree(out);
      } catch (IOException e) {
        throw new AssertionError("not JSON: " + out + err, e);
      }
    }
  }

  Result cli(String... args) {
    List<String> cmd =
        new ArrayList<>(
            List.of("openstack", "--os-cloud", "virga", "--os-compute-api-version", "2.80"));
    cmd.addAll(List.of(args));
    try {
      ProcessBuilder pb = new ProcessBuilder(cmd);
      pb.environment().put("OS_CLIENT_CONFIG_FILE", home.resolve("clouds.yaml").toString());
      Path out = Files.createTempFile(home, "out", ".txt");
      Path err = Files.createTempFile(home, "err", ".txt");
      pb.redirectOutput(out.toFile());
      pb.redirectError(err.toFile());
      Process p = pb.start();
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError("timed out: " + cmd);
      }
      return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  Result ok(String... args) {
    Result r = cli(args);
    assertThat(r.rc()).as("openstack %s: %s %s", String.join(" ", args), r.out(), r.err()).isZero();
    return r;
  }

  JsonNode show(String id) {
    return ok("server", "show", id, "-f", "json").json();
  }

  void awaitStatus(String id, String status) {
    Awaitility.await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(300))
        .until(
            () -> {
              JsonNode s = show(id);
              return s.path("status").asText().equals(status)
                  && s.path("OS-EXT-STS:task_state").isNull();
            });
  }

  @Test
  void resizeMigrateAndLiveMigrateThroughTheCli() {
    String id = cloud.boot(cloud.demo(), "cli1", "v1.tiny");
    cloud.awaitStatus(admin, id, "ACTIVE");
    ok("server", "resize", "--flavor", "m1.tiny", id);
    awaitStatus(id, "VERIFY_RESIZE");
    ok("server", "resize", "confirm", id);
    awaitStatus(id, "ACTIVE");
    assertThat(show(id).path("flavor").toString()).contains("m1.tiny");
    ok("server", "migrate", id);
    awaitStatus(id, "VERIFY_RESIZE");
    ok("server", "resize", "revert", id);
    awaitStatus(id, "ACTIVE");
    ok("server", "migrate", "--live-migration", id);
    hosts.awaitMigration(admin, id, "completed");
    awaitStatus(id, "ACTIVE");
    JsonNode list = ok("server", "migration", "list", "--server", id, "-f", "json").json();
    assertThat(list).hasSize(3);
    List<String> statuses = new ArrayList<>();
    List<String> types = new ArrayList<>();
    for (JsonNode m : list) {
      statuses.add(m.path("Status").asText());
      types.add(m.path("Type").asText());
    }
    assertThat(statuses).containsExactly("completed", "reverted", "confirmed");
    assertThat(types).containsExactly("live-migration", "migration", "resize");
  }

  @Test
  void showAbortAndForceCompleteARunningLiveMigration() throws Exception {
    String id = cloud.boot(cloud.demo(), "cli2", "v1.tiny");
    cloud.awaitStatus(admin, id, "ACTIVE");
    CountDownLatch running = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    hosts
        .host2
        .faults()
        .hook(
            Op.LIVE_MIGRATION_STEP,
            uuid -> {
              running.countDown();
              try {
                release.await(60, TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
    ok("server", "migrate", "--live-migration", id);
    assertThat(running.await(30, TimeUnit.SECONDS)).isTrue();
    String mid = hosts.migrations(admin, id, "2.80").get(0).path("id").asText();
    JsonNode m = ok("server", "migration", "show", id, mid, "-f", "json").json();
    assertThat(m.toString())
        .contains("running")
        .contains("memory_total_bytes".replace("_", " ").isEmpty() ? "" : "");
    ok("server", "migration", "force", "complete", id, mid);
    release.countDown();
    hosts.awaitMigration(admin, id, "completed");
    awaitStatus(id, "ACTIVE");

    // abort: hold the way back, then abort it
    CountDownLatch again = new CountDownLatch(1);
    CountDownLatch release2 = new CountDownLatch(1);
    hosts
        .fakeHost()
        .faults()
        .hook(
            Op.LIVE_MIGRATION_STEP,
            uuid -> {
              again.countDown();
              try {
                release2.await(60, TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
    ok("server", "migrate", "--live-migration", id);
    assertThat(again.await(30, TimeUnit.SECONDS)).isTrue();
    String mid2 = hosts.migrations(admin, id, "2.80").get(0).path("id").asText();
    ok("server", "migration", "abort", id, mid2);
    release2.countDown();
    hosts.awaitMigration(admin, id, "cancelled");
    awaitStatus(id, "ACTIVE");
  }
}
