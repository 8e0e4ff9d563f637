package io.virga.server;

import io.virga.core.Config;
import io.virga.multihost.OwnedProcesses;
import io.virga.multihost.PrivateBroker;
import io.virga.rpc.Rpc;
import io.virga.rpc.RpcTransport;
import io.virga.rpc.RpcTransports;
import io.virga.virt.FakeDriver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Transport benchmark (bench/README.md, "RabbitMQ against in-process"): {@code POST /servers} →
 * ACTIVE through the control plane and one FakeDriver agent, once with in-process RPC ({@code virga
 * up}) and once over a real RabbitMQ with the agent on its own connection (as {@code virga agent}),
 * interleaved in the same run. The FakeDriver spawns at once, so the figures are the control
 * plane's own time and the difference is what the broker adds to every boot.
 */
public final class TransportBench {
  private TransportBench() {}

  record Side(String name, String url, String token, String image, AutoCloseable stop) {}

  public static void main(String[] args) throws Exception {
    int runs = args.length > 0 ? Integer.parseInt(args[0]) : 30;
    boolean libvirt = args.length > 1 && args[1].equals("libvirt");
    OwnedProcesses owned = OwnedProcesses.open(OwnedProcesses.DEFAULT_DIR, "transport-bench");
    PrivateBroker broker =
        PrivateBroker.start(
            Files.createTempDirectory("virga-bench-rabbit-"), 0, owned, Duration.ofSeconds(120));
    Side inProcess = inProcess(libvirt);
    Side rabbit = rabbit(broker, libvirt);
    try {
      for (Side s : List.of(inProcess, rabbit)) {
        boot(s); // warm-up: JIT, connections, the image row cache
      }
      List<Long> a = new ArrayList<>();
      List<Long> b = new ArrayList<>();
      for (int i = 0; i < runs; i++) {
        if (i % 2 == 0) {
          a.add(boot(inProcess));
          b.add(boot(rabbit));
        } else {
          b.add(boot(rabbit));
          a.add(boot(inProcess));
        }
      }
      long ma = median(a);
      long mb = median(b);
      System.out.printf(
          "create->ACTIVE, %s, %d interleaved runs: in-process median %.1f ms,"
              + " RabbitMQ median %.1f ms, ratio %.2fx, broker adds %.1f ms per boot; load %s%n",
          libvirt ? "libvirt (tiny guest, booted)" : "FakeDriver",
          runs,
          ma / 1e6,
          mb / 1e6,
          (double) mb / ma,
          (mb - ma) / 1e6,
          Files.readString(Path.of("/proc/loadavg")).trim());
    } finally {
      inProcess.stop().close();
      rabbit.stop().close();
      broker.close();
      owned.close();
    }
  }

  /**
   * FakeDriver, or (libvirt) the machine's libvirtd with the tiny guest image, TCG unless
   * VIRGA_VIRT_TYPE says otherwise, instance ids seeded apart (the two sides share the libvirtd).
   */
  private static Map<String, String> settings(String name, boolean libvirt) throws Exception {
    Map<String, String> v = new HashMap<>();
    v.put("home", Files.createTempDirectory("virga-bench-" + name + "-").toString());
    v.put("port", "0");
    v.put("password_hash_cost", "4");
    if (libvirt) {
      v.put("virt_type", System.getenv().getOrDefault("VIRGA_VIRT_TYPE", "qemu"));
    } else {
      v.put("compute_driver", "fake");
      v.put("import_tiny_image", "false");
    }
    return v;
  }

  private static Config seeded(Map<String, String> v, boolean libvirt) {
    Config config = Config.of(v);
    if (libvirt) {
      VirgaUpProcess.seedInstanceIds(config);
    }
    return config;
  }

  private static Side inProcess(boolean libvirt) throws Exception {
    Config config = seeded(settings("inproc", libvirt), libvirt);
    UpCommand.Running up =
        UpCommand.start(
            config,
            Map.of("VIRGA_ADMIN_PASSWORD", "b-admin", "VIRGA_DEMO_PASSWORD", "b-demo"),
            config.home().resolve("clouds.yaml"),
            null,
            new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
    return side("in-process", up.cloud(), up.cloud(), libvirt);
  }

  private static Side rabbit(PrivateBroker broker, boolean libvirt) throws Exception {
    Map<String, String> v = settings("rabbit", libvirt);
    v.put("transport_url", broker.uri().toString());
    Config config = seeded(v, libvirt);
    AllInOne cloud = AllInOne.startControlPlane(config, RpcTransports.fromConfig(config));
    UpCommand.ensureDefaults(
        cloud,
        config,
        Map.of("VIRGA_ADMIN_PASSWORD", "b-admin", "VIRGA_DEMO_PASSWORD", "b-demo"),
        config.home().resolve("clouds.yaml"),
        null);
    RpcTransport agentSide = RpcTransports.fromConfig(config); // its own connection, as a process
    AgentRuntime agent =
        AgentRuntime.start(
            libvirt ? AllInOne.driverFor(config) : new FakeDriver("bench-host", 64, 1 << 20, 10000),
            Rpc.conductor(agentSide),
            agentSide,
            AllInOne.inProcessImages(cloud.images()),
            config);
    return side(
        "rabbitmq",
        cloud,
        () -> {
          agent.close();
          agentSide.close();
          cloud.close();
        },
        libvirt);
  }

  private static Side side(String name, AllInOne cloud, AutoCloseable stop, boolean libvirt)
      throws Exception {
    ApiHttp http = new ApiHttp(cloud.api().url());
    String token = http.token("admin", "b-admin", "admin");
    cloud
        .compute()
        .quotas()
        .set(
            cloud.identity().repository().findProjectByName("default", "admin").orElseThrow().id(),
            Map.of("instances", -1L, "cores", -1L, "ram", -1L));
    String image;
    if (libvirt) {
      String admin =
          cloud.identity().repository().findProjectByName("default", "admin").orElseThrow().id();
      image =
          UpDefaults.activeImage(cloud.images(), admin, UpDefaults.TINY_IMAGE).orElseThrow().id();
    } else {
      Path img = Files.createTempFile("virga-bench-", ".img");
      Files.write(img, new byte[1024 * 1024]);
      image = uploadRaw(http, token, img);
    }
    return new Side(name, cloud.api().url(), token, image, stop);
  }

  static String uploadRaw(ApiHttp http, String token, Path file) {
    var c =
        http.send(
            "POST",
            "/image/v2/images",
            token,
            null,
            "{\"name\": \"bench\", \"disk_format\": \"raw\", \"container_format\": \"bare\"}");
    try {
      String id = ApiHttp.JSON.readTree(c.body()).path("id").asText();
      var put =
          java.net.http.HttpRequest.newBuilder(
                  java.net.URI.create(http.base() + "/image/v2/images/" + id + "/file"))
              .header("X-Auth-Token", token)
              .header("Content-Type", "application/octet-stream")
              .PUT(java.net.http.HttpRequest.BodyPublishers.ofFile(file))
              .build();
      java.net.http.HttpClient.newHttpClient()
          .send(put, java.net.http.HttpResponse.BodyHandlers.discarding());
      return id;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** One boot: POST, then GET every 5 ms until ACTIVE; nanoseconds. The server is deleted after. */
  private static long boot(Side s) throws Exception {
    ApiHttp http = new ApiHttp(s.url());
    long t0 = System.nanoTime();
    String id = http.boot(s.token(), "b", s.image(), "v1.tiny", null);
    while (true) {
      String status = http.server(s.token(), id).path("status").asText();
      if (status.equals("ACTIVE")) {
        break;
      }
      if (status.equals("ERROR")) {
        throw new IllegalStateException(s.name() + ": server went to ERROR");
      }
      Thread.sleep(5);
    }
    long took = System.nanoTime() - t0;
    http.call("DELETE", "/servers/" + id, s.token(), null, null);
    while (http.call("GET", "/servers/" + id, s.token(), null, null).status() != 404) {
      Thread.sleep(20); // gone before the next boot: guests never overlap (not timed)
    }
    return took;
  }

  private static long median(List<Long> xs) {
    List<Long> sorted = new ArrayList<>(xs);
    Collections.sort(sorted);
    return sorted.get(sorted.size() / 2);
  }
}
