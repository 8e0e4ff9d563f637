package io.virga.libvirt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.virga.core.Config;
import io.virga.core.Flavor;
import io.virga.core.InvalidInputException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.xmlunit.builder.Input;
import org.xmlunit.xpath.JAXPXPathEngine;

class GuestXmlWriterTest {
  private static final Path DIR =
      Path.of("/var/lib/nova/instances/4d915d00-4a80-4793-914f-53d46d13b6e5");

  private static LibvirtOptions tcg() {
    return LibvirtOptions.from(
        Config.of(Map.of("virt_type", "qemu", "instances_path", "/var/lib/nova/instances")));
  }

  private static String xml(String displayName, Flavor flavor, LibvirtOptions opts) {
    var spec = TestSpecs.spec(displayName, flavor);
    var mapping = DiskMapping.forInstance(flavor, false, opts.cdromBus());
    return GuestXmlWriter.write(
        GuestConfigBuilder.build(
            spec, opts, mapping, Map.of("disk", "qcow2"), DIR, Optional.empty(), "none"));
  }

  private static String ref() throws Exception {
    try (InputStream in =
        GuestXmlWriterTest.class.getResourceAsStream("nova-zed-domain-128mb-tcg.xml")) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private static String eval(String xml, String xpath) {
    var engine = new JAXPXPathEngine();
    engine.setNamespaceContext(Map.of("nova", GuestXmlWriter.NOVA_NS));
    return engine.evaluate(xpath, Input.fromString(xml).build());
  }

  /** Every field Virga sets has the value Nova wrote for the same instance (reference XML). */
  @Test
  void matchesNovaReferenceForEveryFieldWeSet() throws Exception {
    String ours = xml("warm1", TestSpecs.tiny(), tcg());
    String ref = ref();
    List<String> paths =
        List.of(
            "/domain/@type",
            "/domain/name",
            "/domain/uuid",
            "/domain/memory",
            "/domain/memory/@unit",
            "/domain/currentMemory",
            "/domain/vcpu",
            "/domain/vcpu/@placement",
            "/domain/sysinfo/@type",
            "/domain/sysinfo/system/entry[@name='manufacturer']",
            "/domain/sysinfo/system/entry[@name='product']",
            "/domain/sysinfo/system/entry[@name='serial']",
            "/domain/sysinfo/system/entry[@name='uuid']",
            "/domain/sysinfo/system/entry[@name='family']",
            "/domain/os/type",
            "/domain/os/type/@arch",
            "/domain/os/boot/@dev",
            "/domain/os/smbios/@mode",
            "count(/domain/features/acpi)",
            "count(/domain/features/apic)",
            "/domain/cpu/topology/@sockets",
            "/domain/cpu/topology/@cores",
            "/domain/cpu/topology/@threads",
            "/domain/clock/@offset",
            "count(/domain/clock/timer)",
            "/domain/on_poweroff",
            "/domain/on_reboot",
            "/domain/on_crash",
            "/domain/devices/disk/@type",
            "/domain/devices/disk/@device",
            "/domain/devices/disk/driver/@name",
            "/domain/devices/disk/driver/@type",
            "/domain/devices/disk/driver/@cache",
            "/domain/devices/disk/source/@file",
            "/domain/devices/disk/target/@dev",
            "/domain/devices/disk/target/@bus",
            "/domain/devices/serial/@type",
            "/domain/devices/serial/log/@file",
            "/domain/devices/serial/log/@append",
            "/domain/devices/serial/target/@type",
            "/domain/devices/serial/target/@port",
            "/domain/devices/console/@type",
            "/domain/devices/console/log/@file",
            "/domain/devices/console/target/@type",
            "/domain/devices/memballoon/@model",
            "/domain/devices/memballoon/stats/@period",
            "/domain/metadata/nova:instance/nova:name",
            "/domain/metadata/nova:instance/nova:creationTime",
            "/domain/metadata/nova:instance/nova:flavor/@name",
            "/domain/metadata/nova:instance/nova:flavor/nova:memory",
            "/domain/metadata/nova:instance/nova:flavor/nova:disk",
            "/domain/metadata/nova:instance/nova:flavor/nova:swap",
            "/domain/metadata/nova:instance/nova:flavor/nova:ephemeral",
            "/domain/metadata/nova:instance/nova:flavor/nova:vcpus",
            "/domain/metadata/nova:instance/nova:owner/nova:user/@uuid",
            "/domain/metadata/nova:instance/nova:owner/nova:project/@uuid",
            "/domain/metadata/nova:instance/nova:root/@type",
            "/domain/metadata/nova:instance/nova:root/@uuid");
    for (String p : paths) {
      assertThat(eval(ours, p)).as(p).isEqualTo(eval(ref, p)).isNotEmpty();
    }
    // Deliberate differences: SMBIOS version and nova:package carry Virga's version; cpu mode
    // is none (qemu64) under TCG by default, where Nova chose host-model.
    assertThat(eval(ours, "/domain/sysinfo/system/entry[@name='version']"))
        .isEqualTo(GuestConfigBuilder.version());
    assertThat(eval(ours, "/domain/cpu/@mode")).isEmpty();
    assertThat(eval(ref, "/domain/cpu/@mode")).isEqualTo("host-model");
  }

  @Test
  void hostileDisplayNameIsEscapedAndRoundTrips() {
    String name = "a \"quoted\" & <b>bold</b> 'name' ]]> \u0001end";
    String ours = xml(name, TestSpecs.tiny(), tcg());
    assertThat(ours).doesNotContain("<b>").doesNotContain("\u0001");
    assertThat(eval(ours, "/domain/metadata/nova:instance/nova:name"))
        .isEqualTo("a \"quoted\" & <b>bold</b> 'name' ]]> \uFFFDend");
    // the name never reaches anything but the metadata text node
    assertThat(eval(ours, "count(//*[contains(text(), 'quoted')])")).isEqualTo("1");
  }

  @Test
  void hostileFlavorNameStaysAnAttributeValue() {
    var f = new Flavor("x", "f' onload=\"x\" & <y>", 128, 1, 1, 0, 0, Map.of());
    String ours = xml("n", f, tcg());
    assertThat(eval(ours, "/domain/metadata/nova:instance/nova:flavor/@name"))
        .isEqualTo("f' onload=\"x\" & <y>");
    assertThat(eval(ours, "count(/domain/metadata/nova:instance/nova:flavor/@*)")).isEqualTo("1");
  }

  @Test
  void cputuneFromExtraSpecs() {
    var f =
        new Flavor(
            "x",
            "t",
            128,
            2,
            1,
            0,
            0,
            Map.of(
                "quota:cpu_shares",
                "2048",
                "quota:cpu_period",
                "100000",
                "quota:cpu_quota",
                "50000"));
    String ours = xml("n", f, tcg());
    assertThat(eval(ours, "/domain/cputune/shares")).isEqualTo("2048");
    assertThat(eval(ours, "/domain/cputune/period")).isEqualTo("100000");
    assertThat(eval(ours, "/domain/cputune/quota")).isEqualTo("50000");
    assertThat(eval(ours, "/domain/cpu/topology/@sockets")).isEqualTo("2");
    assertThat(eval(xml("n", TestSpecs.tiny(), tcg()), "count(/domain/cputune)")).isEqualTo("0");
  }

  @Test
  void cputuneRejectsNonNumbers() {
    var f = new Flavor("x", "t", 128, 1, 1, 0, 0, Map.of("quota:cpu_shares", "1</shares>"));
    assertThatThrownBy(() -> xml("n", f, tcg())).isInstanceOf(InvalidInputException.class);
  }

  @Test
  void kvmGetsHostModelAndNovaTimers() {
    var kvm = LibvirtOptions.from(Config.of(Map.of("virt_type", "kvm")));
    String ours = xml("n", TestSpecs.tiny(), kvm);
    assertThat(eval(ours, "/domain/@type")).isEqualTo("kvm");
    assertThat(eval(ours, "/domain/cpu/@mode")).isEqualTo("host-model");
    assertThat(eval(ours, "/domain/clock/timer[@name='pit']/@tickpolicy")).isEqualTo("delay");
    assertThat(eval(ours, "/domain/clock/timer[@name='rtc']/@tickpolicy")).isEqualTo("catchup");
    assertThat(eval(ours, "/domain/clock/timer[@name='hpet']/@present")).isEqualTo("no");
  }

  @Test
  void directKernelBootAndAllDisks() {
    var opts = tcg();
    var f = new Flavor("x", "t", 128, 1, 1, 1, 64, Map.of());
    var spec = TestSpecs.spec("n", f);
    var mapping = DiskMapping.forInstance(f, true, opts.cdromBus());
    String ours =
        GuestXmlWriter.write(
            GuestConfigBuilder.build(
                spec,
                opts,
                mapping,
                Map.of(
                    "disk",
                    "qcow2",
                    "disk.local",
                    "qcow2",
                    "disk.swap",
                    "qcow2",
                    "disk.config",
                    "raw"),
                DIR,
                Optional.of(
                    new GuestConfigBuilder.KernelBoot(
                        Path.of("/b/k"), Optional.of(Path.of("/b/r")), "console=ttyS0 a&b")),
                "writeback"));
    assertThat(eval(ours, "/domain/os/kernel")).isEqualTo("/b/k");
    assertThat(eval(ours, "/domain/os/initrd")).isEqualTo("/b/r");
    assertThat(eval(ours, "/domain/os/cmdline")).isEqualTo("console=ttyS0 a&b");
    assertThat(eval(ours, "count(/domain/os/boot)")).isEqualTo("0");
    assertThat(eval(ours, "/domain/devices/disk[target/@dev='vdb']/source/@file"))
        .endsWith("/disk.local");
    assertThat(eval(ours, "/domain/devices/disk[target/@dev='vdc']/source/@file"))
        .endsWith("/disk.swap");
    assertThat(eval(ours, "/domain/devices/disk[@device='cdrom']/target/@bus")).isEqualTo("ide");
    assertThat(eval(ours, "/domain/devices/disk[@device='cdrom']/target/@dev")).isEqualTo("hdd");
    assertThat(eval(ours, "/domain/devices/disk[@device='cdrom']/driver/@type")).isEqualTo("raw");
    assertThat(eval(ours, "count(/domain/devices/disk[@device='cdrom']/readonly)")).isEqualTo("1");
    assertThat(eval(ours, "/domain/devices/disk[1]/driver/@cache")).isEqualTo("writeback");
  }

  @Test
  void diskWithoutRecordedFormatIsRefused() {
    var opts = tcg();
    var spec = TestSpecs.spec("n", TestSpecs.tiny());
    var mapping = DiskMapping.forInstance(TestSpecs.tiny(), true, "ide");
    assertThatThrownBy(
            () ->
                GuestConfigBuilder.build(
                    spec, opts, mapping, Map.of("disk", "qcow2"), DIR, Optional.empty(), "none"))
        .hasMessageContaining("disk.config");
  }
}
