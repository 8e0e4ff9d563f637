package io.virga.libvirt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.virga.core.InvalidStateException;
import io.virga.virt.MigrationProgress;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class LiveMigrationXmlTest {
  private static String domain(String type, String dir, String extraDisk) {
    return "<domain type='"
        + type
        + "'><name>instance-1</name>"
        + "<os><type>hvm</type><kernel>"
        + dir
        + "/_base/k</kernel><initrd>"
        + dir
        + "/_base/r</initrd></os><devices>"
        + "<disk type='file' device='disk'><driver type='qcow2'/><source file='"
        + dir
        + "/u/disk'/><target dev='vda' bus='virtio'/><address type='pci' slot='0x04'/></disk>"
        + extraDisk
        + "<disk type='file' device='cdrom'><source file='"
        + dir
        + "/u/disk.config'/><target dev='hdd' bus='ide'/></disk>"
        + "<serial type='pty'><log file='"
        + dir
        + "/u/console.log' append='off'/></serial>"
        + "</devices></domain>";
  }

  @Test
  void destinationPathsGoIntoTheSourcesXmlKeepingItsDevicesAndAddresses() {
    String src = domain("qemu", "/a", "");
    String dst = domain("qemu", "/b &amp; c", "");
    String out = LiveMigrationXml.update(src, dst);
    DomainDisks disks = DomainDisks.of(out);
    assertThat(disks.disks())
        .extracting(DomainDisks.Disk::file)
        .containsExactly(Path.of("/b & c/u/disk"), Path.of("/b & c/u/disk.config"));
    assertThat(disks.writableDevs()).containsExactly("vda");
    assertThat(out).contains("slot=\"0x04\"").contains("/b &amp; c/u/console.log");
    assertThat(out).contains("append=\"on\"").doesNotContain("append=\"off\"");
    assertThat(out).contains("<kernel>/b &amp; c/_base/k</kernel>");
  }

  @Test
  void aDiskTheDestinationDoesNotHaveIsRefused() {
    String src =
        domain(
            "qemu",
            "/a",
            "<disk type='file' device='disk'><source file='/a/u/disk.local'/>"
                + "<target dev='vdb' bus='virtio'/></disk>");
    assertThatThrownBy(() -> LiveMigrationXml.update(src, domain("qemu", "/b", "")))
        .hasMessageContaining("vdb");
  }

  @Test
  void domainTypesMustMatch() {
    LiveMigrationXml.checkSameType(domain("qemu", "/a", ""), domain("qemu", "/b", ""), "h2");
    assertThatThrownBy(
            () ->
                LiveMigrationXml.checkSameType(
                    domain("kvm", "/a", ""), domain("qemu", "/b", ""), "h2"))
        .isInstanceOf(InvalidStateException.class)
        .hasMessageContaining("kvm")
        .hasMessageContaining("h2");
  }

  @Test
  void cpuElementOnlyWhenAModelIsNamed() {
    assertThat(LiveMigrationXml.cpu(domain("kvm", "/a", ""))).isEmpty();
    String withCpu =
        "<domain type='kvm'><cpu mode='custom'><model>Skylake-Client</model></cpu></domain>";
    assertThat(LiveMigrationXml.cpu(withCpu).orElseThrow()).contains("Skylake-Client");
  }

  @Test
  void completedProgressIsAllOfTheTotals() {
    var last = new MigrationProgress(100, 40, 60, 50, 10, 40);
    assertThat(LiveMigrationMonitor.completed(last, 999, 777))
        .isEqualTo(new MigrationProgress(100, 100, 0, 50, 50, 0));
    assertThat(LiveMigrationMonitor.completed(MigrationProgress.NONE, 128L << 20, 0).percent())
        .isEqualTo(100);
    // a block migration over before any poll saw its disks reports their local bytes
    var memoryOnly = new MigrationProgress(128, 128, 0, 0, 0, 0);
    assertThat(LiveMigrationMonitor.completed(memoryOnly, 999, 4096))
        .isEqualTo(new MigrationProgress(128, 128, 0, 4096, 4096, 0));
  }
}
