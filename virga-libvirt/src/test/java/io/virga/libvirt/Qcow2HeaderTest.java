package io.virga.libvirt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Qcow2HeaderTest {
  @TempDir Path dir;

  private Path image(int magic, int version, String backing, long size) throws Exception {
    byte[] name = backing.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(512);
    b.putInt(magic).putInt(version).putLong(name.length == 0 ? 0 : 104);
    b.putInt(name.length).putInt(16).putLong(size);
    b.position(104);
    b.put(name);
    Path p = dir.resolve("disk-" + System.nanoTime());
    Files.write(p, b.array());
    return p;
  }

  @Test
  void readsVirtualSizeAndBackingFile() throws Exception {
    Path p = image(0x514649fb, 3, "/var/lib/virga/instances/_base/abc", 5L << 30);
    Qcow2Header h = Qcow2Header.read(p);
    assertThat(h.virtualSize()).isEqualTo(5L << 30);
    assertThat(h.backingFile()).contains("/var/lib/virga/instances/_base/abc");
    assertThat(h.backingPath(p)).contains(Path.of("/var/lib/virga/instances/_base/abc"));
  }

  @Test
  void noBackingFileAndARelativeOne() throws Exception {
    assertThat(Qcow2Header.read(image(0x514649fb, 2, "", 1 << 20)).backingFile()).isEmpty();
    Path rel = image(0x514649fb, 3, "../_base/abc", 1 << 20);
    assertThat(Qcow2Header.read(rel).backingPath(rel))
        .contains(dir.getParent().resolve("_base/abc"));
  }

  @Test
  void refusesWhatIsNotAQcow2HeaderItCanRead() throws Exception {
    assertThatThrownBy(() -> Qcow2Header.read(image(0x12345678, 3, "", 1 << 20)))
        .hasMessageContaining("no qcow2 v2/v3 header");
    assertThatThrownBy(() -> Qcow2Header.read(image(0x514649fb, 4, "", 1 << 20)))
        .hasMessageContaining("no qcow2 v2/v3 header");
    Path truncated = dir.resolve("short");
    Files.write(truncated, new byte[] {'Q', 'F', 'I', (byte) 0xfb});
    assertThatThrownBy(() -> Qcow2Header.read(truncated)).hasMessageContaining("truncated");
    Path longName = image(0x514649fb, 3, "x".repeat(300), 1 << 20);
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(longName));
    b.putInt(16, 4096); // a backing name longer than qemu allows
    Files.write(longName, b.array());
    assertThatThrownBy(() -> Qcow2Header.read(longName)).hasMessageContaining("backing file");
  }
}
