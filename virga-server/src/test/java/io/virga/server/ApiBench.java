package io.virga.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.virga.core.Config;
import io.virga.core.PowerState;
import io.virga.db.Database;
import io.virga.libvirt.Guest;
import io.virga.libvirt.ImageCache;
import io.virga.libvirt.LibvirtDriver;
import io.virga.libvirt.QemuImg;
import java.io.PrintStream;
import java.io.StringReader;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.xml.sax.InputSource;

/**
 * API benchmark (bench/README.md, "API create"): {@code POST /servers} → ACTIVE seen by {@code GET
 * /servers/{id}} through the whole of {@code virga up} (real libvirt, TCG, tiny guest, v1.tiny),
 * against the raw floor — qemu-img create of the overlay + defineXML + start of the domain XML
 * Virga generated, polled to RUNNING — interleaved in the same run, single and concurrent.
 */
public final class ApiBench {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http = HttpClient.newHttpClient();
  private final UpCommand.Running up;
  private final LibvirtDriver driver;
  private final Path floorDir;
  private final String base;
  private final String token;
  private final String imageId;
  private String templateXml;

  private ApiBench(UpCommand.Running up, Path floorDir) throws Exception {
    this.up = up;
    this.driver = (LibvirtDriver) up.cloud().driver();
    this.floorDir = floorDir;
    this.base = up.cloud().api().url();
    this.token = token();
    this.imageId =
        up.cloud()
            .images()
            .list(
                new io.virga.image.ImageService.Caller(up.users().adminProjectId(), true),
                Map.of("name", UpDefaults.TINY_IMAGE),
                List.of(),
                java.util.Optional.empty(),
                List.of(),
                java.util.Optional.empty(),
                10)
            .get(0)
            .id();
    up.cloud()
        .compute()
        .quotas()
        .set(up.users().adminProjectId(), Map.of("instances", -1L, "cores", -1L, "ram", -1L));
  }

  public static void main(String[] args) throws Exception {
    int runs = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    int concurrency = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    Path home = Files.createTempDirectory("virga-apibench-");
    Map<String, String> values = new HashMap<>();
    values.put("home", home.toString());
    values.put("port", "0");
    values.put("virt_type", System.getenv().getOrDefault("VIRGA_VIRT_TYPE", "qemu"));
    values.put("password_hash_cost", "4");
    Config config = Config.of(values);
    try (Database db = Database.open(config)) {
      // libvirtd may be shared: this run's domain names start at a random id
      long start = 0x10000000L + ThreadLocalRandom.current().nextLong(0x6fffffffL);
      db.useTransaction(
          h ->
              h.createUpdate(
                      "UPDATE compute_id_counters SET next_value = :v WHERE name = 'instances'")
                  .bind("v", start)
                  .execute());
    }
    UpCommand.Running up =
        UpCommand.start(
            config,
            Map.of("VIRGA_ADMIN_PASSWORD", "bench-admin", "VIRGA_DEMO_PASSWORD", "bench-demo"),
            home.resolve("clouds.yaml"),
            null,
            new PrintStream(java.io.OutputStream.nullOutputStream()));
    try {
      ApiBench b = new ApiBench(up, Files.createDirectories(home.resolve("floor")));
      b.warm();
      System.out.printf("api bench: %d runs, concurrency %d, load %s%n", runs, concurrency, load());
      b.report("single", runs, 1);
      b.report("concurrent-" + concurrency, Math.max(1, (runs + 1) / 2), concurrency);
    } finally {
      up.cloud().close();
      try (Stream<Path> walk = Files.walk(home)) {
        walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static String load() throws Exception {
    return Files.readString(Path.of("/proc/loadavg")).strip();
  }

  private String token() throws Exception {
    String body =
        """
        {"auth": {"identity": {"methods": ["password"], "password": {"user":
          {"name": "admin", "domain": {"name": "Default"}, "password": "bench-admin"}}},
         "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
        """;
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create(base + "/identity/v3/auth/tokens"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    return r.headers().firstValue("X-Subject-Token").orElseThrow();
  }

  private HttpResponse<String> call(String method, String path, String body) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(base + "/compute/v2.1" + path))
            .header("X-Auth-Token", token)
            .header("OpenStack-API-Version", "compute 2.37")
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      b.header("Content-Type", "application/json");
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** POST /servers and poll GET until ACTIVE; returns nanoseconds; deletes it afterwards. */
  private long apiSpawn() throws Exception {
    String body =
        """
        {"server": {"name": "bench", "imageRef": "%s", "flavorRef": "v1.tiny", "networks": "none"}}
        """
            .formatted(imageId);
    long t0 = System.nanoTime();
    HttpResponse<String> r = call("POST", "/servers", body);
    if (r.statusCode() != 202) {
      throw new IllegalStateException("create: " + r.statusCode() + " " + r.body());
    }
    String id = JSON.readTree(r.body()).path("server").path("id").asText();
    while (true) {
      JsonNode s = JSON.readTree(call("GET", "/servers/" + id, null).body()).path("server");
      String status = s.path("status").asText();
      if (status.equals("ACTIVE")) {
        break;
      }
      if (status.equals("ERROR")) {
        throw new IllegalStateException("server went to ERROR: " + s.path("fault"));
      }
      // 50 ms: ten clients polling faster would take the CPU the guests boot on (2 cores)
      Thread.sleep(50);
    }
    long ns = System.nanoTime() - t0;
    call("DELETE", "/servers/" + id, null);
    while (call("GET", "/servers/" + id, null).statusCode() != 404) {
      Thread.sleep(20);
    }
    return ns;
  }

  /** One boot through the API: fills the base cache and captures the XML the floor replays. */
  private void warm() throws Exception {
    String body =
        """
        {"server": {"name": "warm", "imageRef": "%s", "flavorRef": "v1.tiny", "networks": "none"}}
        """
            .formatted(imageId);
    String id =
        JSON.readTree(call("POST", "/servers", body).body()).path("server").path("id").asText();
    while (!JSON.readTree(call("GET", "/servers/" + id, null).body())
        .path("server")
        .path("status")
        .asText()
        .equals("ACTIVE")) {
      Thread.sleep(50);
    }
    templateXml = Files.readString(driver.options().instanceDir(id).resolve("libvirt.xml"));
    call("DELETE", "/servers/" + id, null);
    while (call("GET", "/servers/" + id, null).statusCode() != 404) {
      Thread.sleep(50);
    }
  }

  private long floorSpawn() throws Exception {
    String uuid = UUID.randomUUID().toString();
    String name = "h5b-floor-" + uuid.substring(0, 8);
    Path disk = floorDir.resolve(uuid + ".qcow2");
    String xml = retarget(templateXml, name, uuid, disk);
    Path baseFile = driver.options().baseDir().resolve(ImageCache.baseName(imageId));
    long t0 = System.nanoTime();
    new QemuImg().createOverlay(disk, baseFile, "raw", 1L << 30);
    try (Guest g = driver.host().define(xml)) {
      g.launch(false);
      while (g.powerState() != PowerState.RUNNING) {
        Thread.sleep(5);
      }
      long ns = System.nanoTime() - t0;
      g.destroy();
      g.undefine();
      Files.deleteIfExists(disk);
      return ns;
    }
  }

  private String retarget(String xml, String name, String uuid, Path disk) throws Exception {
    Document doc =
        DocumentBuilderFactory.newInstance()
            .newDocumentBuilder()
            .parse(new InputSource(new StringReader(xml)));
    Element d = doc.getDocumentElement();
    d.getElementsByTagName("name").item(0).setTextContent(name);
    d.getElementsByTagName("uuid").item(0).setTextContent(uuid);
    var disks = d.getElementsByTagName("disk");
    for (int i = 0; i < disks.getLength(); i++) {
      Element e = (Element) disks.item(i);
      Element src = (Element) e.getElementsByTagName("source").item(0);
      src.setAttribute("file", disk.toString());
    }
    var logs = d.getElementsByTagName("log");
    for (int i = 0; i < logs.getLength(); i++) {
      ((Element) logs.item(i)).setAttribute("file", floorDir.resolve(uuid + ".log").toString());
    }
    var entries = d.getElementsByTagName("entry");
    for (int i = 0; i < entries.getLength(); i++) {
      Element e = (Element) entries.item(i);
      if (e.getAttribute("name").equals("serial") || e.getAttribute("name").equals("uuid")) {
        e.setTextContent(uuid);
      }
    }
    StringWriter out = new StringWriter();
    TransformerFactory.newInstance()
        .newTransformer()
        .transform(new DOMSource(doc), new StreamResult(out));
    return out.toString();
  }

  private void report(String label, int runs, int n) throws Exception {
    List<Double> api = new ArrayList<>();
    List<Double> floor = new ArrayList<>();
    try (ExecutorService pool = Executors.newFixedThreadPool(n)) {
      for (int r = 0; r < runs; r++) {
        boolean apiFirst = r % 2 == 0;
        for (int k = 0; k < 2; k++) {
          boolean isApi = (k == 0) == apiFirst;
          List<Future<Long>> fs = new ArrayList<>();
          for (int i = 0; i < n; i++) {
            Callable<Long> c = isApi ? this::apiSpawn : this::floorSpawn;
            fs.add(pool.submit(c));
          }
          long max = 0;
          for (Future<Long> f : fs) {
            max = Math.max(max, f.get());
          }
          double v = max / 1e9;
          (isApi ? api : floor).add(v);
          System.out.printf(
              "  %-14s run %d %-5s %.3f s%n", label, r + 1, isApi ? "api" : "floor", v);
        }
      }
    }
    double ma = median(api);
    double mf = median(floor);
    System.out.printf(
        "%s: api create->ACTIVE median %.3f s, floor median %.3f s, ratio %.2fx%n",
        label, ma, mf, ma / mf);
  }

  private static double median(List<Double> v) {
    List<Double> s = new ArrayList<>(v);
    s.sort(null);
    int m = s.size() / 2;
    return s.size() % 2 == 1 ? s.get(m) : (s.get(m - 1) + s.get(m)) / 2;
  }
}
