package io.virga.core;

import java.util.Arrays;
import java.util.Optional;

/**
 * Follows a VHDX image's region table to its metadata region and from there to the virtual disk
 * size item, as the data streams by (MS-VHDX §2.2–2.6). A parent locator item marks a differencing
 * disk, which has a backing file and is refused.
 */
final class FormatInspectorVhdx {
  static final int REGION_TABLE = 0x30000;
  static final int MAX_ENTRIES = 2047;
  static final byte[] METADATA_REGION = guid("8B7CA206-4790-4B9A-B8FE-575F050F886E");
  static final byte[] VIRTUAL_DISK_SIZE = guid("2FA54224-CD1B-4876-B211-5DBED83BF4B8");
  static final byte[] PARENT_LOCATOR = guid("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C");

  private final FormatInspector.Stream s;
  private FormatInspector.Region metadata;
  private FormatInspector.Region virtualSize;
  boolean parent;
  String problem;
  private boolean regionTableRead;

  FormatInspectorVhdx(FormatInspector.Stream s) {
    this.s = s;
  }

  boolean isVhdx() {
    return s.headLen >= 8 && Arrays.equals(s.head, 0, 8, "vhdxfile".getBytes(), 0, 8);
  }

  /** Takes the next step the data seen so far allows; {@code end} when the stream is over. */
  void advance(boolean end) {
    if (problem != null || !isVhdx()) {
      return;
    }
    if (!regionTableRead && (s.headLen >= REGION_TABLE + 0x10000 || end)) {
      regionTableRead = true;
      readRegionTable();
    }
    if (metadata != null && virtualSize == null && problem == null) {
      readMetadataTable(end);
    }
    if (end && problem == null && (virtualSize == null || !virtualSize.complete())) {
      problem = "truncated VHDX image: its virtual disk size item was not found";
    }
  }

  long virtualSize() {
    return virtualSize != null && virtualSize.complete()
        ? FormatInspectorRules.le64(virtualSize.data, 0)
        : 0;
  }

  private void readRegionTable() {
    if (s.headLen < REGION_TABLE + 16) {
      problem = "truncated VHDX header: no region table";
      return;
    }
    byte[] h = s.head;
    if (FormatInspectorRules.le32(h, REGION_TABLE) != 0x69676572L) { // "regi"
      problem = "VHDX region table signature missing";
      return;
    }
    long count = FormatInspectorRules.le32(h, REGION_TABLE + 8);
    if (count > MAX_ENTRIES) {
      problem = "VHDX region table has " + count + " entries (limit " + MAX_ENTRIES + ")";
      return;
    }
    for (int i = 0; i < count; i++) {
      int e = REGION_TABLE + 16 + i * 32;
      if (e + 32 > s.headLen) {
        break;
      }
      if (Arrays.equals(h, e, e + 16, METADATA_REGION, 0, 16)) {
        long offset = FormatInspectorRules.le64(h, e + 16);
        metadata = place(offset, 32 + MAX_ENTRIES * 32);
        return;
      }
    }
    problem = "VHDX image has no metadata region";
  }

  private void readMetadataTable(boolean end) {
    byte[] m = metadata.data;
    if (metadata.filled < 32) {
      return; // wait for more data (finish reports the truncation)
    }
    if (!Arrays.equals(m, 0, 8, "metadata".getBytes(), 0, 8)) {
      problem = "VHDX metadata region signature missing";
      return;
    }
    int count = (int) FormatInspectorRules.le16(m, 10);
    if (count > MAX_ENTRIES) {
      problem = "VHDX metadata table has " + count + " entries (limit " + MAX_ENTRIES + ")";
      return;
    }
    if (metadata.filled < 32 + count * 32) {
      if (end) {
        problem = "truncated VHDX metadata table";
      }
      return;
    }
    long sizeItem = -1;
    for (int i = 0; i < count; i++) {
      int e = 32 + i * 32;
      long itemOffset = FormatInspectorRules.le32(m, e + 16);
      if (Arrays.equals(m, e, e + 16, VIRTUAL_DISK_SIZE, 0, 16)) {
        sizeItem = itemOffset;
      } else if (Arrays.equals(m, e, e + 16, PARENT_LOCATOR, 0, 16)) {
        parent = true;
      }
    }
    if (sizeItem < 0) {
      problem = "VHDX metadata has no virtual disk size item";
      return;
    }
    virtualSize = place(metadata.offset + sizeItem, 8);
  }

  private FormatInspector.Region place(long offset, int length) {
    Optional<FormatInspector.Region> r = s.want(offset, length);
    if (r.isEmpty()) {
      problem =
          "VHDX structure at offset "
              + offset
              + " lies before data already streamed; refusing an unusual layout";
      return null;
    }
    return r.get();
  }

  /** A GUID in its on-disk byte order (first three fields little-endian). */
  static byte[] guid(String text) {
    String hex = text.replace("-", "");
    byte[] b = new byte[16];
    for (int i = 0; i < 16; i++) {
      b[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
    }
    swap(b, 0, 3);
    swap(b, 1, 2);
    swap(b, 4, 5);
    swap(b, 6, 7);
    return b;
  }

  private static void swap(byte[] b, int i, int j) {
    byte t = b[i];
    b[i] = b[j];
    b[j] = t;
  }
}
