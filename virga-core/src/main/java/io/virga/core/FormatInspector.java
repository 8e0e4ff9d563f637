package io.virga.core;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Pure-Java disk image header inspection (DESIGN §5): detects raw, qcow2, vmdk, vhd, vhdx, vdi, qed
 * and iso from their headers, reads the virtual size and lists what makes an image unsafe to hand
 * to qemu-img (backing files, external data files, VMDK extents, QED, truncated headers…).
 *
 * <p>Use {@link #verify(Path, DiskFormat)} before the first qemu-img call on downloaded data; use a
 * {@link Stream} to inspect an upload while it streams (no second pass over the data).
 */
public final class FormatInspector {
  /** Bytes kept from the start of the image: VMDK's descriptor may reach 0x200 + 1 MiB. */
  static final int HEAD_BYTES = 0x200 + (1 << 20);

  static final int TAIL_BYTES = 512;

  private FormatInspector() {}

  /**
   * What the inspector found.
   *
   * @param format the detected format ({@link DiskFormat#RAW} when nothing else matched)
   * @param virtualSize the guest-visible size in bytes (for raw: the file size)
   * @param actualSize the bytes inspected (the whole file)
   * @param rawCompatible true when qemu's raw driver reads these bytes as the intended disk (raw,
   *     iso, a fixed VHD whose footer only sits at the end)
   * @param findings why the image is unsafe; empty when it is safe to pass to qemu-img with {@code
   *     -f <format>}
   */
  public record Inspection(
      DiskFormat format,
      long virtualSize,
      long actualSize,
      boolean rawCompatible,
      List<String> findings) {
    public Inspection {
      findings = List.copyOf(findings);
    }

    public boolean safe() {
      return findings.isEmpty();
    }
  }

  /**
   * Inspects a whole file (reads it once; raw images are read to the end for the fixed-VHD tail).
   */
  public static Inspection inspect(Path file) {
    Stream s = new Stream();
    try (InputStream in = Files.newInputStream(file)) {
      byte[] buf = new byte[1 << 20];
      long size = Files.size(file);
      // Only the head, the regions VHDX points at and the tail matter: skip the middle of big
      // files.
      int n;
      while ((n = in.read(buf)) > 0) {
        s.update(buf, 0, n);
        long skipTo = Math.max(s.position, s.nextWantedOffset(size - TAIL_BYTES));
        if (skipTo > s.position) {
          in.skipNBytes(skipTo - s.position);
          s.skipped(skipTo - s.position);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read image " + file, e);
    }
    return s.finish();
  }

  /**
   * Inspects {@code file} and throws {@link ImageUnsafeException} unless it is safe and its
   * detected format is the declared one (iso/ami/aki/ari count as raw; an ISO declared raw is
   * accepted, a raw-looking image declared iso too).
   */
  public static Inspection verify(Path file, DiskFormat declared) {
    return check(inspect(file), declared, file.getFileName().toString());
  }

  /** The verdict of {@link #verify(Path, DiskFormat)} on an inspection already made. */
  public static Inspection check(Inspection found, DiskFormat declared, String what) {
    if (!found.safe()) {
      throw new ImageUnsafeException(
          "image "
              + what
              + " (declared "
              + declared.glanceName()
              + ", detected "
              + found.format().glanceName()
              + ") is unsafe: "
              + String.join("; ", found.findings()));
    }
    boolean declaredRaw = declared.qemuName().equals("raw");
    boolean ok = declaredRaw ? found.rawCompatible() : found.format() == declared;
    if (!ok) {
      throw new ImageUnsafeException(
          "image "
              + what
              + " is declared "
              + declared.glanceName()
              + " but its header says "
              + found.format().glanceName()
              + "; refusing it (re-upload it with disk_format="
              + found.format().glanceName()
              + ")");
    }
    return found;
  }

  /**
   * Incremental inspection: feed the image's bytes in order with {@link #update}, then call {@link
   * #finish}. Keeps at most ~1.2 MiB (the head, VHDX metadata, the last 512 bytes) whatever the
   * image size.
   */
  public static final class Stream {
    final byte[] head = new byte[HEAD_BYTES];
    int headLen;
    final byte[] tail = new byte[TAIL_BYTES];
    long position;
    final List<Region> regions = new ArrayList<>();
    private final FormatInspectorVhdx vhdx = new FormatInspectorVhdx(this);
    private boolean finished;

    /** Feeds the next {@code len} bytes of the image. */
    public void update(byte[] b, int off, int len) {
      if (finished) {
        throw new IllegalStateException("inspection already finished");
      }
      int end = off + len;
      while (off < end) {
        // Stop at the end of the head and of each pending region: analysis there may ask for
        // regions that start later in this same chunk.
        long boundary = position + (end - off);
        if (headLen < HEAD_BYTES) {
          boundary = Math.min(boundary, HEAD_BYTES);
        }
        for (Region r : regions) {
          if (!r.complete() && r.offset + r.data.length > position) {
            boundary = Math.min(boundary, r.offset + r.data.length);
          }
        }
        int n = (int) (boundary - position);
        consume(b, off, n);
        off += n;
        vhdx.advance(false);
      }
    }

    public void update(byte[] b) {
      update(b, 0, b.length);
    }

    /** Bytes fed (or skipped) so far. */
    public long position() {
      return position;
    }

    private void consume(byte[] b, int off, int n) {
      if (headLen < HEAD_BYTES) {
        int k = Math.min(n, HEAD_BYTES - headLen);
        System.arraycopy(b, off, head, headLen, k);
        headLen += k;
      }
      for (Region r : regions) {
        r.capture(b, off, n, position);
      }
      // keep the last TAIL_BYTES bytes
      if (n >= TAIL_BYTES) {
        System.arraycopy(b, off + n - TAIL_BYTES, tail, 0, TAIL_BYTES);
      } else {
        System.arraycopy(tail, n, tail, 0, TAIL_BYTES - n);
        System.arraycopy(b, off, tail, TAIL_BYTES - n, n);
      }
      position += n;
    }

    /** Where the next byte anyone wants sits, at most {@code limit} (used to skip data). */
    long nextWantedOffset(long limit) {
      if (headLen < HEAD_BYTES) {
        return position;
      }
      long next = Math.max(limit, position);
      for (Region r : regions) {
        if (!r.complete() && r.offset + r.data.length > position) {
          next = Math.min(next, Math.max(r.offset, position));
        }
      }
      return next;
    }

    void skipped(long n) {
      // Skipped bytes are never wanted by the head or a region; the tail is refilled later.
      position += n;
    }

    /**
     * Asks for {@code length} bytes at {@code offset}: filled from the head where it covers them,
     * else captured as the data streams by; empty when those bytes have already gone by.
     */
    java.util.Optional<Region> want(long offset, int length) {
      Region r = new Region(offset, new byte[length]);
      if (offset < headLen) {
        int k = (int) Math.min(length, headLen - offset);
        System.arraycopy(head, (int) offset, r.data, 0, k);
        r.filled = k;
      }
      if (!r.complete() && offset + r.filled < position) {
        return java.util.Optional.empty();
      }
      regions.add(r);
      return java.util.Optional.of(r);
    }

    /** Ends the inspection. */
    public Inspection finish() {
      finished = true;
      vhdx.advance(true);
      return FormatInspectorRules.detect(this, vhdx);
    }

    /** {@link #finish()} then the verdict of {@link FormatInspector#verify}. */
    public Inspection verify(DiskFormat declared, String what) {
      return check(finish(), declared, what);
    }

    int tailLen() {
      return (int) Math.min(TAIL_BYTES, position);
    }
  }

  /** A byte range of the image the inspector wants to see. */
  static final class Region {
    final long offset;
    final byte[] data;
    int filled;

    Region(long offset, byte[] data) {
      this.offset = offset;
      this.data = data;
    }

    boolean complete() {
      return filled == data.length;
    }

    void capture(byte[] b, int off, int n, long chunkStart) {
      long from = Math.max(chunkStart, offset + filled);
      long to = Math.min(chunkStart + n, offset + data.length);
      if (from != offset + filled || to <= from) {
        return;
      }
      System.arraycopy(b, off + (int) (from - chunkStart), data, filled, (int) (to - from));
      filled += (int) (to - from);
    }
  }
}
