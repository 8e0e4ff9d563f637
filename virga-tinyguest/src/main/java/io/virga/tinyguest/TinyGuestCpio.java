package io.virga.tinyguest;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Writes a cpio archive in the "newc" format the kernel unpacks as an initramfs. Written in Java so
 * that the tiny guest's initrd is built without root (device nodes need no mknod) and is
 * byte-for-byte reproducible (fixed owners and times).
 */
final class TinyGuestCpio implements AutoCloseable {
  private static final int S_IFDIR = 0040000;
  private static final int S_IFREG = 0100000;
  private static final int S_IFLNK = 0120000;
  private static final int S_IFCHR = 0020000;

  private final OutputStream out;
  private long written;
  private int inode = 1;

  TinyGuestCpio(OutputStream out) {
    this.out = out;
  }

  void directory(String name) throws IOException {
    entry(name, S_IFDIR | 0755, 0, 0, new byte[0]);
  }

  void file(String name, int perms, byte[] content) throws IOException {
    entry(name, S_IFREG | perms, 0, 0, content);
  }

  void symlink(String name, String target) throws IOException {
    entry(name, S_IFLNK | 0777, 0, 0, target.getBytes(StandardCharsets.UTF_8));
  }

  void charDevice(String name, int perms, int major, int minor) throws IOException {
    entry(name, S_IFCHR | perms, major, minor, new byte[0]);
  }

  private void entry(String name, int mode, int rdevMajor, int rdevMinor, byte[] data)
      throws IOException {
    byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
    StringBuilder h = new StringBuilder("070701");
    hex(h, inode++); // ino
    hex(h, mode);
    hex(h, 0); // uid
    hex(h, 0); // gid
    hex(h, (mode & S_IFDIR) == S_IFDIR ? 2 : 1); // nlink
    hex(h, 0); // mtime: fixed, for reproducible archives
    hex(h, data.length);
    hex(h, 0); // dev major
    hex(h, 0); // dev minor
    hex(h, rdevMajor);
    hex(h, rdevMinor);
    hex(h, nameBytes.length + 1);
    hex(h, 0); // check
    write(h.toString().getBytes(StandardCharsets.US_ASCII));
    write(nameBytes);
    write(new byte[] {0});
    pad();
    write(data);
    pad();
  }

  @Override
  public void close() throws IOException {
    entry("TRAILER!!!", 0, 0, 0, new byte[0]);
    out.close();
  }

  private static void hex(StringBuilder h, long value) {
    h.append(String.format("%08x", value));
  }

  private void write(byte[] b) throws IOException {
    out.write(b);
    written += b.length;
  }

  private void pad() throws IOException {
    while (written % 4 != 0) {
      write(new byte[] {0});
    }
  }
}
