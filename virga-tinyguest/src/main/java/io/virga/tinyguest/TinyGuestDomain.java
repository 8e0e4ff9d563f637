package io.virga.tinyguest;

import java.io.IOException;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import javax.xml.stream.XMLOutputFactory;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamWriter;

/**
 * A libvirt domain definition for the tiny guest, written with a real XML writer (the KVM probe and
 * the tests boot it), and a look at its console log.
 */
public final class TinyGuestDomain {
  private TinyGuestDomain() {}

  /** True if the console log exists and contains the text. */
  public static boolean consoleHas(Path console, String text) {
    try {
      return Files.exists(console)
          && new String(Files.readAllBytes(console), StandardCharsets.UTF_8).contains(text);
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * A minimal domain for the tiny guest: booted from {@code disk} (a qcow2 overlay) when given,
   * else by direct kernel boot; an optional config drive ISO as an IDE cdrom; serial console
   * written to {@code console}; ACPI on.
   */
  public static String domainXml(
      String type,
      String name,
      TinyGuest.Artifacts guest,
      Optional<Path> disk,
      Optional<Path> configDrive,
      Path console) {
    StringWriter out = new StringWriter();
    try {
      XMLStreamWriter w = XMLOutputFactory.newFactory().createXMLStreamWriter(out);
      w.writeStartElement("domain");
      w.writeAttribute("type", type);
      text(w, "name", name);
      w.writeStartElement("memory");
      w.writeAttribute("unit", "MiB");
      w.writeCharacters("128");
      w.writeEndElement();
      text(w, "vcpu", "1");
      w.writeStartElement("os");
      w.writeStartElement("type");
      w.writeAttribute("arch", "x86_64");
      w.writeAttribute("machine", "pc");
      w.writeCharacters("hvm");
      w.writeEndElement();
      if (disk.isEmpty()) {
        text(w, "kernel", guest.kernel().toString());
        text(w, "initrd", guest.initrd().toString());
        text(w, "cmdline", TinyGuest.KERNEL_CMDLINE);
      } else {
        w.writeEmptyElement("boot");
        w.writeAttribute("dev", "hd");
      }
      w.writeEndElement();
      w.writeStartElement("features");
      w.writeEmptyElement("acpi");
      w.writeEndElement();
      text(w, "on_poweroff", "destroy");
      text(w, "on_reboot", "restart");
      text(w, "on_crash", "destroy");
      w.writeStartElement("devices");
      if (disk.isPresent()) {
        disk(w, "disk", "qcow2", disk.get(), "vda", "virtio");
      }
      if (configDrive.isPresent()) {
        disk(w, "cdrom", "raw", configDrive.get(), "hda", "ide");
      }
      w.writeStartElement("serial");
      w.writeAttribute("type", "file");
      w.writeEmptyElement("source");
      w.writeAttribute("path", console.toString());
      w.writeEmptyElement("target");
      w.writeAttribute("port", "0");
      w.writeEndElement();
      w.writeEmptyElement("memballoon");
      w.writeAttribute("model", "none");
      w.writeEndElement(); // devices
      w.writeEndElement(); // domain
      w.close();
    } catch (XMLStreamException e) {
      throw new IllegalStateException(e);
    }
    return out.toString();
  }

  private static void disk(
      XMLStreamWriter w, String device, String format, Path file, String dev, String bus)
      throws XMLStreamException {
    w.writeStartElement("disk");
    w.writeAttribute("type", "file");
    w.writeAttribute("device", device);
    w.writeEmptyElement("driver");
    w.writeAttribute("name", "qemu");
    w.writeAttribute("type", format); // always explicit: never let qemu guess a format
    w.writeEmptyElement("source");
    w.writeAttribute("file", file.toString());
    w.writeEmptyElement("target");
    w.writeAttribute("dev", dev);
    w.writeAttribute("bus", bus);
    if (device.equals("cdrom")) {
      w.writeEmptyElement("readonly");
    }
    w.writeEndElement();
  }

  private static void text(XMLStreamWriter w, String element, String value)
      throws XMLStreamException {
    w.writeStartElement(element);
    w.writeCharacters(value);
    w.writeEndElement();
  }
}
