package io.virga.libvirt;

import io.virga.core.Flavor;
import io.virga.core.ImageMeta;
import io.virga.core.PowerState;
import io.virga.virt.InstanceSpec;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.xml.sax.InputSource;

/**
 * Spawn benchmark (bench/README.md): driver spawn-to-RUNNING against the raw floor — qemu-img
 * create of the overlay + defineXML + start of the same domain XML through libvirt, polled to
 * RUNNING — measured interleaved in one run over a cached base; single and 8 concurrent; medians
 * and ratios. Not a test: run by bench/spawn.sh.
 */
public final class SpawnBench {
  private final LibvirtDriverFixture fx;
  private final ImageMeta image;
  private final Flavor flavor = LibvirtDriverFixture.flavor(128, 0, 0);
  private final boolean configDrive;
  private String templateXml;
  private final Path floorDir;

  private SpawnBench(LibvirtDriverFixture fx, boolean configDrive) throws Exception {
    this.fx = fx;
    this.configDrive = configDrive;
    this.image = fx.diskImage(Map.of());
    this.floorDir = Files.createDirectories(fx.home.resolve("floor"));
  }

  public static void main(String[] args) throws Exception {
    int runs = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    int concurrency = args.length > 1 ? Integer.parseInt(args[1]) : 8;
    for (boolean cd : new boolean[] {false, true}) {
      try (var fx = new LibvirtDriverFixture()) {
        SpawnBench b = new SpawnBench(fx, cd);
        b.warm();
        System.out.printf(
            "%n== config drive: %s (flavor 128 MiB, 1 GiB root, cached base, TCG)%n",
            cd ? "yes" : "no");
        b.report("single", runs, 1);
        b.report(concurrency + " concurrent", runs, concurrency);
      }
    }
  }

  private InstanceSpec newSpec() {
    return LibvirtDriverFixture.withConfigDrive(
        fx.spec("bench", flavor, image, Optional.empty()), configDrive);
  }

  /** One driver spawn to fill the base cache and capture the XML the floor replays. */
  private void warm() throws Exception {
    InstanceSpec s = newSpec();
    fx.spawn(s);
    templateXml = Files.readString(fx.instanceDir(s).resolve("libvirt.xml"));
    if (configDrive) {
      Files.copy(fx.instanceDir(s).resolve("disk.config"), floorDir.resolve("disk.config"));
    }
    fx.driver.destroy(s, true);
  }

  private long driverSpawn() {
    InstanceSpec s = newSpec();
    long t0 = System.nanoTime();
    fx.spawn(s);
    long ns = System.nanoTime() - t0;
    fx.driver.destroy(s, true);
    return ns;
  }

  /** qemu-img create overlay + defineXML + start of the driver's own XML, polled to RUNNING. */
  private long floorSpawn() throws Exception {
    String uuid = UUID.randomUUID().toString();
    String name = "h3-floor-" + uuid.substring(0, 8);
    Path disk = floorDir.resolve(uuid + ".qcow2");
    String xml = retarget(templateXml, name, uuid, disk);
    Path base = fx.driver.options().baseDir().resolve(ImageCache.baseName(image.id()));
    long t0 = System.nanoTime();
    new QemuImg().createOverlay(disk, base, "raw", 1L << 30);
    try (Guest g = fx.driver.host().define(xml)) {
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

  /** The template with another name, uuid, root disk and console log, edited through DOM. */
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
      src.setAttribute(
          "file",
          e.getAttribute("device").equals("cdrom")
              ? floorDir.resolve("disk.config").toString()
              : disk.toString());
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

  /** Median wall time per spawn of {@code n} parallel spawns, interleaving driver and floor. */
  private void report(String label, int runs, int n) throws Exception {
    List<Double> driver = new ArrayList<>();
    List<Double> floor = new ArrayList<>();
    try (ExecutorService pool = Executors.newFixedThreadPool(n)) {
      for (int r = 0; r < runs; r++) {
        boolean driverFirst = r % 2 == 0;
        for (int k = 0; k < 2; k++) {
          boolean isDriver = (k == 0) == driverFirst;
          List<Future<Long>> fs = new ArrayList<>();
          long t0 = System.nanoTime();
          for (int i = 0; i < n; i++) {
            Callable<Long> c = isDriver ? this::driverSpawn : this::floorSpawn;
            fs.add(pool.submit(c));
          }
          List<Long> each = new ArrayList<>();
          for (Future<Long> f : fs) {
            each.add(f.get());
          }
          long wall = System.nanoTime() - t0;
          // for concurrent rounds: the slowest spawn to RUNNING (all n running), not the mean
          double v =
              (n == 1 ? each.get(0) : each.stream().mapToLong(Long::longValue).max().orElseThrow())
                  / 1e9;
          (isDriver ? driver : floor).add(v);
          System.out.printf(
              "  %-14s run %d %-6s %.3f s (round wall incl. teardown %.3f s)%n",
              label, r + 1, isDriver ? "driver" : "floor", v, wall / 1e9);
        }
      }
    }
    double md = median(driver);
    double mf = median(floor);
    System.out.printf(
        "%s: driver median %.3f s, floor median %.3f s, ratio %.2fx%n", label, md, mf, md / mf);
  }

  private static double median(List<Double> v) {
    List<Double> s = new ArrayList<>(v);
    s.sort(null);
    int m = s.size() / 2;
    return s.size() % 2 == 1 ? s.get(m) : (s.get(m - 1) + s.get(m)) / 2;
  }
}
