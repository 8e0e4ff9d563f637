package io.virga.tinyguest;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TinyGuestCpioTest {
  record Entry(String name, int mode, int rdevMajor, int rdevMinor, byte[] data) {}

  @Test
  void writesNewcEntriesWithFourByteAlignmentAndATrailer() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (TinyGuestCpio cpio = new TinyGuestCpio(bytes)) {
      cpio.directory("bin");
      cpio.file("bin/hello", 0755, "hello!".getBytes(StandardCharsets.UTF_8));
      cpio.symlink("bin/sh", "busybox");
      cpio.charDevice("dev/console", 0600, 5, 1);
    }
    List<Entry> entries = parse(bytes.toByteArray());
    assertThat(entries)
        .extracting(Entry::name)
        .containsExactly("bin", "bin/hello", "bin/sh", "dev/console", "TRAILER!!!");
    assertThat(entries.get(0).mode()).isEqualTo(0040755);
    assertThat(entries.get(1).mode()).isEqualTo(0100755);
    assertThat(new String(entries.get(1).data(), StandardCharsets.UTF_8)).isEqualTo("hello!");
    assertThat(entries.get(2).mode()).isEqualTo(0120777);
    assertThat(new String(entries.get(2).data(), StandardCharsets.UTF_8)).isEqualTo("busybox");
    assertThat(entries.get(3).mode()).isEqualTo(0020600);
    assertThat(entries.get(3).rdevMajor()).isEqualTo(5);
    assertThat(entries.get(3).rdevMinor()).isEqualTo(1);
    assertThat(bytes.size() % 4).isZero();
  }

  @Test
  void isReproducible() throws Exception {
    assertThat(archive()).isEqualTo(archive());
  }

  private static byte[] archive() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (TinyGuestCpio cpio = new TinyGuestCpio(bytes)) {
      cpio.file("init", 0755, "#!/bin/sh\n".getBytes(StandardCharsets.UTF_8));
    }
    return bytes.toByteArray();
  }

  /** An independent reader of the newc format, as the kernel's initramfs unpacker reads it. */
  private static List<Entry> parse(byte[] a) {
    List<Entry> out = new ArrayList<>();
    int pos = 0;
    while (true) {
      String header = new String(a, pos, 110, StandardCharsets.US_ASCII);
      assertThat(header).startsWith("070701");
      int mode = field(header, 1);
      int size = field(header, 6);
      int rdevMajor = field(header, 9);
      int rdevMinor = field(header, 10);
      int nameSize = field(header, 11);
      String name = new String(a, pos + 110, nameSize - 1, StandardCharsets.UTF_8);
      assertThat(a[pos + 110 + nameSize - 1]).isZero();
      pos = align(pos + 110 + nameSize);
      byte[] data = java.util.Arrays.copyOfRange(a, pos, pos + size);
      pos = align(pos + size);
      out.add(new Entry(name, mode, rdevMajor, rdevMinor, data));
      if (name.equals("TRAILER!!!")) {
        assertThat(pos).isEqualTo(a.length);
        return out;
      }
    }
  }

  private static int field(String header, int index) {
    return Integer.parseInt(header.substring(6 + index * 8, 14 + index * 8), 16);
  }

  private static int align(int n) {
    return (n + 3) & ~3;
  }
}
