package io.virga.tinyguest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TinyGuestInitramfsTest {
  @TempDir Path dir;

  @Test
  void readsDependsFromTheModinfoStrings() {
    assertThat(TinyGuestInitramfs.dependencies(ko("virtio_ring,virtio_pci_modern_dev,virtio")))
        .containsExactly("virtio_ring", "virtio_pci_modern_dev", "virtio");
    assertThat(TinyGuestInitramfs.dependencies(ko(""))).isEmpty();
    assertThat(TinyGuestInitramfs.dependencies(ko("nls-iso8859-1")))
        .containsExactly("nls_iso8859_1");
  }

  @Test
  void ignoresDependsThatIsNotAModinfoString() {
    byte[] notModinfo = "xxdepends=virtio\0".getBytes(StandardCharsets.US_ASCII);
    assertThat(TinyGuestInitramfs.dependencies(notModinfo)).isEmpty();
  }

  @Test
  void loadsEveryModuleAfterItsDependenciesAndSkipsBuiltIns() throws Exception {
    Map<String, Path> available = new HashMap<>();
    for (String m : TinyGuestInitramfs.MODULES) {
      available.put(m, write(m, ""));
    }
    available.put("virtio_pci", write("virtio_pci", "virtio_ring,virtio"));
    available.put("virtio_blk", write("virtio_blk", "virtio,virtio_ring"));
    available.put("virtio", write("virtio", "virtio_ring"));
    available.put("virtio_ring", write("virtio_ring", ""));
    available.put("sr_mod", write("sr_mod", "scsi_mod,cdrom"));
    available.put("scsi_mod", write("scsi_mod", ""));

    List<String> order = TinyGuestInitramfs.loadOrder(available, Set.of("fat", "nls_utf8"));

    assertThat(order).doesNotContain("fat", "nls_utf8").doesNotHaveDuplicates();
    assertThat(order.indexOf("virtio_ring")).isLessThan(order.indexOf("virtio"));
    assertThat(order.indexOf("virtio")).isLessThan(order.indexOf("virtio_pci"));
    assertThat(order.indexOf("virtio_pci")).isLessThan(order.indexOf("virtio_blk"));
    assertThat(order.indexOf("scsi_mod")).isLessThan(order.indexOf("sr_mod"));
    assertThat(order.indexOf("cdrom")).isLessThan(order.indexOf("sr_mod"));
  }

  @Test
  void refusesAKernelWithoutARequiredModule() throws Exception {
    Map<String, Path> available = new HashMap<>();
    for (String m : TinyGuestInitramfs.MODULES) {
      available.put(m, write(m, ""));
    }
    available.remove("ata_piix");
    assertThatThrownBy(() -> TinyGuestInitramfs.loadOrder(available, Set.of()))
        .isInstanceOf(TinyGuestException.class)
        .hasMessageContaining("ata_piix");
  }

  private Path write(String name, String depends) throws Exception {
    return Files.write(dir.resolve(name + ".ko"), ko(depends));
  }

  /** A stand-in module: some ELF-ish bytes, then NUL-separated modinfo strings. */
  private static byte[] ko(String depends) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    b.writeBytes(new byte[] {0x7f, 'E', 'L', 'F', 0, 0});
    for (String s : List.of("license=GPL", "depends=" + depends, "intree=Y", "name=x")) {
      b.writeBytes(s.getBytes(StandardCharsets.US_ASCII));
      b.write(0);
    }
    return b.toByteArray();
  }
}
