package io.virga.libvirt;

import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Path;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;
import org.xml.sax.SAXException;

/**
 * The root disk a snapshot copies: its file, the guest target ({@code vda}) libvirt's block calls
 * name it by, and its format as recorded at creation (never probed, DESIGN §5.1).
 */
record SnapshotRootDisk(Path path, String target, String format) {

  /**
   * Finds {@code path} among the domain's file-backed disks. The format is the XML's {@code <driver
   * type>}; {@code recordedFormat} (from disk.info), when known, must agree with it.
   */
  static SnapshotRootDisk find(String domainXml, Path path, java.util.Optional<String> recorded) {
    NodeList disks = parse(domainXml).getElementsByTagName("disk");
    for (int i = 0; i < disks.getLength(); i++) {
      Element disk = (Element) disks.item(i);
      Element source = child(disk, "source");
      if (!"disk".equals(disk.getAttribute("device"))
          || source == null
          || !path.toString().equals(source.getAttribute("file"))) {
        continue;
      }
      Element target = child(disk, "target");
      Element driver = child(disk, "driver");
      String xmlFormat = driver == null ? "" : driver.getAttribute("type");
      if (target == null || target.getAttribute("dev").isEmpty() || xmlFormat.isEmpty()) {
        throw new SnapshotException("root disk " + path + " has no target dev or driver type");
      }
      if (recorded.isPresent() && !recorded.get().equals(xmlFormat)) {
        throw new SnapshotException(
            "root disk "
                + path
                + " is recorded as "
                + recorded.get()
                + " but the domain runs it as "
                + xmlFormat
                + "; refusing to snapshot");
      }
      return new SnapshotRootDisk(path, target.getAttribute("dev"), xmlFormat);
    }
    throw new SnapshotException("the domain has no disk backed by " + path);
  }

  /** True when the live XML shows a ready block-copy mirror on {@code target}. */
  static boolean mirrorReady(String liveXml, String target) {
    NodeList disks = parse(liveXml).getElementsByTagName("disk");
    for (int i = 0; i < disks.getLength(); i++) {
      Element disk = (Element) disks.item(i);
      Element t = child(disk, "target");
      if (t != null && target.equals(t.getAttribute("dev"))) {
        Element mirror = child(disk, "mirror");
        return mirror != null && "yes".equals(mirror.getAttribute("ready"));
      }
    }
    return false;
  }

  /** Targets of disks with a block-copy mirror in the live XML. */
  static java.util.List<String> mirroredTargets(String liveXml) {
    java.util.List<String> out = new java.util.ArrayList<>();
    NodeList disks = parse(liveXml).getElementsByTagName("disk");
    for (int i = 0; i < disks.getLength(); i++) {
      Element disk = (Element) disks.item(i);
      Element t = child(disk, "target");
      if (t != null && child(disk, "mirror") != null) {
        out.add(t.getAttribute("dev"));
      }
    }
    return out;
  }

  private static Element child(Element parent, String name) {
    for (var n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
      if (n instanceof Element e && e.getTagName().equals(name)) {
        return e;
      }
    }
    return null;
  }

  private static Document parse(String xml) {
    try {
      DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
      f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
      f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
      return f.newDocumentBuilder().parse(new InputSource(new StringReader(xml)));
    } catch (ParserConfigurationException | SAXException | IOException e) {
      throw new SnapshotException("cannot parse the domain XML", e);
    }
  }
}
