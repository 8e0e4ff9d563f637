package io.virga.libvirt;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.virga.core.DiskFormat;
import io.virga.virt.HostResources;
import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;

/** Nova's {@code get_available_resource} for this host (DESIGN §3.6). */
final class LibvirtHostResources {
  private static final Logger LOG = LoggerFactory.getLogger(LibvirtHostResources.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long GIB = 1L << 30;

  private final LibvirtDriverContext ctx;

  LibvirtHostResources(LibvirtDriverContext ctx) {
    this.ctx = ctx;
  }

  HostResources get() {
    LibvirtHost host = ctx.host;
    LibvirtHost.NodeFacts node = host.nodeFacts();
    String hostname = host.hostname();
    long version = host.hypervisorVersion();
    String caps = host.capabilities();
    int vcpusUsed = 0;
    List<Guest> guests = host.listAll();
    for (Guest g : guests) {
      try (g) {
        if (g.isActive()) {
          vcpusUsed += g.info().vcpus();
        }
      } catch (LibvirtException e) {
        LOG.debug("domain vanished while counting vcpus: {}", e.getMessage());
      }
    }
    Path instances = ctx.opts.instancesPath();
    long total;
    long free;
    try {
      Files.createDirectories(instances);
      FileStore fs = Files.getFileStore(instances);
      total = fs.getTotalSpace();
      free = fs.getUsableSpace();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read filesystem of " + instances, e);
    }
    long overCommit = diskOverCommit(instances);
    long memTotalMb = node.memoryKiB() / 1024;
    return new HostResources(
        hostname,
        "QEMU",
        version,
        node.cpus(),
        vcpusUsed,
        (int) memTotalMb,
        (int) (memTotalMb - memAvailableMb().orElse(memTotalMb)),
        (int) (total / GIB),
        (int) ((total - free) / GIB),
        (int) (Math.max(0, free - overCommit) / GIB),
        cpuInfoJson(caps));
  }

  /** MemAvailable from /proc/meminfo (Nova reads free + buffers + cached the same way). */
  private static java.util.OptionalLong memAvailableMb() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
        if (line.startsWith("MemAvailable:")) {
          return java.util.OptionalLong.of(Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024);
        }
      }
    } catch (IOException | NumberFormatException e) {
      LOG.debug("cannot read /proc/meminfo: {}", e.toString());
    }
    return java.util.OptionalLong.empty();
  }

  /**
   * What instance disks may still grow into: for every disk recorded in a disk.info, virtual size
   * minus what is allocated now (Nova's {@code _get_disk_over_committed_size_total}).
   */
  long diskOverCommit(Path instances) {
    long over = 0;
    try (var dirs = Files.list(instances)) {
      for (Path dir : (Iterable<Path>) dirs::iterator) {
        if (!Files.isRegularFile(dir.resolve(DiskInfo.FILE))) {
          continue;
        }
        for (Map.Entry<String, DiskFormat> e : DiskInfo.read(dir).entrySet()) {
          Path disk = dir.resolve(e.getKey());
          if (!Files.exists(disk)) {
            continue;
          }
          try {
            var info = ctx.backend.cache().qemuImg().info(disk, e.getValue(), true);
            over += Math.max(0, info.virtualSize() - info.actualSize());
          } catch (RuntimeException ex) {
            LOG.debug("cannot size {}: {}", disk, ex.toString());
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + instances, e);
    }
    return over;
  }

  /** Nova's cpu_info: arch, model, vendor, topology, features — from the capabilities XML. */
  static String cpuInfoJson(String capabilitiesXml) {
    try {
      DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
      f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
      Document doc =
          f.newDocumentBuilder().parse(new InputSource(new StringReader(capabilitiesXml)));
      Element cpu =
          (Element)
              ((Element) doc.getElementsByTagName("host").item(0))
                  .getElementsByTagName("cpu")
                  .item(0);
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("arch", text(cpu, "arch"));
      out.put("model", text(cpu, "model"));
      out.put("vendor", text(cpu, "vendor"));
      Element topo = (Element) cpu.getElementsByTagName("topology").item(0);
      Map<String, Object> t = new LinkedHashMap<>();
      if (topo != null) {
        t.put("cells", 1);
        t.put("sockets", Integer.parseInt(topo.getAttribute("sockets")));
        t.put("cores", Integer.parseInt(topo.getAttribute("cores")));
        t.put("threads", Integer.parseInt(topo.getAttribute("threads")));
      }
      out.put("topology", t);
      List<String> features = new ArrayList<>();
      NodeList fs = cpu.getElementsByTagName("feature");
      for (int i = 0; i < fs.getLength(); i++) {
        features.add(((Element) fs.item(i)).getAttribute("name"));
      }
      features.sort(null);
      out.put("features", features);
      return JSON.writeValueAsString(out);
    } catch (Exception e) {
      throw new IllegalStateException("cannot read the host CPU from libvirt capabilities", e);
    }
  }

  private static String text(Element parent, String tag) {
    NodeList n = parent.getElementsByTagName(tag);
    return n.getLength() == 0 ? "" : n.item(0).getTextContent().strip();
  }
}
