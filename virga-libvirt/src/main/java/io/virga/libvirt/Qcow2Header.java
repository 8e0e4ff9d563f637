package io.virga.libvirt;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/**
 * The two fields of a qcow2 header the migration steps need — virtual size and backing file name —
 * read in Java from a file whose format is <em>recorded</em> as qcow2 ({@code disk.info}), so no
 * {@code qemu-img info} process is spawned per disk. Anything that is not a version 2 or 3 qcow2
 * header with a sane backing name is refused, never guessed around.
 *
 * @param backingFile as written in the header (absolute for Virga's own disks), empty when none
 */
record Qcow2Header(long virtualSize, Optional<String> backingFile) {
  private static final int MAGIC = 0x514649fb; // "QFI\xfb"
  private static final int MAX_BACKING_NAME = 1023; // qemu's own limit

  static Qcow2Header read(Path file) {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      ByteBuffer h = ByteBuffer.allocate(32); // big-endian, as qcow2
      readFully(ch, h, 0, file);
      int magic = h.getInt(0);
      int version = h.getInt(4);
      if (magic != MAGIC || (version != 2 && version != 3)) {
        throw new IllegalStateException(
            file + " is recorded as qcow2 but has no qcow2 v2/v3 header");
      }
      long backingOffset = h.getLong(8);
      int backingSize = h.getInt(16);
      long size = h.getLong(24);
      if (size < 0) {
        throw new IllegalStateException(file + ": negative virtual size in its qcow2 header");
      }
      if (backingOffset == 0 || backingSize == 0) {
        return new Qcow2Header(size, Optional.empty());
      }
      if (backingSize < 0 || backingSize > MAX_BACKING_NAME || backingOffset < 32) {
        throw new IllegalStateException(file + ": bad backing file field in its qcow2 header");
      }
      ByteBuffer name = ByteBuffer.allocate(backingSize);
      readFully(ch, name, backingOffset, file);
      return new Qcow2Header(size, Optional.of(new String(name.array(), StandardCharsets.UTF_8)));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the qcow2 header of " + file, e);
    }
  }

  /** The backing file as a path: a relative name is relative to the image's directory. */
  Optional<Path> backingPath(Path image) {
    return backingFile().map(b -> image.toAbsolutePath().getParent().resolve(b).normalize());
  }

  private static void readFully(FileChannel ch, ByteBuffer b, long at, Path file)
      throws IOException {
    while (b.hasRemaining()) {
      if (ch.read(b, at + b.position()) < 0) {
        throw new IllegalStateException(file + ": truncated qcow2 header");
      }
    }
  }
}
