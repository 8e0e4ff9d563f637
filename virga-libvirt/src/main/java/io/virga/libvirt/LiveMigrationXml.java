package io.virga.libvirt;

import java.io.StringReader;
import java.io.StringWriter;
import java.util.HashMap;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.transform.OutputKeys;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;

/**
 * Nova's {@code get_updated_guest_xml}: the XML the destination runs is the source's migratable
 * live XML (same devices and addresses, so libvirt's ABI check passes) with the host-local paths
 * the destination's {@code pre_live_migration} chose: each file disk's source by target device, the
 * serial console log, and kernel / initrd. Edited as a DOM, never as text.
 */
final class LiveMigrationXml {
  private LiveMigrationXml() {}

  static String update(String sourceXml, String destXml) {
    Document src = parse(sourceXml);
    Document dst = parse(destXml);
    Map<String, String> diskByDev = new HashMap<>();
    for (Element d : elements(dst, "disk")) {
      Element s = child(d, "source");
      Element t = child(d, "target");
      if (s != null && t != null && s.hasAttribute("file")) {
        diskByDev.put(t.getAttribute("dev"), s.getAttribute("file"));
      }
    }
    for (Element d : elements(src, "disk")) {
      Element s = child(d, "source");
      Element t = child(d, "target");
      if (s != null && t != null && s.hasAttribute("file")) {
        String file = diskByDev.get(t.getAttribute("dev"));
        if (file == null) {
          throw new IllegalArgumentException(
              "the destination XML has no disk " + t.getAttribute("dev"));
        }
        s.setAttribute("file", file);
      }
    }
    String log = firstAttr(dst, "log", "file");
    if (log != null) {
      for (Element l : elements(src, "log")) {
        l.setAttribute("file", log);
        // the destination's qemu opens the log when the migration starts: on shared storage
        // append="off" would wipe the console the source is still writing
        l.setAttribute("append", "on");
      }
    }
    for (String tag : new String[] {"kernel", "initrd"}) {
      NodeList want = dst.getElementsByTagName(tag);
      NodeList have = src.getElementsByTagName(tag);
      if (want.getLength() > 0 && have.getLength() > 0) {
        have.item(0).setTextContent(want.item(0).getTextContent());
      }
    }
    return write(src);
  }

  /** The destination builds its XML with its own virt_type: it must be the one the guest runs. */
  static void checkSameType(String sourceXml, String destXml, String destHost) {
    String have = parse(sourceXml).getDocumentElement().getAttribute("type");
    String want = parse(destXml).getDocumentElement().getAttribute("type");
    if (!have.equals(want)) {
      throw new io.virga.core.InvalidStateException(
          "the guest runs under " + have + " but " + destHost + " runs " + want + " guests");
    }
  }

  /** The guest's {@code <cpu>} element (for compareCPU), when it names a model. */
  static java.util.Optional<String> cpu(String domainXml) {
    Document d = parse(domainXml);
    NodeList l = d.getElementsByTagName("cpu");
    if (l.getLength() == 0
        || ((Element) l.item(0)).getElementsByTagName("model").getLength() == 0) {
      return java.util.Optional.empty();
    }
    try {
      Document only = DocumentBuilderFactory.newInstance().newDocumentBuilder().newDocument();
      only.appendChild(only.importNode(l.item(0), true));
      return java.util.Optional.of(write(only));
    } catch (javax.xml.parsers.ParserConfigurationException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String firstAttr(Document d, String tag, String attr) {
    for (Element e : elements(d, tag)) {
      if (e.hasAttribute(attr)) {
        return e.getAttribute(attr);
      }
    }
    return null;
  }

  private static java.util.List<Element> elements(Document d, String tag) {
    NodeList l = d.getElementsByTagName(tag);
    java.util.List<Element> out = new java.util.ArrayList<>();
    for (int i = 0; i < l.getLength(); i++) {
      out.add((Element) l.item(i));
    }
    return out;
  }

  private static Element child(Element parent, String name) {
    NodeList l = parent.getElementsByTagName(name);
    return l.getLength() == 0 ? null : (Element) l.item(0);
  }

  private static Document parse(String xml) {
    try {
      DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
      f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
      return f.newDocumentBuilder().parse(new InputSource(new StringReader(xml)));
    } catch (Exception e) {
      throw new IllegalArgumentException("not a domain XML: " + e.getMessage(), e);
    }
  }

  private static String write(Document d) {
    try {
      var t = TransformerFactory.newInstance().newTransformer();
      t.setOutputProperty(OutputKeys.OMIT_XML_DECLARATION, "yes");
      StringWriter w = new StringWriter();
      t.transform(new DOMSource(d), new StreamResult(w));
      return w.toString();
    } catch (Exception e) {
      throw new IllegalStateException("cannot write domain XML", e);
    }
  }
}
