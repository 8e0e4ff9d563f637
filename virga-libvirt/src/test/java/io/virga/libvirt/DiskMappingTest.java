package io.virga.libvirt;

import static org.assertj.core.api.Assertions.assertThat;

import io.virga.core.Flavor;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DiskMappingTest {
  private static Flavor flavor(int eph, int swap) {
    return new Flavor("f", "f", 128, 1, 1, eph, swap, Map.of());
  }

  @Test
  void rootOnly() {
    var m = DiskMapping.forInstance(flavor(0, 0), false, "ide");
    assertThat(m.entries()).containsExactly(new DiskMapping.Entry("disk", "vda", "virtio", "disk"));
  }

  @Test
  void ephemeralSwapAndConfigDriveOnIde() {
    var m = DiskMapping.forInstance(flavor(1, 64), true, "ide");
    assertThat(m.entries())
        .containsExactly(
            new DiskMapping.Entry("disk", "vda", "virtio", "disk"),
            new DiskMapping.Entry("disk.local", "vdb", "virtio", "disk"),
            new DiskMapping.Entry("disk.swap", "vdc", "virtio", "disk"),
            new DiskMapping.Entry("disk.config", "hdd", "ide", "cdrom"));
  }

  @Test
  void swapWithoutEphemeralTakesVdb() {
    var m = DiskMapping.forInstance(flavor(0, 64), true, "sata");
    assertThat(m.get("disk.swap").orElseThrow().dev()).isEqualTo("vdb");
    assertThat(m.get("disk.config").orElseThrow())
        .isEqualTo(new DiskMapping.Entry("disk.config", "sda", "sata", "cdrom"));
    assertThat(m.get("disk.local")).isEmpty();
  }
}
