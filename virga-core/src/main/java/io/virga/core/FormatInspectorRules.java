package io.virga.core;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The per-format header rules behind {@link FormatInspector}: magic numbers, virtual sizes and the
 * findings that make an image unsafe. Offsets follow qemu's docs/interop/qcow2.txt, the VMDK 1.1,
 * VHD and VHDX specifications, qemu's vdi.c/qed.h and ECMA-119.
 */
final class FormatInspectorRules {
  private FormatInspectorRules() {}

  private record Match(
      DiskFormat format, long virtualSize, boolean rawCompatible, List<String> f) {}

  static FormatInspector.Inspection detect(FormatInspector.Stream s, FormatInspectorVhdx vhdx) {
    byte[] h = s.head;
    int n = s.headLen;
    List<Match> matches = new ArrayList<>();
    if (startsWith(h, n, new byte[] {'Q', 'F', 'I', (byte) 0xfb})) {
      matches.add(qcow2(h, n));
    }
    if (startsWith(h, n, new byte[] {'Q', 'E', 'D', 0})) {
      long size = n >= 56 ? le64(h, 48) : 0;
      matches.add(new Match(DiskFormat.QED, size, false, List.of("QED images are not accepted")));
    }
    if (startsWith(h, n, "KDMV".getBytes(StandardCharsets.US_ASCII))) {
      matches.add(vmdkSparse(h, n));
    } else if (looksLikeVmdkDescriptor(h, n)) {
      matches.add(vmdkDescriptor(h, n));
    }
    if (startsWith(h, n, "conectix".getBytes(StandardCharsets.US_ASCII))) {
      matches.add(vhd(h, 0, n, false));
    }
    if (vhdx.isVhdx()) {
      List<String> f = new ArrayList<>();
      if (vhdx.problem != null) {
        f.add(vhdx.problem);
      }
      if (vhdx.parent) {
        f.add("VHDX differencing disk (has a parent locator, i.e. a backing file)");
      }
      matches.add(new Match(DiskFormat.VHDX, vhdx.virtualSize(), false, f));
    }
    if (n >= 0x44 && le32(h, 0x40) == 0xbeda107fL) {
      matches.add(vdi(h, n));
    }
    Match iso = iso(h, n, s.position);
    if (iso != null) {
      matches.add(iso);
    }
    if (matches.isEmpty() && s.tailLen() == FormatInspector.TAIL_BYTES) {
      byte[] t = s.tail;
      if (startsWith(t, t.length, "conectix".getBytes(StandardCharsets.US_ASCII))) {
        matches.add(vhd(t, 0, t.length, true));
      }
    }
    if (matches.isEmpty()) {
      return new FormatInspector.Inspection(
          DiskFormat.RAW, s.position, s.position, true, List.of());
    }
    Match m = matches.get(0);
    List<String> findings = new ArrayList<>(m.f());
    if (m.virtualSize() < 0) {
      findings.add("implausible virtual size " + Long.toUnsignedString(m.virtualSize()));
    }
    if (matches.size() > 1) {
      findings.add(
          "the header matches several formats ("
              + String.join(", ", matches.stream().map(x -> x.format().glanceName()).toList())
              + ")");
    }
    return new FormatInspector.Inspection(
        m.format(), Math.max(0, m.virtualSize()), s.position, m.rawCompatible(), findings);
  }

  // --- qcow2 (docs/interop/qcow2.txt) ---

  static final long QCOW2_INCOMPAT_DATA_FILE = 1L << 2;
  static final long QCOW2_INCOMPAT_CORRUPT = 1L << 1;
  static final long QCOW2_INCOMPAT_KNOWN = 0x1F;
  static final long QCOW2_EXT_DATA_FILE = 0x44415441L;

  private static Match qcow2(byte[] h, int n) {
    List<String> f = new ArrayList<>();
    if (n < 72) {
      f.add("truncated qcow2 header (" + n + " bytes)");
      return new Match(DiskFormat.QCOW2, 0, false, f);
    }
    long version = be32(h, 4);
    long backingOffset = be64(h, 8);
    long backingLength = be32(h, 16);
    long clusterBits = be32(h, 20);
    long size = be64(h, 24);
    long crypt = be32(h, 32);
    if (version != 2 && version != 3) {
      f.add("unsupported qcow2 version " + version);
    }
    if (backingOffset != 0) {
      String name = text(h, n, backingOffset, backingLength);
      f.add("qcow2 image has a backing file" + (name.isEmpty() ? "" : " '" + name + "'"));
    }
    if (clusterBits < 9 || clusterBits > 21) {
      f.add("invalid qcow2 cluster_bits " + clusterBits);
    }
    if (crypt != 0) {
      f.add("encrypted qcow2 images are not accepted (crypt_method " + crypt + ")");
    }
    long extStart = 72;
    if (version >= 3) {
      if (n < 104) {
        f.add("truncated qcow2 v3 header (" + n + " bytes)");
        return new Match(DiskFormat.QCOW2, size, false, f);
      }
      long incompat = be64(h, 72);
      extStart = be32(h, 100);
      if ((incompat & QCOW2_INCOMPAT_DATA_FILE) != 0) {
        f.add("qcow2 image uses an external data file (incompatible feature bit 2)");
      }
      if ((incompat & QCOW2_INCOMPAT_CORRUPT) != 0) {
        f.add("qcow2 image is marked corrupt");
      }
      if ((incompat & ~QCOW2_INCOMPAT_KNOWN) != 0) {
        f.add("qcow2 image has unknown incompatible features 0x" + Long.toHexString(incompat));
      }
    }
    scanQcow2Extensions(h, n, extStart, clusterBits, f);
    return new Match(DiskFormat.QCOW2, size, false, f);
  }

  private static void scanQcow2Extensions(
      byte[] h, int n, long start, long clusterBits, List<String> f) {
    long limit = Math.min(n, 1L << Math.min(Math.max(clusterBits, 9), 21));
    long off = start;
    while (off >= 72 && off + 8 <= limit) {
      long type = be32(h, (int) off);
      long len = be32(h, (int) off + 4);
      if (type == 0) {
        return;
      }
      if (type == QCOW2_EXT_DATA_FILE) {
        f.add("qcow2 image names an external data file '" + text(h, n, off + 8, len) + "'");
      }
      off += 8 + ((len + 7) & ~7L);
    }
  }

  // --- VMDK (VMware Virtual Disk Format 1.1) ---

  static final Pattern EXTENT =
      Pattern.compile(
          "(rw|rdonly|noaccess)\\s+(\\d+)\\s+(\\w+)(?:\\s+\"([^\"]*)\"(?:\\s+(\\d+))?)?");

  private static Match vmdkSparse(byte[] h, int n) {
    List<String> f = new ArrayList<>();
    if (n < 64) {
      f.add("truncated VMDK header (" + n + " bytes)");
      return new Match(DiskFormat.VMDK, 0, false, f);
    }
    long version = le32(h, 4);
    long capacity = le64(h, 12);
    long descSector = le64(h, 28);
    long descSectors = le64(h, 36);
    long gdOffset = le64(h, 56);
    if (version < 1 || version > 3) {
      f.add("unsupported VMDK version " + version);
    }
    if (capacity < 0 || capacity > Long.MAX_VALUE / 512) {
      f.add("implausible VMDK capacity " + Long.toUnsignedString(capacity) + " sectors");
      capacity = 0;
    }
    if (gdOffset == -1L) {
      f.add("VMDK with a footer (grain directory at the end) is not accepted");
    }
    if (descSector != 1 || descSectors == 0) {
      f.add("VMDK has no embedded descriptor at sector 1 (descriptor sector " + descSector + ")");
      return new Match(DiskFormat.VMDK, capacity * 512, false, f);
    }
    int len = (int) Math.min(descSectors * 512, (1 << 20) - 1);
    if (0x200 + len > n) {
      f.add("truncated VMDK descriptor");
      return new Match(DiskFormat.VMDK, capacity * 512, false, f);
    }
    checkDescriptor(new String(h, 0x200, len, StandardCharsets.ISO_8859_1), true, f);
    return new Match(DiskFormat.VMDK, capacity * 512, false, f);
  }

  /** What qemu's vmdk probe accepts as a text descriptor: comments/blank lines, then version=. */
  private static boolean looksLikeVmdkDescriptor(byte[] h, int n) {
    String text = new String(h, 0, Math.min(n, 4096), StandardCharsets.ISO_8859_1);
    for (String line : text.split("\n", -1)) {
      String t = line.strip();
      if (t.isEmpty() || t.startsWith("#")) {
        continue;
      }
      return t.startsWith("version=");
    }
    return false;
  }

  private static Match vmdkDescriptor(byte[] h, int n) {
    List<String> f = new ArrayList<>();
    f.add("bare VMDK descriptor: its data lives in other files; upload a single-file VMDK");
    int len = Math.min(n, (1 << 20) - 1);
    long sectors = checkDescriptor(new String(h, 0, len, StandardCharsets.ISO_8859_1), false, f);
    return new Match(DiskFormat.VMDK, sectors * 512, false, f);
  }

  /** Checks a VMDK descriptor line by line; returns the extents' total sectors. */
  private static long checkDescriptor(String raw, boolean embedded, List<String> f) {
    int nul = raw.indexOf('\0');
    String text = (nul >= 0 ? raw.substring(0, nul) : raw).toLowerCase(Locale.ROOT);
    String createType = null;
    long sectors = 0;
    int extents = 0;
    for (String l : text.split("\n")) {
      String line = l.strip();
      if (line.isEmpty() || line.startsWith("#") || line.startsWith("ddb.")) {
        continue;
      }
      Matcher m = EXTENT.matcher(line);
      if (m.matches()) {
        extents++;
        sectors += Long.parseLong(m.group(2));
        String file = m.group(4) == null ? "" : m.group(4);
        if (!embedded || file.contains("/") || !m.group(3).equals("sparse")) {
          f.add("VMDK extent refers to another file: " + clean(line));
        }
      } else if (line.matches("[a-z0-9_.]+\\s*=.*")) {
        String key = line.substring(0, line.indexOf('=')).strip();
        String value = line.substring(line.indexOf('=') + 1).strip().replace("\"", "");
        if (key.equals("createtype")) {
          createType = value;
        } else if (key.equals("parentfilenamehint")) {
          f.add("VMDK delta disk names a parent file '" + clean(value) + "'");
        } else if (key.equals("parentcid") && !value.equals("ffffffff")) {
          f.add("VMDK delta disk has a parent (parentCID " + clean(value) + ")");
        }
      } else {
        f.add("unrecognised line in VMDK descriptor: " + clean(line));
      }
    }
    if (createType == null) {
      f.add("VMDK descriptor has no createType");
    } else if (!createType.equals("monolithicsparse") && !createType.equals("streamoptimized")) {
      f.add(
          "VMDK createType '"
              + clean(createType)
              + "' is not accepted (only monolithicSparse and streamOptimized)");
    }
    if (extents == 0) {
      f.add("VMDK descriptor lists no extents");
    }
    return sectors;
  }

  // --- VHD (Virtual Hard Disk Image Format Specification) ---

  private static Match vhd(byte[] b, int off, int n, boolean footerOnly) {
    List<String> f = new ArrayList<>();
    if (n - off < 512) {
      f.add("truncated VHD footer");
      return new Match(DiskFormat.VHD, 0, false, f);
    }
    long size = be64(b, off + 48);
    long type = be32(b, off + 60);
    if (type == 4) {
      f.add("VHD differencing disk (has a parent, i.e. a backing file)");
    } else if (type != 2 && type != 3) {
      f.add("unknown VHD disk type " + type);
    }
    // A fixed VHD is raw data followed by a footer: qemu's raw driver reads it correctly.
    return new Match(DiskFormat.VHD, size, footerOnly && type == 2, f);
  }

  // --- VDI (qemu block/vdi.c) ---

  private static Match vdi(byte[] h, int n) {
    List<String> f = new ArrayList<>();
    if (n < 0x178) {
      f.add("truncated VDI header");
      return new Match(DiskFormat.VDI, 0, false, f);
    }
    long type = le32(h, 0x4c);
    if (type != 1 && type != 2) {
      f.add("VDI image type " + type + " (undo/differencing images have a parent) not accepted");
    }
    return new Match(DiskFormat.VDI, le64(h, 0x170), false, f);
  }

  // --- ISO 9660 / UDF (ECMA-119 §8, ECMA-167) ---

  private static Match iso(byte[] h, int n, long total) {
    for (int sector = 16; (sector + 1) * 2048 <= n && sector < 64; sector++) {
      int o = sector * 2048;
      String id = new String(h, o + 1, 5, StandardCharsets.US_ASCII);
      if (id.equals("CD001")) {
        int type = h[o] & 0xff;
        if (type == 1) {
          long blocks = le32(h, o + 80);
          long blockSize = le16(h, o + 128);
          return new Match(DiskFormat.ISO, blocks * blockSize, true, List.of());
        }
        if (type == 255) {
          break;
        }
      } else if (id.equals("NSR02") || id.equals("NSR03")) {
        return new Match(DiskFormat.ISO, total, true, List.of());
      } else if (!id.equals("BEA01") && !id.equals("TEA01") && !id.equals("BOOT2")) {
        break;
      }
    }
    return null;
  }

  // --- helpers ---

  private static boolean startsWith(byte[] b, int n, byte[] magic) {
    return n >= magic.length && Arrays.equals(b, 0, magic.length, magic, 0, magic.length);
  }

  /** A printable, bounded rendering of a string taken from an image (for error messages). */
  private static String text(byte[] h, int n, long offset, long length) {
    if (offset < 0 || offset >= n) {
      return "";
    }
    int len = (int) Math.min(Math.min(length, 200), n - offset);
    return clean(new String(h, (int) offset, len, StandardCharsets.ISO_8859_1));
  }

  private static String clean(String s) {
    StringBuilder b = new StringBuilder();
    for (char c : s.toCharArray()) {
      b.append(c >= 0x20 && c < 0x7f ? c : '?');
      if (b.length() >= 200) {
        b.append('…');
        break;
      }
    }
    return b.toString();
  }

  static long be32(byte[] b, int o) {
    return ((b[o] & 0xffL) << 24)
        | ((b[o + 1] & 0xffL) << 16)
        | ((b[o + 2] & 0xffL) << 8)
        | (b[o + 3] & 0xffL);
  }

  static long be64(byte[] b, int o) {
    return (be32(b, o) << 32) | be32(b, o + 4);
  }

  static long le16(byte[] b, int o) {
    return (b[o] & 0xffL) | ((b[o + 1] & 0xffL) << 8);
  }

  static long le32(byte[] b, int o) {
    return le16(b, o) | (le16(b, o + 2) << 16);
  }

  static long le64(byte[] b, int o) {
    return le32(b, o) | (le32(b, o + 4) << 32);
  }
}
