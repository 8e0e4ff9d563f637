package io.virga.server;

import io.virga.core.Config;
import io.virga.db.PostgresFixture;
import io.virga.multihost.OwnedProcesses;
import io.virga.multihost.PrivateBroker;
import io.virga.rpc.RpcTransports;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Scale run (bench/README.md): one control plane on PostgreSQL + RabbitMQ, {@code hosts} FakeDriver
 * agents (in a second JVM, {@link ScaleAgents}, each on its own AMQP connection as a {@code virga
 * agent} would be), {@code servers} boots submitted 50 per request; prints boots scheduled to
 * ACTIVE per second (after a warm-up round) and the p50/p99 of {@code GET /servers} pages once all
 * exist.
 */
public final class ScaleBench {
  private ScaleBench() {}

  public static void main(String[] args) throws Exception {
    int hosts = args.length > 0 ? Integer.parseInt(args[0]) : 100;
    int servers = args.length > 1 ? Integer.parseInt(args[1]) : 2000;
    OwnedProcesses owned = OwnedProcesses.open(OwnedProcesses.DEFAULT_DIR, "scale-bench");
    List<AutoCloseable> stack = new ArrayList<>();
    try (PostgresFixture pg = PostgresFixture.start();
        PrivateBroker broker =
            PrivateBroker.start(
                Files.createTempDirectory("virga-scale-rabbit-"),
                0,
                owned,
                Duration.ofSeconds(120))) {
      try {
        run(hosts, servers, pg, broker, stack);
      } finally {
        // agents and the control plane before the broker and the database they use
        ScaleAgents.closeInReverse(stack);
      }
    } finally {
      owned.close();
    }
  }

  private static void run(
      int hosts, int servers, PostgresFixture pg, PrivateBroker broker, List<AutoCloseable> stack)
      throws Exception {
    {
      Map<String, String> v = new HashMap<>();
      v.put("home", Files.createTempDirectory("virga-scale-").toString());
      v.put("port", "0");
      v.put("compute_driver", "fake");
      v.put("import_tiny_image", "false");
      v.put("password_hash_cost", "4");
      v.put("transport_url", broker.uri().toString());
      String database = pg.createDatabase();
      v.put("database_url", pg.jdbcUrl(database));
      v.put("database_user", "postgres");
      v.put("database_password", "");
      v.put("database_pool_size", "16");
      Config config = Config.of(v);
      AllInOne cloud = AllInOne.startControlPlane(config, RpcTransports.fromConfig(config));
      stack.add(cloud);
      UpCommand.ensureDefaults(
          cloud,
          config,
          Map.of(
              "VIRGA_ADMIN_PASSWORD",
              "s-admin",
              "VIRGA_DEMO_PASSWORD",
              "s-demo",
              "VIRGA_SERVICE_PASSWORD",
              SERVICE_PASSWORD),
          config.home().resolve("clouds.yaml"),
          null);
      Process agents = startAgents(hosts, broker.uri().toString(), cloud.api().url().toString());
      stack.add(
          () -> {
            agents.getOutputStream().close(); // its cue to stop its agents
            if (!agents.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) {
              agents.destroyForcibly();
            }
          });
      ApiHttp http = new ApiHttp(cloud.api().url());
      String token = http.token("admin", "s-admin", "admin");
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
      while (http.call("GET", "/os-services", token, null, null).json().path("services").size()
          < hosts) {
        Thread.sleep(500);
      }
      String image = TransportBench.uploadRaw(http, token, tinyFile());
      var counts = cloud.compute().instances();
      warmUp(http, token, image, counts, warmUpServers(hosts));
      long agentsPid = agents.pid();
      double[] cpu0 = cpuSeconds(pg.port(), agentsPid);
      double load0 = loadAverage();
      boolean pgStats = System.getenv("VIRGA_BENCH_PG_STATS") != null;
      if (pgStats) {
        pgStatements(pg, database, "create extension if not exists pg_stat_statements");
        pgStatements(pg, database, "select pg_stat_statements_reset()");
      }
      long t0 = System.nanoTime();
      // polled every 500 ms from the first POST: when every instance has a host (scheduled), when
      // all
      // ACTIVE (the poll is the bench's own load on PostgreSQL: every 200 ms it was a sixth of it)
      java.util.concurrent.atomic.AtomicLong scheduledAt =
          new java.util.concurrent.atomic.AtomicLong();
      java.util.concurrent.CompletableFuture<Long> activeAt =
          java.util.concurrent.CompletableFuture.supplyAsync(
              () -> {
                while (true) {
                  var byHost = counts.countByHostAndState();
                  int placed = 0;
                  int active = 0;
                  for (var e : byHost.entrySet()) {
                    if (!e.getKey().isEmpty()) {
                      placed += e.getValue().values().stream().mapToInt(Integer::intValue).sum();
                    }
                    active += e.getValue().getOrDefault("active", 0);
                  }
                  long now = System.nanoTime();
                  if (placed >= servers) {
                    scheduledAt.compareAndSet(0, now);
                  }
                  if (active >= servers) {
                    return now;
                  }
                  try {
                    Thread.sleep(500);
                  } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                  }
                }
              });
      submit(http, token, image, servers);
      long submitted = System.nanoTime();
      double secs = (activeAt.get() - t0) / 1e9;
      double scheduledSecs = (scheduledAt.get() - t0) / 1e9;
      double[] cpu1 = cpuSeconds(pg.port(), agentsPid);
      double load1 = loadAverage();
      if (pgStats) {
        pgStatements(
            pg,
            database,
            "select calls || ' calls, ' || round(total_exec_time::numeric, 0) || ' ms: '"
                + " || left(regexp_replace(query, '\\s+', ' ', 'g'), 160)"
                + " from pg_stat_statements order by total_exec_time desc limit 30");
      }
      // at once, while the agents still send the boots' reports, then settled: the agents back to
      // their heartbeats after one report_interval (10 s) and a margin (VIRGA_BENCH_SETTLE)
      List<Long> lat = latencies(http, token, "/servers?limit=1000");
      String marker = lastButOnePage(http, token);
      long settle = Long.parseLong(System.getenv().getOrDefault("VIRGA_BENCH_SETTLE", "15"));
      Thread.sleep(settle * 1000);
      System.out.printf(
          "scale: listing %d servers, %d s after the last boot (load average %.1f):%n",
          servers, settle, loadAverage());
      for (String q :
          List.of(
              "/servers?limit=1000",
              "/servers/detail?limit=1000",
              "/servers?limit=100",
              "/servers/detail?limit=100",
              "/servers?limit=100&marker=" + marker)) {
        List<Long> l = latencies(http, token, q);
        System.out.printf(
            "scale: GET %s p50 %.1f ms, p99 %.1f ms%n",
            q.replaceAll("marker=.*", "marker=<near the end>"), l.get(50) / 1e6, l.get(98) / 1e6);
      }
      Runtime rt = Runtime.getRuntime();
      System.gc();
      System.out.printf(
          "scale: %d FakeDriver hosts, %d servers: submitted in %.1f s, all scheduled (a host"
              + " each) after %.1f s = %.1f scheduled/s, all ACTIVE after %.1f s = %.1f boots/s;"
              + " CPU during the boots: API JVM %.1f s, agents JVM %.1f s, PostgreSQL %.1f s,"
              + " RabbitMQ %.1f s = %.1f ms per boot (%.1f without the agents); load average %.1f"
              + " -> %.1f;"
              + " GET /servers (1,000 per page) right after the last boot p50 %.1f ms, p99 %.1f"
              + " ms; API heap used after GC"
              + " %d MiB%n",
          hosts,
          servers,
          (submitted - t0) / 1e9,
          scheduledSecs,
          servers / scheduledSecs,
          secs,
          servers / secs,
          cpu1[0] - cpu0[0],
          cpu1[1] - cpu0[1],
          cpu1[2] - cpu0[2],
          cpu1[3] - cpu0[3],
          1000
              * (cpu1[0] - cpu0[0] + cpu1[1] - cpu0[1] + cpu1[2] - cpu0[2] + cpu1[3] - cpu0[3])
              / servers,
          1000 * (cpu1[0] - cpu0[0] + cpu1[2] - cpu0[2] + cpu1[3] - cpu0[3]) / servers,
          load0,
          load1,
          lat.get(50) / 1e6,
          lat.get(98) / 1e6,
          (rt.totalMemory() - rt.freeMemory()) >> 20);
    }
  }

  /** Boots {@code servers} by requests of up to 50 (min_count = max_count), as fast as accepted. */
  private static void submit(ApiHttp http, String token, String image, int servers) {
    for (int done = 0; done < servers; done += 50) {
      http.bootMany(token, "s", image, Math.min(50, servers - done));
    }
  }

  /** {@code VIRGA_BENCH_WARMUP} servers (default one per host), 0 for none. */
  private static int warmUpServers(int hosts) {
    return Integer.parseInt(
        System.getenv().getOrDefault("VIRGA_BENCH_WARMUP", Integer.toString(hosts)));
  }

  /**
   * The warm-up round: boots {@code n} servers and deletes them all again before the measured run,
   * so that its figures are of a running control plane and running agents — not of the JVMs'
   * just-in-time compilation and each agent's first threads, which a deployment pays once at start.
   */
  private static void warmUp(
      ApiHttp http, String token, String image, io.virga.db.InstanceRepository counts, int n)
      throws Exception {
    if (n <= 0) {
      return;
    }
    long w0 = System.nanoTime();
    submit(http, token, image, n);
    while (liveCount(counts, "active") < n) {
      Thread.sleep(200);
    }
    double booted = (System.nanoTime() - w0) / 1e9;
    // the list views too, as a running API has served them: 50 of each page the run measures
    for (String q :
        List.of("/servers?limit=1000", "/servers/detail?limit=1000", "/servers/detail?limit=100")) {
      for (int i = 0; i < 50; i++) {
        http.call("GET", q, token, null, null);
      }
    }
    for (String id : serverIds(http, token)) {
      var r = http.call("DELETE", "/servers/" + id, token, null, null);
      if (r.status() != 204) {
        throw new IllegalStateException("delete: " + r.status() + " " + r.text());
      }
    }
    while (liveCount(counts, null) > 0) {
      Thread.sleep(200);
    }
    System.out.printf(
        "scale: warm-up: %d servers ACTIVE after %.1f s, all deleted after %.1f s%n",
        n, booted, (System.nanoTime() - w0) / 1e9);
  }

  /** Live instances in {@code state} (any state when null). */
  private static int liveCount(io.virga.db.InstanceRepository counts, String state) {
    int n = 0;
    for (var byState : counts.countByHostAndState().values()) {
      for (var e : byState.entrySet()) {
        if (state == null || state.equals(e.getKey())) {
          n += e.getValue();
        }
      }
    }
    return n;
  }

  private static List<String> serverIds(ApiHttp http, String token) {
    List<String> ids = new ArrayList<>();
    String marker = null;
    while (true) {
      var page =
          http.call(
                  "GET",
                  "/servers?limit=1000" + (marker == null ? "" : "&marker=" + marker),
                  token,
                  null,
                  null)
              .json()
              .path("servers");
      if (page.isEmpty()) {
        return ids;
      }
      page.forEach(s -> ids.add(s.path("id").asText()));
      marker = ids.get(ids.size() - 1);
    }
  }

  /** 100 requests of {@code query}, one after another: their latencies in nanoseconds, sorted. */
  /** VIRGA_BENCH_PG_STATS: one statement on the bench's database, its rows printed. */
  private static void pgStatements(PostgresFixture pg, String database, String sql)
      throws Exception {
    try (var c = java.sql.DriverManager.getConnection(pg.jdbcUrl(database), "postgres", "");
        var st = c.createStatement()) {
      if (st.execute(sql)) {
        try (var rs = st.getResultSet()) {
          while (rs.next()) {
            System.out.println("scale:   pg " + rs.getString(1));
          }
        }
      }
    }
  }

  private static List<Long> latencies(ApiHttp http, String token, String query) {
    List<Long> l = new ArrayList<>();
    List<Long> at = new ArrayList<>(); // JVM uptime at each call's start, to match GC and JIT logs
    for (int i = 0; i < 100; i++) {
      at.add(java.lang.management.ManagementFactory.getRuntimeMXBean().getUptime());
      long s = System.nanoTime();
      var r = http.call("GET", query, token, null, null);
      if (r.status() != 200) {
        throw new IllegalStateException(query + ": " + r.status() + " " + r.text());
      }
      l.add(System.nanoTime() - s);
    }
    // which calls were the slow ones: the first few (code not yet compiled) or any (interference)
    List<Integer> order =
        new ArrayList<>(java.util.stream.IntStream.range(0, 100).boxed().toList());
    order.sort((a, b) -> Long.compare(l.get(b), l.get(a)));
    StringBuilder slowest = new StringBuilder();
    for (int i : order.subList(0, 5)) {
      slowest.append(
          String.format(" #%d %.1f ms (at %.3f s)", i + 1, l.get(i) / 1e6, at.get(i) / 1e3));
    }
    System.out.printf("scale:   the five slowest of the 100 in call order:%s%n", slowest);
    Collections.sort(l);
    return l;
  }

  private static final String SERVICE_PASSWORD = "s-service";

  /**
   * {@link ScaleAgents} in a JVM of its own (options from {@code VIRGA_BENCH_AGENTS_JAVA_OPTS},
   * default {@code -Xmx3g -Xss512k}), its output going to this one's; returns once all started.
   */
  private static Process startAgents(int hosts, String transportUrl, String apiUrl)
      throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElseThrow());
    cmd.add("--enable-native-access=ALL-UNNAMED");
    String opts = System.getenv().getOrDefault("VIRGA_BENCH_AGENTS_JAVA_OPTS", "-Xmx3g -Xss512k");
    cmd.addAll(List.of(opts.trim().split("\\s+")));
    String logback = System.getProperty("logback.configurationFile");
    if (logback != null) {
      cmd.add("-Dlogback.configurationFile=" + logback);
    }
    cmd.addAll(
        List.of(
            "-cp",
            System.getProperty("java.class.path"),
            ScaleAgents.class.getName(),
            Integer.toString(hosts),
            transportUrl,
            apiUrl));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
    pb.environment().put("VIRGA_SERVICE_PASSWORD", SERVICE_PASSWORD);
    Process p = pb.start();
    var out =
        new java.io.BufferedReader(
            new java.io.InputStreamReader(
                p.getInputStream(), java.nio.charset.StandardCharsets.UTF_8));
    String line;
    while ((line = out.readLine()) != null) {
      System.out.println("agents: " + line);
      if (line.startsWith("agents started")) {
        Thread drain =
            new Thread(
                () -> {
                  try {
                    out.transferTo(java.io.Writer.nullWriter());
                  } catch (java.io.IOException e) {
                    // the agents ended
                  }
                });
        drain.setDaemon(true);
        drain.start();
        return p;
      }
    }
    throw new IllegalStateException("the agents' JVM ended before starting: " + p.waitFor());
  }

  private static java.nio.file.Path tinyFile() throws Exception {
    java.nio.file.Path img = Files.createTempFile("virga-scale-", ".img");
    Files.write(img, new byte[1024 * 1024]);
    return img;
  }

  /** The marker that leaves one page of 100 after it. */
  private static String lastButOnePage(ApiHttp http, String token) {
    List<String> ids = serverIds(http, token);
    return ids.get(Math.max(0, ids.size() - 101));
  }

  /**
   * CPU seconds (user + system) of this JVM (the API), of the agents' JVM, of the database server
   * (its postmaster, found by its port, daemonised, with its backends) and of the broker (the other
   * descendants of this JVM).
   */
  private static double[] cpuSeconds(int pgPort, long agentsPid) {
    double self = ticks(ProcessHandle.current().pid());
    double agents = ticks(agentsPid);
    double broker =
        ProcessHandle.current()
            .descendants()
            .filter(p -> p.pid() != agentsPid)
            .mapToDouble(p -> ticks(p.pid()))
            .sum();
    double database = 0;
    try (var procs = Files.list(java.nio.file.Path.of("/proc"))) {
      for (java.nio.file.Path p : procs.toList()) {
        String cmd;
        try {
          cmd = Files.readString(p.resolve("cmdline")).replace('\0', ' ');
        } catch (Exception e) {
          continue;
        }
        if (cmd.contains("postgres") && cmd.contains("-p " + pgPort + " ")) {
          ProcessHandle pm = ProcessHandle.of(Long.parseLong(p.getFileName().toString())).get();
          database += ticks(pm.pid()) + pm.descendants().mapToDouble(c -> ticks(c.pid())).sum();
        }
      }
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    return new double[] {self / 100.0, agents / 100.0, database / 100.0, broker / 100.0};
  }

  /** utime + stime of a process from /proc (clock ticks, 100 per second on Linux). */
  private static double ticks(long pid) {
    try {
      String stat = Files.readString(java.nio.file.Path.of("/proc/" + pid + "/stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    } catch (Exception e) {
      return 0;
    }
  }

  private static double loadAverage() {
    return java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
  }
}
