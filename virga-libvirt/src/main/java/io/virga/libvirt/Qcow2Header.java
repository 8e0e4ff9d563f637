package io.virga.libvirt;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Optional;

/**
 * The two fields of a qcow2 header the migration steps need — virtual size and backing file name —
 * read in Java from a file whose format is <em>recorded</em> as qcow2 ({@code disk.info}), so no
 * {@code qemu-img info} process is spawned per disk. Anything that is not a version 2 or 3 qcow2
 * header with a sane backing name is refused, never guessed around. {@link #changeBackingFile}
 * rewrites the backing file name the way {@code qemu-img rebase -u} does, without the process.
 *
 * @param backingFile as written in the header (absolute for Virga's own disks), empty when none
 */
record Qcow2Header(long virtualSize, Optional<String> backingFile) {
  private static final int MAGIC = 0x514649fb; // "QFI\xfb"
  private static final int MAX_BACKING_NAME = 1023; // qemu's own limit
  private static final int V2_HEADER = 72;
  private static final long QEMU_LOCK_BYTES = 100; // file-posix: 100 + perm bit, 200 + perm bit
  private static final long QEMU_LOCK_BYTES_LENGTH = 200;
  private static final int EXT_END = 0;
  private static final int EXT_BACKING_FORMAT = 0xE2792ACA;
  private static final int EXT_DATA_FILE = 0x44415441;
  // incompatible features this code leaves valid by not touching them: compression type (bit 3)
  // and extended L2 entries (bit 4); dirty, corrupt and external data file are refused
  private static final long KNOWN_INCOMPATIBLE = (1L << 3) | (1L << 4);
  // autoclear: only "bitmaps extension is consistent" (bit 0), which a header rewrite keeps true
  private static final long KNOWN_AUTOCLEAR = 1L;

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

  /**
   * Points a qcow2 image at another backing file with the same content, as {@code qemu-img rebase
   * -u -F <format>} does through qemu's {@code qcow2_change_backing_file}, without a process: the
   * header cluster is read, the new name written after the header extensions (where qemu puts it),
   * the backing-format extension rewritten in place when the format changes, the old name's bytes
   * zeroed, and the changed part of cluster 0 written back in one positional write that is on the
   * disk when it returns. Call it only for a file whose format is recorded as qcow2; an image a
   * process holds qemu's lock on (a running guest, a qemu-img) is declined, as qemu-img would.
   *
   * <p>That write goes through {@code O_DSYNC}, not a {@code force()} after it: fdatasync flushes
   * every dirty page of the file, and a disk that just arrived by migration has all its data still
   * in the page cache (the transfer does not fsync, as cp and rsync) — ~200 ms for 256 MiB, the
   * cost that had been put down to {@code qemu-img rebase -u}'s process, which flushes the same
   * way. {@code O_DSYNC} makes this write and the metadata to reach it durable, nothing else.
   *
   * @param backingFormat the backing file's recorded format (qemu's name), never a guess
   * @return empty when the header was rewritten; otherwise why it was not — nothing was written,
   *     and {@code qemu-img rebase -u} is the way to do it
   */
  static Optional<String> changeBackingFile(Path file, String backing, String backingFormat) {
    try (FileChannel ch =
        FileChannel.open(
            file, StandardOpenOption.READ, StandardOpenOption.WRITE, StandardOpenOption.DSYNC)) {
      lockOutQemu(ch);
      ByteBuffer cluster = headerCluster(ch, file);
      int end =
          new BackingRewrite(cluster)
              .apply(
                  backing.getBytes(StandardCharsets.UTF_8),
                  backingFormat.getBytes(StandardCharsets.US_ASCII));
      cluster.position(0).limit(end);
      while (cluster.hasRemaining()) { // one pwrite: a regular file takes it whole
        ch.write(cluster, cluster.position());
      }
      return Optional.empty();
    } catch (Refused r) {
      return Optional.of(r.getMessage());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot rewrite the qcow2 header of " + file, e);
    }
  }

  /**
   * qemu's image locking (bytes 100.. and 200.. of the file, one per permission, OFD locks): a
   * process that has the image open holds some of them, and {@code qemu-img rebase} would fail on
   * them. Every one of them taken here, exclusively, until the channel closes: declined when any is
   * held, and no qemu can open the image while the header changes.
   */
  private static void lockOutQemu(FileChannel ch) throws IOException, Refused {
    FileLock lock;
    try {
      lock = ch.tryLock(QEMU_LOCK_BYTES, QEMU_LOCK_BYTES_LENGTH, false);
    } catch (OverlappingFileLockException e) {
      lock = null;
    }
    if (lock == null) {
      throw new Refused("the image is in use: another process holds qemu's lock on it");
    }
  }

  /** Cluster 0 of the image, whole, after the checks that make reading it meaningful. */
  private static ByteBuffer headerCluster(FileChannel ch, Path file) throws IOException, Refused {
    ByteBuffer h = ByteBuffer.allocate(V2_HEADER);
    if (ch.size() < V2_HEADER) {
      throw new Refused("the file is shorter than a qcow2 header");
    }
    readFully(ch, h, 0, file);
    int version = h.getInt(4);
    if (h.getInt(0) != MAGIC || (version != 2 && version != 3)) {
      throw new Refused("no qcow2 v2/v3 header");
    }
    int clusterBits = h.getInt(20);
    if (clusterBits < 9 || clusterBits > 21) { // qemu's MIN/MAX_CLUSTER_BITS
      throw new Refused("cluster_bits " + clusterBits + " is outside 9..21");
    }
    if (ch.size() < 1L << clusterBits) {
      throw new Refused("the file is shorter than its header cluster");
    }
    ByteBuffer cluster = ByteBuffer.allocate(1 << clusterBits);
    readFully(ch, cluster, 0, file);
    return cluster;
  }

  /** The checks and the edit of one header cluster, in memory. */
  private static final class BackingRewrite {
    private final ByteBuffer c;
    private final int size;

    BackingRewrite(ByteBuffer cluster) {
      this.c = cluster;
      this.size = cluster.capacity();
    }

    /** Edits the cluster; returns the end of the part that changed. */
    int apply(byte[] name, byte[] format) throws Refused {
      if (name.length == 0 || name.length > MAX_BACKING_NAME) {
        throw new Refused(
            "the new backing name is " + name.length + " bytes, not 1.." + MAX_BACKING_NAME);
      }
      int headerLength = checkedHeaderLength();
      long oldOffset = c.getLong(8);
      int oldLength = c.getInt(16);
      boolean hadName = oldOffset != 0 && oldLength != 0;
      if (hadName
          && (oldLength < 0
              || oldLength > MAX_BACKING_NAME
              || oldOffset < headerLength
              || oldOffset + oldLength > size)) {
        throw new Refused("the old backing name does not lie in the header cluster");
      }
      // qemu reads the extensions up to the backing name (or the end of the cluster)
      int[] ext = extensions(headerLength, hadName ? (int) oldOffset : size);
      int extEnd = ext[0];
      if (extEnd + (long) name.length > size) {
        throw new Refused(
            "a "
                + name.length
                + "-byte name does not fit in the "
                + size
                + "-byte header cluster after its extensions (which end at "
                + extEnd
                + ")");
      }
      keepFormatConsistent(ext[1], format);
      if (hadName) {
        zero((int) oldOffset, oldLength);
      }
      c.put(extEnd, name);
      c.putLong(8, extEnd).putInt(16, name.length);
      return Math.max(extEnd + name.length, hadName ? (int) oldOffset + oldLength : 0);
    }

    /** Version, encryption, features and table offsets checked; returns header_length. */
    private int checkedHeaderLength() throws Refused {
      if (c.getInt(32) != 0) {
        throw new Refused("the image is encrypted (crypt_method " + c.getInt(32) + ")");
      }
      boolean overlap =
          inClusterZero(c.getLong(48))
              || (c.getInt(36) != 0 && inClusterZero(c.getLong(40)))
              || (c.getInt(60) != 0 && inClusterZero(c.getLong(64)));
      if (overlap) {
        throw new Refused("its L1, refcount or snapshot table overlaps the header cluster");
      }
      if (c.getInt(4) == 2) {
        return V2_HEADER;
      }
      long incompatible = c.getLong(72);
      if ((incompatible & ~KNOWN_INCOMPATIBLE) != 0) {
        throw new Refused(
            "incompatible features 0x"
                + Long.toHexString(incompatible)
                + " (dirty, corrupt, external data file or unknown)");
      }
      long autoclear = c.getLong(88);
      if ((autoclear & ~KNOWN_AUTOCLEAR) != 0) {
        throw new Refused("unknown autoclear features 0x" + Long.toHexString(autoclear));
      }
      int headerLength = c.getInt(100);
      if (headerLength < 104 || headerLength % 8 != 0 || headerLength > size - 8) {
        throw new Refused("bad header_length " + headerLength);
      }
      return headerLength;
    }

    private boolean inClusterZero(long offset) {
      return Long.compareUnsigned(offset, size) < 0;
    }

    /** Walks the extensions up to {@code bound}: {end after the end marker, format data offset}. */
    private int[] extensions(int from, int bound) throws Refused {
      int formatAt = -1;
      int at = from;
      while (at + 8 <= bound) {
        int type = c.getInt(at);
        int length = c.getInt(at + 4);
        if (type == EXT_END) {
          return new int[] {at + 8, formatAt};
        }
        if (length < 0 || length > bound - at - 8 || padded(length) > bound - at - 8) {
          throw new Refused("header extension 0x" + Integer.toHexString(type) + " overruns");
        }
        if (type == EXT_DATA_FILE) {
          throw new Refused("the image has an external data file");
        }
        if (type == EXT_BACKING_FORMAT) {
          if (formatAt >= 0) {
            throw new Refused("two backing format extensions");
          }
          formatAt = at + 8;
        }
        at += 8 + padded(length);
      }
      throw new Refused("no end-of-extensions marker before the backing name");
    }

    /**
     * The backing-format extension keeps naming the new backing's format, in place or not at all.
     */
    private void keepFormatConsistent(int formatAt, byte[] format) throws Refused {
      if (formatAt < 0) {
        throw new Refused("no backing format extension to keep consistent");
      }
      int length = c.getInt(formatAt - 4);
      byte[] recorded = new byte[length];
      c.get(formatAt, recorded);
      if (Arrays.equals(recorded, format)) {
        return;
      }
      if (padded(length) != padded(format.length)) {
        throw new Refused(
            "the backing format changes from "
                + new String(recorded, StandardCharsets.US_ASCII)
                + " to "
                + new String(format, StandardCharsets.US_ASCII)
                + " and its extension would change size");
      }
      zero(formatAt, padded(length));
      c.put(formatAt, format);
      c.putInt(formatAt - 4, format.length);
    }

    private void zero(int at, int length) {
      c.put(at, new byte[length]);
    }

    private static int padded(int length) {
      return (length + 7) & ~7;
    }
  }

  /** Why the Java rewrite declines an image (the caller falls back to qemu-img). */
  private static final class Refused extends Exception {
    Refused(String why) {
      super(why, null, false, false);
    }
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
