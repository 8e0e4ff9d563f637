package io.virga.server;

import io.virga.core.Config;
import io.virga.multihost.OwnedProcesses;
import io.virga.multihost.PrivateBroker;
import io.virga.rpc.RpcTransports;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Agent memory (bench/README.md, Scale): a control plane with a private RabbitMQ in this JVM, and
 * one real {@code virga agent} process (FakeDriver, or libvirt on the machine's libvirtd: guests of
 * a blank 1 MiB disk, running in their firmware) started with the JVM options {@code up --hosts}
 * gives its agents ({@code agent_java_opts}, or the first argument); prints its RSS idle, after
 * {@code boots} servers forced onto it (in batches of 10) and after deleting them, with the JVM's
 * own native-memory summary when {@code -XX:NativeMemoryTracking=summary} is among the options.
 */
public final class AgentRssBench {
  private AgentRssBench() {}

  public static void main(String[] args) throws Exception {
    String opts = args.length > 0 && !args[0].isBlank() ? args[0] : MultiHostUp.AGENT_JAVA_OPTS;
    int boots = args.length > 1 ? Integer.parseInt(args[1]) : 50;
    String driver = args.length > 2 ? args[2] : "fake";
    OwnedProcesses owned = OwnedProcesses.open(OwnedProcesses.DEFAULT_DIR, "agent-rss-bench");
    Process agent = null;
    try (PrivateBroker broker =
        PrivateBroker.start(
            Files.createTempDirectory("virga-rss-rabbit-"), 0, owned, Duration.ofSeconds(120))) {
      Map<String, String> v = new HashMap<>();
      v.put("home", Files.createTempDirectory("virga-rss-").toString());
      v.put("port", "0");
      v.put("compute_driver", "fake");
      v.put("import_tiny_image", "false");
      v.put("password_hash_cost", "4");
      v.put("transport_url", broker.uri().toString());
      Config config = Config.of(v);
      if (driver.equals("libvirt")) {
        // the machine's libvirtd is shared: domain names (instance-%08x) start at a random id
        VirgaUpProcess.seedInstanceIds(config);
      }
      try (AllInOne cloud = AllInOne.startControlPlane(config, RpcTransports.fromConfig(config))) {
        UpCommand.ensureDefaults(
            cloud,
            config,
            Map.of(
                "VIRGA_ADMIN_PASSWORD", "r-admin",
                "VIRGA_DEMO_PASSWORD", "r-demo",
                "VIRGA_SERVICE_PASSWORD", "r-service"),
            config.home().resolve("clouds.yaml"),
            null);
        agent = startAgent(opts, driver, broker, cloud.api().url(), config.home().resolve("agent"));
        owned.add(agent.toHandle(), "agent");
        ApiHttp http = new ApiHttp(cloud.api().url());
        String token = http.token("admin", "r-admin", "admin");
        cloud
            .compute()
            .quotas()
            .set(
                cloud
                    .identity()
                    .repository()
                    .findProjectByName("default", "admin")
                    .orElseThrow()
                    .id(),
                Map.of("instances", -1L, "cores", -1L, "ram", -1L));
        awaitServices(http, token, agent);
        String image = TransportBench.uploadRaw(http, token, tinyFile());
        Thread.sleep(20_000); // past start-up: JIT, first heartbeats and resource reports
        long idle = rssKiB(agent.pid());
        List<String> ids = new ArrayList<>();
        for (int done = 0; done < boots; done += 10) {
          ids.addAll(boot(http, token, image, Math.min(10, boots - done)));
        }
        awaitCount(http, token, "ACTIVE", boots);
        Thread.sleep(10_000);
        long booted = rssKiB(agent.pid());
        for (String id : ids) {
          http.call("DELETE", "/servers/" + id, token, null, null);
        }
        awaitCount(http, token, null, 0);
        Thread.sleep(10_000);
        long deleted = rssKiB(agent.pid());
        System.out.printf(
            "agent-rss: virga agent (%s driver) with [%s]: RSS idle %d MiB, after %d boots %d"
                + " MiB, after deleting them %d MiB; threads %d%n",
            driver, opts, idle >> 10, boots, booted >> 10, deleted >> 10, threads(agent.pid()));
        if (opts.contains("NativeMemoryTracking")) {
          System.out.println(nmt(agent.pid()));
        }
      }
    } finally {
      if (agent != null) {
        agent.destroy();
        agent.waitFor();
      }
      owned.close();
    }
  }

  private static Process startAgent(
      String opts, String driver, PrivateBroker broker, String apiUrl, Path home) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.add("--enable-native-access=ALL-UNNAMED");
    for (String o : opts.split("\\s+")) {
      if (!o.isBlank()) {
        cmd.add(o);
      }
    }
    cmd.addAll(
        List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "agent"));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    Map<String, String> env = pb.environment();
    env.putAll(MultiHostUp.AGENT_JVM_ENV);
    env.put("VIRGA_HOME", home.toString());
    env.put("VIRGA_COMPUTE_DRIVER", driver);
    if (driver.equals("fake")) {
      env.put("VIRGA_HOST", "rss-agent");
    } else {
      // the machine's libvirtd; guests of a blank disk (they sit in the firmware, running)
      env.put("VIRGA_CONNECTION_URI", "qemu:///system");
      env.put("VIRGA_VIRT_TYPE", "qemu");
      env.put("VIRGA_INSTANCES_PATH", home.resolve("instances").toString());
    }
    env.put("VIRGA_TRANSPORT_URL", broker.uri().toString());
    env.put("VIRGA_IMAGE_API_URL", apiUrl + "/image");
    env.put("VIRGA_AUTH_URL", apiUrl + "/identity/v3");
    env.put("VIRGA_SERVICE_PASSWORD", "r-service");
    try (var free = new java.net.ServerSocket(0)) {
      env.put("VIRGA_METRICS_PORT", Integer.toString(free.getLocalPort())); // as up's agents do
    }
    Files.createDirectories(home);
    pb.redirectErrorStream(true).redirectOutput(home.resolve("agent.log").toFile());
    return pb.start();
  }

  private static void awaitServices(ApiHttp http, String token, Process agent) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
    while (http.call("GET", "/os-services", token, null, null).json().path("services").isEmpty()) {
      if (!agent.isAlive() || System.nanoTime() > deadline) {
        throw new IllegalStateException("the agent did not come up (see its agent.log)");
      }
      Thread.sleep(500);
    }
  }

  private static List<String> boot(ApiHttp http, String token, String image, int n) {
    http.bootMany(token, "r", image, n);
    List<String> ids = new ArrayList<>();
    var all = http.call("GET", "/servers?limit=1000", token, null, null).json().path("servers");
    for (var s : all) {
      ids.add(s.path("id").asText());
    }
    return ids.subList(0, n);
  }

  /** Waits until {@code count} servers have {@code status} (null: any). */
  private static void awaitCount(ApiHttp http, String token, String status, int count)
      throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(300).toNanos();
    while (System.nanoTime() < deadline) {
      int n = 0;
      for (var s :
          http.call("GET", "/servers/detail?limit=1000", token, null, null)
              .json()
              .path("servers")) {
        if (status == null || s.path("status").asText().equals(status)) {
          n++;
        }
      }
      if (n == count) {
        return;
      }
      Thread.sleep(500);
    }
    throw new IllegalStateException("servers did not reach " + count + " × " + status);
  }

  static long rssKiB(long pid) throws Exception {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    throw new IllegalStateException("no VmRSS for " + pid);
  }

  private static long threads(long pid) throws Exception {
    try (var s = Files.list(Path.of("/proc/" + pid + "/task"))) {
      return s.count();
    }
  }

  private static String nmt(long pid) throws Exception {
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    Process p =
        new ProcessBuilder(jcmd.toString(), Long.toString(pid), "VM.native_memory", "summary")
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes());
    p.waitFor();
    return out;
  }

  private static Path tinyFile() throws Exception {
    Path img = Files.createTempFile("virga-rss-", ".img");
    Files.write(img, new byte[1024 * 1024]);
    return img;
  }
}
