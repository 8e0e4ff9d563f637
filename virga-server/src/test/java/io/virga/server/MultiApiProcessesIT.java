package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.virga.db.PostgresFixture;
import io.virga.multihost.OwnedProcesses;
import io.virga.multihost.PrivateBroker;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two {@code virga api} processes on one PostgreSQL database (and one RabbitMQ broker), as behind a
 * load balancer. While API A is scheduling builds (held: the test locks the table the scheduler
 * reads first), API B starts, and its recovery of lost builds must leave A's alone however long A
 * takes; once A is SIGKILLed, B puts exactly A's builds into ERROR. Concurrent creates through both
 * at a project's instance quota never exceed it.
 */
class MultiApiProcessesIT {
  private static final String SERVICE_PW = "it-service-pw";
  private static final String LOST = "the control plane stopped before it was scheduled";
  private static final int QUOTA = 4;
  private static final int CREATES = 12;

  @TempDir Path tmp;

  @Test
  void twoApiProcessesShareRecoveryAndQuotas() throws Exception {
    Path logs = Path.of("target", "multi-api-it");
    OwnedProcesses owned = OwnedProcesses.open(OwnedProcesses.DEFAULT_DIR, "multi-api-it");
    try (PostgresFixture pg = PostgresFixture.start();
        PrivateBroker broker =
            PrivateBroker.start(tmp.resolve("rabbit"), 0, owned, Duration.ofSeconds(120))) {
      String db = pg.jdbcUrl(pg.createDatabase());
      String amqp = broker.uri().toString();
      // A keeps the default scheduling_recovery_age (300 s); B uses the shortest (15 s)
      VirgaApiProcess a =
          VirgaApiProcess.start(
              tmp.resolve("api-a"), db, amqp, SERVICE_PW, Map.of(), logs.resolve("api-a.log"));
      VirgaApiProcess b = null;
      try (Connection sql = DriverManager.getConnection(db, "postgres", "")) {
        ApiHttp httpA = new ApiHttp(a.url());
        String admin = httpA.token("admin", VirgaApiProcess.ADMIN_PW, "admin");
        String image = httpA.uploadImage(admin, "blank", blankQcow2());

        // hold every scheduler: it reads compute_services first
        sql.setAutoCommit(false);
        try (Statement s = sql.createStatement()) {
          s.execute("LOCK TABLE compute_services IN ACCESS EXCLUSIVE MODE");
        }
        String held = httpA.boot(admin, "held-by-a", image, "1", null);
        Instant heldSince = Instant.now();

        b =
            VirgaApiProcess.start(
                tmp.resolve("api-b"),
                db,
                amqp,
                SERVICE_PW,
                Map.of("VIRGA_SCHEDULING_RECOVERY_AGE", "15"),
                logs.resolve("api-b.log"));
        ApiHttp httpB = new ApiHttp(b.url());
        String heldByB = httpB.boot(admin, "held-by-b", image, "1", null);

        List<String> created;
        try (Connection other = DriverManager.getConnection(db, "postgres", "")) {
          created = quotaRace(httpA, httpB, admin, image, other);
        }

        // a third API process without the users' passwords would reset them: it refuses to start
        Path logC = logs.resolve("api-c.log");
        Process c =
            VirgaApiProcess.launch(
                tmp.resolve("api-c"),
                db,
                amqp,
                "",
                VirgaApiProcess.freePort(),
                Map.of("VIRGA_ADMIN_PASSWORD", "", "VIRGA_DEMO_PASSWORD", ""),
                logC);
        assertThat(c.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(c.exitValue()).isEqualTo(1);
        assertThat(java.nio.file.Files.readString(logC))
            .contains("this database already has its users")
            .doesNotContain("virga api is up on");
        assertThat(httpA.token("admin", VirgaApiProcess.ADMIN_PW, "admin")).isNotBlank();

        // B has run its recovery many times, long after the builds were 15 s old: A renews them
        sleepUntil(heldSince.plusSeconds(32));
        try (Connection other = DriverManager.getConnection(db, "postgres", "")) {
          for (String id : concat(List.of(held, heldByB), created)) {
            assertThat(state(other, id))
                .as("build %s while its API runs", id)
                .isEqualTo("building/scheduling");
          }
        }

        // A dies with its builds in flight: B recovers exactly A's, after their lease runs out
        a.kill();
        Instant killed = Instant.now();
        List<String> viaA = new ArrayList<>(List.of(held));
        List<String> viaB = new ArrayList<>(List.of(heldByB));
        for (int i = 0; i < created.size(); i++) {
          (created.get(i).startsWith("A:") ? viaA : viaB).add(created.get(i).substring(2));
        }
        try (Connection other = DriverManager.getConnection(db, "postgres", "")) {
          org.awaitility.Awaitility.await()
              .atMost(Duration.ofSeconds(60))
              .pollInterval(Duration.ofSeconds(1))
              .untilAsserted(
                  () -> {
                    for (String id : viaA) {
                      assertThat(state(other, id)).as("A's build %s", id).isEqualTo("error/none");
                    }
                  });
          assertThat(Duration.between(killed, Instant.now()))
              .as("recovered after the lease ran out")
              .isGreaterThanOrEqualTo(Duration.ofSeconds(8));
          for (String id : viaA) {
            assertThat(faults(other, id)).singleElement().asString().contains(LOST);
          }
          for (String id : viaB) {
            assertThat(state(other, id))
                .as("B's own build %s", id)
                .isEqualTo("building/scheduling");
            assertThat(faults(other, id)).isEmpty();
          }
        }

        // the schedulers go on: B's builds end by B's scheduler (no compute host here), not lost
        sql.rollback();
        try (Connection other = DriverManager.getConnection(db, "postgres", "")) {
          org.awaitility.Awaitility.await()
              .atMost(Duration.ofSeconds(30))
              .untilAsserted(
                  () -> {
                    for (String id : viaB) {
                      assertThat(state(other, id)).isEqualTo("error/none");
                    }
                  });
          for (String id : viaB) {
            assertThat(faults(other, id))
                .singleElement()
                .asString()
                .contains("No valid host")
                .doesNotContain(LOST);
          }
        }
      } finally {
        a.close();
        if (b != null) {
          b.close();
        }
      }
    } finally {
      owned.close();
    }
  }

  /**
   * {@link #CREATES} creates at once, alternating between the two APIs, for a project whose
   * instance quota is {@link #QUOTA}: exactly that many pass, the rest get Nova's 403. Returns the
   * created server ids, each prefixed with the API that took it ("A:" or "B:").
   */
  private List<String> quotaRace(ApiHttp a, ApiHttp b, String admin, String image, Connection sql)
      throws Exception {
    String demoProject =
        ApiHttp.JSON
            .readTree(a.send("GET", "/identity/v3/projects?name=demo", admin, null, null).body())
            .path("projects")
            .get(0)
            .path("id")
            .asText();
    ApiHttp.Reply set =
        a.call(
            "PUT",
            "/os-quota-sets/" + demoProject,
            admin,
            null,
            "{\"quota_set\": {\"instances\": " + QUOTA + "}}");
    assertThat(set.status()).as(set.text()).isEqualTo(200);
    String demo = a.token("demo", VirgaApiProcess.DEMO_PW, "demo");
    String body =
        """
        {"server": {"name": "q", "imageRef": "%s", "flavorRef": "1", "networks": "none"}}
        """
            .formatted(image);
    for (ApiHttp via : List.of(a, b)) {
      // both processes have seen the token and served a request before the race
      assertThat(via.call("GET", "/flavors", demo, "2.37", null).status()).isEqualTo(200);
    }
    CountDownLatch go = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(CREATES);
    try {
      List<Future<String>> replies = new ArrayList<>();
      for (int i = 0; i < CREATES; i++) {
        ApiHttp via = i % 2 == 0 ? a : b;
        String tag = i % 2 == 0 ? "A:" : "B:";
        replies.add(
            pool.submit(
                () -> {
                  go.await();
                  ApiHttp.Reply r = via.call("POST", "/servers", demo, "2.37", body);
                  if (r.status() == 202) {
                    return tag + r.json().path("server").path("id").asText();
                  }
                  assertThat(r.status()).as(r.text()).isEqualTo(403);
                  assertThat(r.json().path("forbidden").path("message").asText())
                      .startsWith("Quota exceeded for instances");
                  return "refused";
                }));
      }
      go.countDown();
      List<String> created = new ArrayList<>();
      for (Future<String> f : replies) {
        String r = f.get();
        if (!r.equals("refused")) {
          created.add(r);
        }
      }
      assertThat(created).as("creates that passed the quota of " + QUOTA).hasSize(QUOTA);
      System.out.printf(
          "quota race: %d of %d creates passed, %d through API A, %d through API B%n",
          created.size(),
          CREATES,
          created.stream().filter(c -> c.startsWith("A:")).count(),
          created.stream().filter(c -> c.startsWith("B:")).count());
      try (PreparedStatement ps =
          sql.prepareStatement(
              "SELECT COUNT(*) FROM instances WHERE project_id = ? AND deleted = false")) {
        ps.setString(1, demoProject);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          assertThat(rs.getInt(1)).as("the project's instances").isEqualTo(QUOTA);
        }
      }
      return created;
    } finally {
      pool.shutdownNow();
    }
  }

  private static List<String> concat(List<String> first, List<String> tagged) {
    List<String> out = new ArrayList<>(first);
    tagged.forEach(t -> out.add(t.substring(2)));
    return out;
  }

  /** vm_state/task_state straight from the database (the API's views read the locked table). */
  private static String state(Connection c, String uuid) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement("SELECT vm_state, task_state FROM instances WHERE uuid = ?")) {
      ps.setString(1, uuid);
      try (ResultSet rs = ps.executeQuery()) {
        assertThat(rs.next()).as("row of " + uuid).isTrue();
        return rs.getString(1) + "/" + Optional.ofNullable(rs.getString(2)).orElse("none");
      }
    }
  }

  private static List<String> faults(Connection c, String uuid) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement("SELECT message FROM instance_faults WHERE instance_uuid = ?")) {
      ps.setString(1, uuid);
      List<String> out = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getString(1));
        }
      }
      return out;
    }
  }

  private Path blankQcow2() throws Exception {
    Path file = tmp.resolve("blank.qcow2");
    Process p =
        new ProcessBuilder("qemu-img", "create", "-f", "qcow2", file.toString(), "64M")
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor()).as(out).isZero();
    return file;
  }

  private static void sleepUntil(Instant t) throws InterruptedException {
    long ms = Duration.between(Instant.now(), t).toMillis();
    if (ms > 0) {
      Thread.sleep(ms);
    }
  }
}
