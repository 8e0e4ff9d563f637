package io.virga.libvirt;

import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Optional;
import java.util.UUID;
import javax.xml.stream.XMLOutputFactory;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamWriter;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.LibvirtException;

/**
 * A TCG test domain the snapshot ITs define themselves (they do not depend on the driver): one
 * qcow2 root disk {@code <dir>/disk}, serial console logged to {@code <dir>/console.log}, ACPI.
 * Written with a real XML writer. Destroyed and undefined (with its managed-save image) on close.
 */
final class SnapshotTestDomain implements AutoCloseable {
  final String name;
  final Path disk;
  final Path console;
  final Domain domain;
  private final Connect conn;

  private SnapshotTestDomain(Connect conn, String name, Path disk, Path console, Domain domain) {
    this.conn = conn;
    this.name = name;
    this.disk = disk;
    this.console = console;
    this.domain = domain;
  }

  static SnapshotTestDomain define(Connect conn, String prefix, Path instanceDir)
      throws LibvirtException {
    return define(conn, prefix, instanceDir, "qcow2", Optional.empty());
  }

  /** With the root disk in {@code diskFormat} and, when given, a config drive cdrom. */
  static SnapshotTestDomain define(
      Connect conn, String prefix, Path instanceDir, String diskFormat, Optional<Path> configDrive)
      throws LibvirtException {
    String name = prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    Path disk = instanceDir.resolve("disk");
    Path console = instanceDir.resolve("console.log");
    Domain d = conn.domainDefineXML(xml(name, disk, diskFormat, configDrive, console));
    return new SnapshotTestDomain(conn, name, disk, console, d);
  }

  static String xml(
      String name, Path disk, String diskFormat, Optional<Path> configDrive, Path console) {
    try {
      StringWriter out = new StringWriter();
      XMLStreamWriter w = XMLOutputFactory.newInstance().createXMLStreamWriter(out);
      w.writeStartElement("domain");
      w.writeAttribute("type", "qemu");
      text(w, "name", name);
      w.writeStartElement("memory");
      w.writeAttribute("unit", "MiB");
      w.writeCharacters("128");
      w.writeEndElement();
      text(w, "vcpu", "1");
      w.writeStartElement("os");
      w.writeStartElement("type");
      w.writeAttribute("arch", "x86_64");
      w.writeCharacters("hvm");
      w.writeEndElement();
      w.writeEmptyElement("boot");
      w.writeAttribute("dev", "hd");
      w.writeEndElement();
      w.writeStartElement("features");
      w.writeEmptyElement("acpi");
      w.writeEmptyElement("apic");
      w.writeEndElement();
      text(w, "on_poweroff", "destroy");
      w.writeStartElement("devices");
      w.writeStartElement("disk");
      w.writeAttribute("type", "file");
      w.writeAttribute("device", "disk");
      w.writeEmptyElement("driver");
      w.writeAttribute("name", "qemu");
      w.writeAttribute("type", diskFormat);
      w.writeEmptyElement("source");
      w.writeAttribute("file", disk.toString());
      w.writeEmptyElement("target");
      w.writeAttribute("dev", "vda");
      w.writeAttribute("bus", "virtio");
      w.writeEndElement();
      if (configDrive.isPresent()) {
        w.writeStartElement("disk");
        w.writeAttribute("type", "file");
        w.writeAttribute("device", "cdrom");
        w.writeEmptyElement("driver");
        w.writeAttribute("name", "qemu");
        w.writeAttribute("type", "raw");
        w.writeEmptyElement("source");
        w.writeAttribute("file", configDrive.get().toString());
        w.writeEmptyElement("target");
        w.writeAttribute("dev", "hda");
        w.writeAttribute("bus", "ide");
        w.writeEmptyElement("readonly");
        w.writeEndElement();
      }
      w.writeStartElement("serial");
      w.writeAttribute("type", "file");
      w.writeEmptyElement("source");
      w.writeAttribute("path", console.toString());
      // a restore from managed save starts a new qemu: keep the log instead of truncating it
      w.writeAttribute("append", "on");
      w.writeEmptyElement("target");
      w.writeAttribute("port", "0");
      w.writeEndElement();
      w.writeEmptyElement("memballoon");
      w.writeAttribute("model", "none");
      w.writeEndElement(); // devices
      w.writeEndElement(); // domain
      w.close();
      return out.toString();
    } catch (XMLStreamException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void text(XMLStreamWriter w, String el, String value) throws XMLStreamException {
    w.writeStartElement(el);
    w.writeCharacters(value);
    w.writeEndElement();
  }

  /** A fresh handle by name (the flow undefines and defines the domain again). */
  Domain lookup() throws LibvirtException {
    return conn.domainLookupByName(name);
  }

  /** The same domain through Virga's wrapper; the caller closes it. */
  Guest guest(LibvirtHost host) {
    return host.lookupByName(name).orElseThrow();
  }

  @Override
  public void close() throws LibvirtException {
    try {
      Domain d = conn.domainLookupByName(name);
      try {
        if (d.isActive() == 1) {
          d.destroy();
        }
        if (d.isPersistent() == 1) {
          d.undefine(1 /* MANAGED_SAVE */);
        }
      } finally {
        d.free();
      }
    } catch (LibvirtException e) {
      if (e.getError().getCode() != org.libvirt.Error.ErrorNumber.VIR_ERR_NO_DOMAIN) {
        throw e;
      }
    } finally {
      domain.free();
    }
  }
}
