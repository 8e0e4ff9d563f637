package io.virga.libvirt;

import java.io.StringWriter;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import javax.xml.transform.OutputKeys;
import javax.xml.transform.TransformerException;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;
import org.w3c.dom.Document;
import org.w3c.dom.Element;

/**
 * Writes a {@link GuestConfig} as libvirt domain XML through DOM + Transformer: every name and
 * value goes in as a DOM text node or attribute, so the serializer escapes all of it.
 */
final class GuestXmlWriter {
  static final String NOVA_NS = "http://openstack.org/xmlns/libvirt/nova/1.1";

  private GuestXmlWriter() {}

  public static String write(GuestConfig g) {
    Document doc = newDocument();
    Element domain = doc.createElement("domain");
    doc.appendChild(domain);
    domain.setAttribute("type", g.virtType());
    text(domain, "name", g.name());
    text(domain, "uuid", g.uuid());
    metadata(domain, g.metadata());
    text(domain, "memory", Long.toString(g.memoryKib())).setAttribute("unit", "KiB");
    text(domain, "currentMemory", Long.toString(g.memoryKib())).setAttribute("unit", "KiB");
    text(domain, "vcpu", Integer.toString(g.vcpus())).setAttribute("placement", "static");
    g.cputune().filter(t -> !t.isEmpty()).ifPresent(t -> cputune(domain, t));
    sysinfo(domain, g.sysinfo());
    os(domain, g.os());
    Element features = child(domain, "features");
    child(features, "acpi");
    child(features, "apic");
    cpu(domain, g.cpu());
    Element clock = child(domain, "clock");
    clock.setAttribute("offset", "utc");
    if (g.hypervisorTimers()) {
      // Nova sets these for kvm only: steady guest time under load, no hpet.
      attrs(child(clock, "timer"), "name", "pit", "tickpolicy", "delay");
      attrs(child(clock, "timer"), "name", "rtc", "tickpolicy", "catchup");
      attrs(child(clock, "timer"), "name", "hpet", "present", "no");
    }
    text(domain, "on_poweroff", "destroy");
    text(domain, "on_reboot", "restart");
    text(domain, "on_crash", "destroy");
    devices(domain, g);
    return serialize(doc);
  }

  private static void metadata(Element domain, GuestConfig.NovaMetadata m) {
    Document doc = domain.getOwnerDocument();
    Element meta = child(domain, "metadata");
    Element inst = doc.createElementNS(NOVA_NS, "nova:instance");
    meta.appendChild(inst);
    nova(inst, "package").setAttribute("version", m.packageVersion());
    nova(inst, "name").setTextContent(xmlSafe(m.name()));
    nova(inst, "creationTime").setTextContent(m.creationTime());
    Element flavor = nova(inst, "flavor");
    flavor.setAttribute("name", xmlSafe(m.flavorName()));
    nova(flavor, "memory").setTextContent(Integer.toString(m.memoryMb()));
    nova(flavor, "disk").setTextContent(Integer.toString(m.diskGb()));
    nova(flavor, "swap").setTextContent(Integer.toString(m.swapMb()));
    nova(flavor, "ephemeral").setTextContent(Integer.toString(m.ephemeralGb()));
    nova(flavor, "vcpus").setTextContent(Integer.toString(m.vcpus()));
    Element owner = nova(inst, "owner");
    Element user = nova(owner, "user");
    user.setAttribute("uuid", m.userId());
    user.setTextContent(xmlSafe(m.userName()));
    Element project = nova(owner, "project");
    project.setAttribute("uuid", m.projectId());
    project.setTextContent(xmlSafe(m.projectName()));
    Element root = nova(inst, "root");
    root.setAttribute("type", "image");
    root.setAttribute("uuid", m.rootImageId());
  }

  private static Element nova(Element parent, String local) {
    Element e = parent.getOwnerDocument().createElementNS(NOVA_NS, "nova:" + local);
    parent.appendChild(e);
    return e;
  }

  private static void cputune(Element domain, GuestConfig.CpuTune t) {
    Element tune = child(domain, "cputune");
    t.shares().ifPresent(v -> text(tune, "shares", Long.toString(v)));
    t.period().ifPresent(v -> text(tune, "period", Long.toString(v)));
    t.quota().ifPresent(v -> text(tune, "quota", Long.toString(v)));
  }

  private static void sysinfo(Element domain, GuestConfig.SysInfo s) {
    Element sys = child(domain, "sysinfo");
    sys.setAttribute("type", "smbios");
    Element system = child(sys, "system");
    entry(system, "manufacturer", s.manufacturer());
    entry(system, "product", s.product());
    entry(system, "version", s.version());
    entry(system, "serial", s.serial());
    entry(system, "uuid", s.uuid());
    entry(system, "family", s.family());
  }

  private static void entry(Element parent, String name, String value) {
    text(parent, "entry", value).setAttribute("name", name);
  }

  private static void os(Element domain, GuestConfig.Os o) {
    Element os = child(domain, "os");
    attrs(text(os, "type", "hvm"), "arch", o.arch(), "machine", o.machine());
    o.kernel().ifPresent(k -> text(os, "kernel", k.toString()));
    o.initrd().ifPresent(i -> text(os, "initrd", i.toString()));
    o.cmdline().ifPresent(c -> text(os, "cmdline", c));
    for (String dev : o.bootDevs()) {
      child(os, "boot").setAttribute("dev", dev);
    }
    child(os, "smbios").setAttribute("mode", "sysinfo");
  }

  private static void cpu(Element domain, GuestConfig.Cpu c) {
    Element cpu = child(domain, "cpu");
    if (!c.mode().equals("none")) {
      cpu.setAttribute("mode", c.mode());
    }
    if (c.mode().equals("custom")) {
      cpu.setAttribute("match", "exact");
      c.model().ifPresent(m -> text(cpu, "model", m).setAttribute("fallback", "allow"));
    }
    attrs(
        child(cpu, "topology"),
        "sockets",
        Integer.toString(c.sockets()),
        "cores",
        Integer.toString(c.cores()),
        "threads",
        Integer.toString(c.threads()));
  }

  private static void devices(Element domain, GuestConfig g) {
    Element devices = child(domain, "devices");
    for (GuestConfig.Disk d : g.disks()) {
      Element disk = child(devices, "disk");
      attrs(disk, "type", "file", "device", d.device());
      attrs(child(disk, "driver"), "name", "qemu", "type", d.format(), "cache", d.cache());
      child(disk, "source").setAttribute("file", d.source().toString());
      attrs(child(disk, "target"), "dev", d.dev(), "bus", d.bus());
      if (d.device().equals("cdrom")) {
        child(disk, "readonly");
      }
    }
    // No USB devices are attached (no graphics, no tablet): skip the controller qemu would emulate.
    attrs(child(devices, "controller"), "type", "usb", "index", "0", "model", "none");
    String log = g.consoleLog().toString();
    Element serial = child(devices, "serial");
    serial.setAttribute("type", "pty");
    attrs(child(serial, "log"), "file", log, "append", "off");
    attrs(child(serial, "target"), "type", "isa-serial", "port", "0");
    Element console = child(devices, "console");
    console.setAttribute("type", "pty");
    attrs(child(console, "log"), "file", log, "append", "off");
    attrs(child(console, "target"), "type", "serial", "port", "0");
    Element balloon = child(devices, "memballoon");
    balloon.setAttribute("model", "virtio");
    if (g.memStatsPeriod() > 0) {
      child(balloon, "stats").setAttribute("period", Integer.toString(g.memStatsPeriod()));
    }
  }

  private static Element child(Element parent, String name) {
    Element e = parent.getOwnerDocument().createElement(name);
    parent.appendChild(e);
    return e;
  }

  private static Element text(Element parent, String name, String value) {
    Element e = child(parent, name);
    e.setTextContent(xmlSafe(value));
    return e;
  }

  private static Element attrs(Element e, String... kv) {
    for (int i = 0; i < kv.length; i += 2) {
      e.setAttribute(kv[i], xmlSafe(kv[i + 1]));
    }
    return e;
  }

  /**
   * Characters XML 1.0 cannot carry at all (controls other than tab/newline/return, lone
   * surrogates) become U+FFFD; everything else is escaped by the serializer.
   */
  static String xmlSafe(String s) {
    StringBuilder b = null;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean ok =
          c == 0x9
              || c == 0xA
              || c == 0xD
              || (c >= 0x20 && c <= 0xD7FF)
              || (c >= 0xE000 && c <= 0xFFFD)
              || (Character.isHighSurrogate(c)
                  && i + 1 < s.length()
                  && Character.isLowSurrogate(s.charAt(i + 1)));
      if (Character.isLowSurrogate(c) && i > 0 && Character.isHighSurrogate(s.charAt(i - 1))) {
        ok = true;
      }
      if (!ok && b == null) {
        b = new StringBuilder(s.substring(0, i));
      }
      if (b != null) {
        b.append(ok ? c : '\uFFFD');
      }
    }
    return b == null ? s : b.toString();
  }

  private static Document newDocument() {
    try {
      DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
      f.setNamespaceAware(true);
      return f.newDocumentBuilder().newDocument();
    } catch (ParserConfigurationException e) {
      throw new IllegalStateException("no XML parser", e);
    }
  }

  private static String serialize(Document doc) {
    try {
      var t = TransformerFactory.newInstance().newTransformer();
      t.setOutputProperty(OutputKeys.OMIT_XML_DECLARATION, "yes");
      t.setOutputProperty(OutputKeys.INDENT, "yes");
      t.setOutputProperty("{http://xml.apache.org/xslt}indent-amount", "2");
      StringWriter out = new StringWriter();
      t.transform(new DOMSource(doc), new StreamResult(out));
      return out.toString();
    } catch (TransformerException e) {
      throw new IllegalStateException("cannot serialize domain XML", e);
    }
  }
}
