package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.virga.core.Config;
import io.virga.db.Database;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Snapshots through the stock {@code openstack} CLI against {@code virga up} (built jar, real
 * libvirt driver, the tiny guest): live while the guest's TICK counter runs, of a stopped, paused
 * and suspended server, booting from the result, checksum against {@code image save}, and an upload
 * the store refuses (its directory is a small tmpfs filled up). Steps run in order on one server.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SnapshotCliIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern TICK = Pattern.compile("TICK (\\d+)");

  Path home;
  Path images;
  Path clouds;
  Path log;
  int port;
  Process up;
  String marker = "h7-" + UUID.randomUUID().toString().substring(0, 8);
  String serverId;
  String domain;
  String liveImage;
  final Set<String> servers = new LinkedHashSet<>();
  final Set<String> domains = new LinkedHashSet<>();

  @BeforeAll
  void startVirga() throws Exception {
    home = Files.createTempDirectory("virga-snap-it-");
    images = home.resolve("images");
    Files.createDirectories(images);
    // the image store on its own small filesystem, so a test can fill it up
    assertThat(
            run(List.of("mount", "-t", "tmpfs", "-o", "size=256m", "tmpfs", images.toString()))
                .rc())
        .isZero();
    clouds = home.resolve("clouds.yaml");
    log = home.resolve("up.log");
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    // libvirtd is shared: start this run's domain names (instance-%08x) at a random id
    try (Database db = Database.open(Config.of(Map.of("home", home.toString())))) {
      long start = 0x10000000L + ThreadLocalRandom.current().nextLong(0x6fffffffL);
      db.useTransaction(
          h ->
              h.createUpdate(
                      "UPDATE compute_id_counters SET next_value = :v WHERE name = 'instances'")
                  .bind("v", start)
                  .execute());
    }
    String java = ProcessHandle.current().info().command().orElse("java");
    Path jar =
        Path.of(System.getProperty("virga.repo", "..")).resolve("virga-server/target/virga.jar");
    assertThat(jar).exists();
    ProcessBuilder pb =
        new ProcessBuilder(
            java,
            "-jar",
            jar.toString(),
            "up",
            "--port",
            Integer.toString(port),
            "--clouds-yaml",
            clouds.toString());
    Map<String, String> env = pb.environment();
    env.put("VIRGA_HOME", home.toString());
    env.put("VIRGA_ADMIN_PASSWORD", "it-admin-pw");
    env.put("VIRGA_DEMO_PASSWORD", "it-demo-pw");
    pb.redirectErrorStream(true);
    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    up = pb.start();
    Instant deadline = Instant.now().plusSeconds(180);
    while (!logText().contains("Virga is up on http://127.0.0.1:" + port)) {
      if (!up.isAlive() || Instant.now().isAfter(deadline)) {
        throw new AssertionError("virga up did not come up:\n" + logText());
      }
      Thread.sleep(200);
    }
  }

  @AfterAll
  void stopVirga() throws Exception {
    try {
      if (up != null && up.isAlive()) {
        for (String s : servers) {
          cli("server", "delete", "--wait", s);
        }
        up.destroy();
        up.waitFor(60, TimeUnit.SECONDS);
      }
    } finally {
      for (String d : domains) {
        run(List.of("virsh", "destroy", d));
        run(List.of("virsh", "undefine", "--managed-save", d));
      }
      run(List.of("umount", images.toString()));
      try (Stream<Path> walk = Files.walk(home)) {
        walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  @Test
  @Order(1)
  void aRunningServerIsSnapshottedLiveWhileItsCounterKeepsTicking() throws Exception {
    Path userData = home.resolve("user-data");
    Files.writeString(userData, "#!/bin/sh\nvirga-marker write " + marker + "\n");
    JsonNode s =
        ok(
                "--os-compute-api-version",
                "2.37",
                "server",
                "create",
                "--image",
                UpDefaults.TINY_IMAGE,
                "--flavor",
                "v1.tiny",
                "--nic",
                "none",
                "--config-drive",
                "true",
                "--user-data",
                userData.toString(),
                "--wait",
                "snap-it-vm",
                "-f",
                "json")
            .json();
    serverId = s.path("id").asText();
    servers.add(serverId);
    domain = s.path("OS-EXT-SRV-ATTR:instance_name").asText();
    domains.add(domain);
    awaitConsole(serverId, "VIRGA-MARKER-WRITTEN " + marker);
    int before = awaitTicksPast(serverId, 2);

    // watch the domain's state while the CLI snapshots it: the live path never pauses it
    AtomicBoolean watching = new AtomicBoolean(true);
    Set<String> seen = java.util.concurrent.ConcurrentHashMap.newKeySet();
    Thread watcher =
        Thread.ofPlatform()
            .start(
                () -> {
                  while (watching.get()) {
                    seen.add(virsh("domstate", domain));
                    sleep(50);
                  }
                });
    Instant t0 = Instant.now();
    JsonNode img;
    try {
      img =
          ok("server", "image", "create", "--name", "snap-live", "--wait", serverId, "-f", "json")
              .json();
    } finally {
      watching.set(false);
      watcher.join();
    }
    Duration took = Duration.between(t0, Instant.now());
    liveImage = img.path("id").asText();
    System.out.printf("live snapshot through the CLI (--wait): %d ms%n", took.toMillis());
    assertThat(seen).as("domain states during the live snapshot").containsOnly("running");
    int after = awaitTicksPast(serverId, before + 1);
    List<Integer> ticks = ticks(console(serverId));
    // one counter, never reset: every value from the first to the last, in order
    assertThat(ticks).isSortedAccordingTo(Comparator.naturalOrder());
    assertThat(ticks.get(ticks.size() - 1) - ticks.get(0) + 1).isEqualTo(ticks.size());
    assertThat(after).isGreaterThan(before);
    awaitStatus(serverId, "ACTIVE");
  }

  @Test
  @Order(2)
  void theSnapshotImageHasNovasPropertiesAndTheChecksumOfItsBytes() throws Exception {
    JsonNode img = ok("image", "show", liveImage, "-f", "json").json();
    assertThat(img.path("status").asText()).isEqualTo("active");
    assertThat(img.path("visibility").asText()).isEqualTo("private");
    assertThat(img.path("disk_format").asText()).isEqualTo("qcow2");
    assertThat(img.path("container_format").asText()).isEqualTo("bare");
    assertThat(img.path("min_disk").asInt()).isEqualTo(1);
    JsonNode props = img.path("properties");
    assertThat(props.path("image_type").asText()).isEqualTo("snapshot");
    assertThat(props.path("instance_uuid").asText()).isEqualTo(serverId);
    String tiny =
        ok("image", "show", UpDefaults.TINY_IMAGE, "-f", "json").json().path("id").asText();
    assertThat(props.path("base_image_ref").asText()).isEqualTo(tiny);
    assertThat(props.path("owner_project_name").asText()).isEqualTo("admin");
    Path saved = home.resolve("saved.qcow2");
    ok("image", "save", "--file", saved.toString(), liveImage);
    byte[] bytes = Files.readAllBytes(saved);
    String md5 = HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(bytes));
    assertThat(img.path("checksum").asText()).isEqualTo(md5);
    assertThat(img.path("size").asLong()).isEqualTo(bytes.length);
    Files.delete(saved);
  }

  @Test
  @Order(3)
  void stoppedPausedAndSuspendedServersReturnToTheirState() throws Exception {
    String[][] steps = {
      {"stop", "SHUTOFF", "shut off", "start"},
      {"pause", "PAUSED", "paused", "unpause"},
      {"suspend", "SUSPENDED", "shut off", "resume"},
    };
    for (String[] step : steps) {
      ok("server", step[0], serverId);
      awaitStatus(serverId, step[1]);
      Instant t0 = Instant.now();
      JsonNode img =
          ok(
                  "server",
                  "image",
                  "create",
                  "--name",
                  "snap-" + step[0],
                  "--wait",
                  serverId,
                  "-f",
                  "json")
              .json();
      System.out.printf(
          "snapshot of a %s server through the CLI (--wait): %d ms%n",
          step[1], Duration.between(t0, Instant.now()).toMillis());
      assertThat(img.path("status").asText()).isEqualTo("active");
      awaitStatus(serverId, step[1]);
      assertThat(virsh("domstate", domain)).as(step[0]).isEqualTo(step[2]);
      ok("server", step[3], serverId);
      awaitStatus(serverId, "ACTIVE");
    }
  }

  @Test
  @Order(4)
  void aServerBootedFromTheSnapshotCarriesTheOriginalsDisk() throws Exception {
    JsonNode s =
        ok(
                "--os-compute-api-version",
                "2.37",
                "server",
                "create",
                "--image",
                liveImage,
                "--flavor",
                "v1.tiny",
                "--nic",
                "none",
                "--wait",
                "snap-it-copy",
                "-f",
                "json")
            .json();
    String copy = s.path("id").asText();
    servers.add(copy);
    domains.add(s.path("OS-EXT-SRV-ATTR:instance_name").asText());
    awaitConsole(copy, "VIRGA-MARKER " + marker);
    ok("server", "delete", "--wait", copy);
    servers.remove(copy);
  }

  @Test
  @Order(5)
  void anUploadTheStoreRefusesLeavesTheServerAsItWasAndNoImage() throws Exception {
    // fill the store's filesystem to within 256 KiB: the snapshot's upload cannot be written
    long free = Files.getFileStore(images).getUsableSpace();
    Path filler = images.resolve(".filler");
    assertThat(
            run(List.of("fallocate", "-l", Long.toString(free - 256 * 1024), filler.toString()))
                .rc())
        .isZero();
    try {
      Result r = cli("server", "image", "create", "--name", "snap-full", "--wait", serverId);
      assertThat(r.rc()).as("image create on a full store: %s", r.out()).isNotZero();
    } finally {
      Files.delete(filler);
    }
    awaitStatus(serverId, "ACTIVE");
    assertThat(virsh("domstate", domain)).isEqualTo("running");
    String all = ok("image", "list", "--long", "-f", "value", "-c", "Name", "-c", "Status").out();
    assertThat(all).contains("snap-live active").doesNotContain("snap-full");
    try (Stream<Path> left = Files.list(home.resolve("instances").resolve("snapshots"))) {
      assertThat(left).as("temporary snapshot files").isEmpty();
    }
    // and the store works again once there is room
    JsonNode img =
        ok("server", "image", "create", "--name", "snap-again", "--wait", serverId, "-f", "json")
            .json();
    assertThat(img.path("status").asText()).isEqualTo("active");
  }

  @Test
  @Order(6)
  void deletingTheServerLeavesNoSnapshotFiles() throws Exception {
    ok("server", "delete", "--wait", serverId);
    servers.remove(serverId);
    try (Stream<Path> left = Files.list(home.resolve("instances").resolve("snapshots"))) {
      assertThat(left).isEmpty();
    }
    assertThat(home.resolve("instances").resolve(serverId)).doesNotExist();
    String statuses = ok("image", "list", "-f", "value", "-c", "Status").out();
    assertThat(statuses).doesNotContain("queued").doesNotContain("saving");
    assertThat(logText()).doesNotContain("it-admin-pw");
  }

  // ---- helpers

  record Result(int rc, String out, String err) {
    JsonNode json() {
      try {
        return JSON.readTree(out);
      } catch (IOException e) {
        throw new AssertionError("not JSON (rc " + rc + "): " + out + err, e);
      }
    }
  }

  Result run(List<String> cmd) {
    return run(cmd, Map.of());
  }

  Result run(List<String> cmd, Map<String, String> env) {
    try {
      ProcessBuilder pb = new ProcessBuilder(cmd);
      pb.environment().putAll(env);
      Path out = Files.createTempFile("snap-it-out", ".txt");
      Path err = Files.createTempFile("snap-it-err", ".txt");
      pb.redirectOutput(out.toFile());
      pb.redirectError(err.toFile());
      Process p = pb.start();
      if (!p.waitFor(300, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError("timed out: " + cmd);
      }
      Result r = new Result(p.exitValue(), Files.readString(out), Files.readString(err));
      Files.delete(out);
      Files.delete(err);
      return r;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  Result cli(String... args) {
    List<String> cmd = new ArrayList<>(List.of("openstack", "--os-cloud", "virga"));
    cmd.addAll(List.of(args));
    return run(cmd, Map.of("OS_CLIENT_CONFIG_FILE", clouds.toString()));
  }

  Result ok(String... args) {
    Result r = cli(args);
    assertThat(r.rc()).as("openstack %s: %s", String.join(" ", args), r.err()).isZero();
    return r;
  }

  String virsh(String... args) {
    List<String> cmd = new ArrayList<>(List.of("virsh"));
    cmd.addAll(List.of(args));
    Result r = run(cmd);
    return r.rc() == 0 ? r.out().strip() : "";
  }

  String logText() {
    try {
      return Files.exists(log) ? Files.readString(log) : "";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  String console(String id) {
    return ok("console", "log", "show", id).out();
  }

  void awaitConsole(String id, String text) {
    Instant deadline = Instant.now().plusSeconds(120);
    String out = "";
    while (Instant.now().isBefore(deadline)) {
      out = console(id);
      if (out.contains(text)) {
        return;
      }
      sleep(1000);
    }
    throw new AssertionError("no '" + text + "' in the console log:\n" + out);
  }

  static List<Integer> ticks(String console) {
    List<Integer> out = new ArrayList<>();
    Matcher m = TICK.matcher(console);
    while (m.find()) {
      out.add(Integer.parseInt(m.group(1)));
    }
    return out;
  }

  /** Waits until the console shows a TICK above {@code n}; returns the highest. */
  int awaitTicksPast(String id, int n) {
    Instant deadline = Instant.now().plusSeconds(60);
    while (Instant.now().isBefore(deadline)) {
      List<Integer> t = ticks(console(id));
      if (!t.isEmpty() && t.get(t.size() - 1) > n) {
        return t.get(t.size() - 1);
      }
      sleep(500);
    }
    throw new AssertionError("the guest's counter did not pass " + n);
  }

  void awaitStatus(String id, String status) {
    Instant deadline = Instant.now().plusSeconds(120);
    JsonNode s = null;
    while (Instant.now().isBefore(deadline)) {
      s = ok("server", "show", id, "-f", "json").json();
      if (s.path("status").asText().equals(status) && s.path("OS-EXT-STS:task_state").isNull()) {
        return;
      }
      sleep(500);
    }
    throw new AssertionError("server did not reach " + status + ": " + s);
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
