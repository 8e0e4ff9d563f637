package io.virga.libvirt;

import java.io.StringReader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;

/** The file-backed disks a domain XML names: what migration needs to know of them. */
record DomainDisks(List<Disk> disks) {

  /**
   * @param file the source file
   * @param dev the target device ({@code vda}, {@code hdd})
   * @param device {@code disk} or {@code cdrom}
   */
  record Disk(Path file, String dev, String device) {}

  DomainDisks {
    disks = List.copyOf(disks);
  }

  static DomainDisks of(String domainXml) {
    try {
      DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
      f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
      var doc = f.newDocumentBuilder().parse(new InputSource(new StringReader(domainXml)));
      NodeList nodes = doc.getElementsByTagName("disk");
      List<Disk> out = new ArrayList<>();
      for (int i = 0; i < nodes.getLength(); i++) {
        Element d = (Element) nodes.item(i);
        Element src = first(d, "source");
        Element target = first(d, "target");
        if (src != null && target != null && !src.getAttribute("file").isEmpty()) {
          out.add(
              new Disk(
                  Path.of(src.getAttribute("file")),
                  target.getAttribute("dev"),
                  d.getAttribute("device").isEmpty() ? "disk" : d.getAttribute("device")));
        }
      }
      return new DomainDisks(out);
    } catch (Exception e) {
      throw new IllegalArgumentException("cannot read the disks of a domain XML: " + e, e);
    }
  }

  private static Element first(Element parent, String name) {
    NodeList l = parent.getElementsByTagName(name);
    return l.getLength() == 0 ? null : (Element) l.item(0);
  }

  /** True when any disk lives directly in {@code dir}. */
  boolean anyIn(Path dir) {
    Path d = dir.toAbsolutePath().normalize();
    return disks.stream()
        .anyMatch(k -> d.equals(k.file().toAbsolutePath().normalize().getParent()));
  }

  /** Target devices of the writable disks (not cdroms): what a block migration copies. */
  List<String> writableDevs() {
    return disks.stream().filter(k -> k.device().equals("disk")).map(Disk::dev).toList();
  }
}
