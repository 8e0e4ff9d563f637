package io.virga.tinyguest;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.StringReader;
import java.nio.file.Path;
import java.util.Optional;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.xpath.XPathFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.xml.sax.InputSource;

class TinyGuestDomainTest {
  private static final TinyGuest.Artifacts GUEST =
      new TinyGuest.Artifacts(
          Path.of("/c/disk.qcow2"), Path.of("/c/vmlinuz"), Path.of("/c/initrd.gz"));

  @Test
  void directKernelBootDomainHasTheCmdlineAcpiAndTheConsoleFile() throws Exception {
    Document d =
        parse(
            TinyGuestDomain.domainXml(
                "kvm", "probe", GUEST, Optional.empty(), Optional.empty(), Path.of("/t/c.log")));
    assertThat(x(d, "/domain/@type")).isEqualTo("kvm");
    assertThat(x(d, "/domain/os/kernel")).isEqualTo("/c/vmlinuz");
    assertThat(x(d, "/domain/os/initrd")).isEqualTo("/c/initrd.gz");
    assertThat(x(d, "/domain/os/cmdline")).isEqualTo(TinyGuest.KERNEL_CMDLINE);
    assertThat(x(d, "count(/domain/features/acpi)")).isEqualTo("1");
    assertThat(x(d, "/domain/devices/serial[@type='file']/source/@path")).isEqualTo("/t/c.log");
    assertThat(x(d, "count(/domain/devices/disk)")).isEqualTo("0");
  }

  @Test
  void diskBootDomainNamesEveryFormatAndEscapesPaths() throws Exception {
    Path odd = Path.of("/tmp/a&b'<c>\"/disk");
    Document d =
        parse(
            TinyGuestDomain.domainXml(
                "qemu",
                "it",
                GUEST,
                Optional.of(odd),
                Optional.of(Path.of("/tmp/disk.config")),
                Path.of("/t/c.log")));
    assertThat(x(d, "/domain/@type")).isEqualTo("qemu");
    assertThat(x(d, "count(/domain/os/kernel)")).isEqualTo("0");
    assertThat(x(d, "/domain/devices/disk[@device='disk']/source/@file")).isEqualTo(odd.toString());
    assertThat(x(d, "/domain/devices/disk[@device='disk']/driver/@type")).isEqualTo("qcow2");
    assertThat(x(d, "/domain/devices/disk[@device='cdrom']/driver/@type")).isEqualTo("raw");
    assertThat(x(d, "/domain/devices/disk[@device='cdrom']/target/@bus")).isEqualTo("ide");
    assertThat(x(d, "count(/domain/devices/disk[@device='cdrom']/readonly)")).isEqualTo("1");
  }

  private static Document parse(String xml) throws Exception {
    return DocumentBuilderFactory.newInstance()
        .newDocumentBuilder()
        .parse(new InputSource(new StringReader(xml)));
  }

  private static String x(Document d, String xpath) throws Exception {
    return XPathFactory.newInstance().newXPath().evaluate(xpath, d);
  }
}
