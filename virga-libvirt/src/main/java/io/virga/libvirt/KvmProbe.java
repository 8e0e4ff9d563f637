package io.virga.libvirt;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import javax.xml.stream.XMLOutputFactory;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamWriter;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.LibvirtException;

/**
 * Finds out whether KVM guests really run on this host: /dev/kvm can exist while guests never get
 * past the firmware (nested virtualisation without the right CPU flags). Boots the tiny guest as a
 * transient {@code type='kvm'} domain by direct kernel boot and watches its console for {@link
 * TinyGuest#BOOT_LINE}; without it, the host must use TCG ({@code virt_type=qemu}).
 */
public final class KvmProbe {
  /** What the probe saw: whether the guest booted (its boot line appeared), and why not. */
  public record Outcome(boolean booted, String detail) {}

  private KvmProbe() {}

  /** Boots the tiny guest under KVM through {@code uri} and waits up to {@code timeout}. */
  public static Outcome probe(String uri, TinyGuest.Artifacts guest, Duration timeout) {
    if (!Files.exists(Path.of("/dev/kvm"))) {
      return new Outcome(false, "/dev/kvm does not exist");
    }
    return boot(uri, "kvm", guest, timeout);
  }

  /**
   * Boots the tiny guest as a transient domain of the given type ({@code kvm} or {@code qemu}) by
   * direct kernel boot and reports whether its boot line appeared within {@code timeout}.
   */
  static Outcome boot(String uri, String type, TinyGuest.Artifacts guest, Duration timeout) {
    Path dir;
    try {
      dir = Files.createTempDirectory("virga-kvm-probe");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Path console = dir.resolve("console.log");
    String name = "virga-" + type + "-probe-" + UUID.randomUUID().toString().substring(0, 8);
    Connect conn = null;
    Domain dom = null;
    try {
      conn = new Connect(uri);
      dom =
          conn.domainCreateXML(
              domainXml(type, name, guest, Optional.empty(), Optional.empty(), console), 0);
      long deadline = System.nanoTime() + timeout.toNanos();
      while (System.nanoTime() < deadline) {
        if (consoleHas(console, TinyGuest.BOOT_LINE)) {
          return new Outcome(true, "a " + type + " guest booted");
        }
        Thread.sleep(100);
      }
      return new Outcome(
          false,
          "a KVM guest started but printed no boot line within " + timeout.toSeconds() + " s");
    } catch (LibvirtException e) {
      return new Outcome(false, "libvirt refused a " + type + " guest: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Outcome(false, "interrupted");
    } finally {
      try {
        if (dom != null) {
          dom.destroy(); // transient: destroying it removes it
          dom.free();
        }
        if (conn != null) {
          conn.close();
        }
      } catch (LibvirtException e) {
        // the domain may already be gone; nothing else to clean
      }
      try {
        TinyGuestBuilder.deleteTree(dir);
      } catch (IOException e) {
        // a leftover temp file is harmless
      }
    }
  }

  /** True if the console log exists and contains the text. */
  static boolean consoleHas(Path console, String text) {
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
  static String domainXml(
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
