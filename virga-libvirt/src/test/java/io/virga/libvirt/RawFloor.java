package io.virga.libvirt;

import io.virga.core.PowerState;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
 * The raw floor the spawn benchmarks compare against (bench/README.md): the least any driver must
 * do for the same guest — {@code qemu-img create} of the overlay over the cached base, {@code
 * defineXML} of the XML Virga generated (retargeted to a new name, uuid and disk) and start, polled
 * to RUNNING — and the interleaved measurement that puts Virga and the floor side by side.
 */
public final class RawFloor {
  private final LibvirtHost host;
  private final Path dir;
  private final String templateXml;
  private final Path base;
  private final Optional<Path> configDrive;

  /**
   * @param templateXml a libvirt.xml Virga wrote for a warm-up guest
   * @param base the cached raw base the overlays sit on
   * @param configDrive a built config drive the floor attaches instead of building one
   */
  RawFloor(LibvirtHost host, Path dir, String templateXml, Path base, Optional<Path> configDrive) {
    this.host = host;
    this.dir = dir;
    this.templateXml = templateXml;
    this.base = base;
    this.configDrive = configDrive;
  }

  /**
   * The floor for {@code driver}'s guests of {@code imageId}: overlays on its cached base, the
   * domain defined through its host.
   */
  public static RawFloor of(
      LibvirtDriver driver,
      Path dir,
      String templateXml,
      String imageId,
      Optional<Path> configDrive) {
    Path base = driver.options().baseDir().resolve(ImageCache.baseName(imageId));
    return new RawFloor(driver.host(), dir, templateXml, base, configDrive);
  }

  /** One floor spawn to RUNNING; returns its nanoseconds, then removes the domain and overlay. */
  public long spawn() throws Exception {
    String uuid = UUID.randomUUID().toString();
    String name = "virga-floor-" + uuid.substring(0, 8);
    Path disk = dir.resolve(uuid + ".qcow2");
    String xml = retarget(name, uuid, disk);
    long t0 = System.nanoTime();
    new QemuImg().createOverlay(disk, base, "raw", 1L << 30);
    try (Guest g = host.define(xml)) {
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

  /** The template with another name, uuid, root disk, config drive and console log, via DOM. */
  private String retarget(String name, String uuid, Path disk) throws Exception {
    Document doc =
        DocumentBuilderFactory.newInstance()
            .newDocumentBuilder()
            .parse(new InputSource(new StringReader(templateXml)));
    Element d = doc.getDocumentElement();
    d.getElementsByTagName("name").item(0).setTextContent(name);
    d.getElementsByTagName("uuid").item(0).setTextContent(uuid);
    var disks = d.getElementsByTagName("disk");
    for (int i = 0; i < disks.getLength(); i++) {
      Element e = (Element) disks.item(i);
      Element src = (Element) e.getElementsByTagName("source").item(0);
      boolean cdrom = e.getAttribute("device").equals("cdrom");
      src.setAttribute("file", cdrom ? configDrive.orElseThrow().toString() : disk.toString());
    }
    var logs = d.getElementsByTagName("log");
    for (int i = 0; i < logs.getLength(); i++) {
      ((Element) logs.item(i)).setAttribute("file", dir.resolve(uuid + ".log").toString());
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

  /**
   * {@code runs} rounds of {@code n} parallel spawns each of {@code subject} and of {@code floor},
   * interleaved (subject first in odd rounds, floor first in even ones); a round counts its slowest
   * spawn (all {@code n} running). Prints each round, then both medians and their ratio.
   */
  public static void report(
      String label,
      int runs,
      int n,
      String subjectName,
      Callable<Long> subject,
      Callable<Long> floor)
      throws Exception {
    List<Double> measured = new ArrayList<>();
    List<Double> floors = new ArrayList<>();
    try (ExecutorService pool = Executors.newFixedThreadPool(n)) {
      for (int r = 0; r < runs; r++) {
        boolean subjectFirst = r % 2 == 0;
        for (int k = 0; k < 2; k++) {
          boolean isSubject = (k == 0) == subjectFirst;
          double v = slowest(pool, n, isSubject ? subject : floor) / 1e9;
          (isSubject ? measured : floors).add(v);
          System.out.printf(
              "  %-14s run %d %-7s %.3f s%n", label, r + 1, isSubject ? subjectName : "floor", v);
        }
      }
    }
    double ms = median(measured);
    double mf = median(floors);
    System.out.printf(
        "%s: %s median %.3f s, floor median %.3f s, ratio %.2fx%n",
        label, subjectName, ms, mf, ms / mf);
  }

  private static long slowest(ExecutorService pool, int n, Callable<Long> spawn) throws Exception {
    List<Future<Long>> fs = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      fs.add(pool.submit(spawn));
    }
    long max = 0;
    for (Future<Long> f : fs) {
      max = Math.max(max, f.get());
    }
    return max;
  }

  static double median(List<Double> v) {
    List<Double> s = new ArrayList<>(v);
    s.sort(null);
    int m = s.size() / 2;
    return s.size() % 2 == 1 ? s.get(m) : (s.get(m - 1) + s.get(m)) / 2;
  }
}
