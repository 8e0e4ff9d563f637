package io.virga.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The inspector on crafted headers: each format, each unsafe feature, streaming = whole file. */
class FormatInspectorTest {
  @TempDir Path tmp;

  // --- crafted images ---

  static byte[] qcow2(long size, long backingOffset, long incompat, byte[] extensions) {
    ByteBuffer b = ByteBuffer.allocate(65536).order(ByteOrder.BIG_ENDIAN);
    b.put(new byte[] {'Q', 'F', 'I', (byte) 0xfb}).putInt(3).putLong(backingOffset);
    b.putInt(backingOffset == 0 ? 0 : 11).putInt(16).putLong(size);
    b.putInt(0); // crypt
    b.position(72);
    b.putLong(incompat).putLong(0).putLong(0).putInt(4).putInt(104);
    b.position(104);
    if (extensions != null) {
      b.put(extensions);
    }
    if (backingOffset != 0) {
      b.position((int) backingOffset);
      b.put("/etc/passwd".getBytes(StandardCharsets.US_ASCII));
    }
    return b.array();
  }

  static byte[] vmdk(String descriptor, long sectors, long gdOffset) {
    ByteBuffer b = ByteBuffer.allocate(0x200 + 20 * 512 + 4096).order(ByteOrder.LITTLE_ENDIAN);
    b.put("KDMV".getBytes(StandardCharsets.US_ASCII)).putInt(1).putInt(3).putLong(sectors);
    b.putLong(128).putLong(1).putLong(20).putInt(512).putLong(21).putLong(gdOffset);
    b.position(0x200);
    b.put(descriptor.getBytes(StandardCharsets.US_ASCII));
    return b.array();
  }

  static String descriptor(String createType, String extent, String extra) {
    return "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
        + "createType=\""
        + createType
        + "\"\n"
        + extra
        + "\n# Extent description\n"
        + extent
        + "\n\n# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = \"4\"\n"
        + "ddb.geometry.cylinders = \"2\"\nddb.adapterType = \"ide\"\n";
  }

  static byte[] vhdFooter(long size, int type) {
    ByteBuffer b = ByteBuffer.allocate(512).order(ByteOrder.BIG_ENDIAN);
    b.put("conectix".getBytes(StandardCharsets.US_ASCII)).putInt(2).putInt(0x10000);
    b.putLong(type == 2 ? -1L : 512).putInt(0).put("qemu".getBytes(StandardCharsets.US_ASCII));
    b.putInt(0x50003).put("Wi2k".getBytes(StandardCharsets.US_ASCII)).putLong(size).putLong(size);
    b.putInt(0).putInt(type);
    return b.array();
  }

  static byte[] vhdx(long metadataOffset, long size, boolean parent) {
    byte[] img = new byte[(int) metadataOffset + 0x20000];
    ByteBuffer b = ByteBuffer.wrap(img).order(ByteOrder.LITTLE_ENDIAN);
    b.put("vhdxfile".getBytes(StandardCharsets.US_ASCII));
    b.position(0x30000);
    b.put("regi".getBytes(StandardCharsets.US_ASCII)).putInt(0).putInt(2).putInt(0);
    b.put(FormatInspectorVhdx.guid("2DC27766-F623-4200-9D64-115E9BFD4A08")); // BAT
    b.putLong(0x300000).putInt(0x100000).putInt(1);
    b.put(FormatInspectorVhdx.METADATA_REGION).putLong(metadataOffset).putInt(0x100000).putInt(1);
    b.position((int) metadataOffset);
    b.put("metadata".getBytes(StandardCharsets.US_ASCII)).putShort((short) 0);
    b.putShort((short) (parent ? 2 : 1));
    b.position((int) metadataOffset + 32);
    b.put(FormatInspectorVhdx.VIRTUAL_DISK_SIZE).putInt(0x10000).putInt(8).putInt(2).putInt(0);
    if (parent) {
      b.put(FormatInspectorVhdx.PARENT_LOCATOR).putInt(0x10100).putInt(64).putInt(4).putInt(0);
    }
    b.position((int) metadataOffset + 0x10000);
    b.putLong(size);
    return img;
  }

  static byte[] vdi(long size, int type) {
    ByteBuffer b = ByteBuffer.allocate(0x400).order(ByteOrder.LITTLE_ENDIAN);
    b.put("<<< QEMU VM Virtual Disk Image >>>\n".getBytes(StandardCharsets.US_ASCII));
    b.position(0x40);
    b.putInt(0xbeda107f).putInt(0x00010001).putInt(0x190).putInt(type);
    b.position(0x170);
    b.putLong(size);
    return b.array();
  }

  static byte[] iso(int blocks) {
    byte[] img = new byte[32768 + 2048 * 3];
    ByteBuffer b = ByteBuffer.wrap(img).order(ByteOrder.LITTLE_ENDIAN);
    b.position(32768);
    b.put((byte) 1).put("CD001".getBytes(StandardCharsets.US_ASCII)).put((byte) 1);
    b.position(32768 + 80);
    b.putInt(blocks).order(ByteOrder.BIG_ENDIAN).putInt(blocks).order(ByteOrder.LITTLE_ENDIAN);
    b.position(32768 + 128);
    b.putShort((short) 2048).order(ByteOrder.BIG_ENDIAN).putShort((short) 2048);
    b.position(32768 + 2048);
    b.put((byte) 255).put("CD001".getBytes(StandardCharsets.US_ASCII)).put((byte) 1);
    return img;
  }

  FormatInspector.Inspection inspect(byte[] data) throws IOException {
    Path f = Files.write(tmp.resolve("img-" + System.nanoTime()), data);
    FormatInspector.Inspection whole = FormatInspector.inspect(f);
    // The streaming variant, in odd chunk sizes, must agree with the whole-file inspection.
    for (int chunk : new int[] {1, 7, 511, 4096, 1 << 20}) {
      if (chunk == 1 && data.length > 200_000) {
        continue;
      }
      FormatInspector.Stream s = new FormatInspector.Stream();
      for (int off = 0; off < data.length; off += chunk) {
        s.update(data, off, Math.min(chunk, data.length - off));
      }
      assertThat(s.finish()).as("stream in chunks of %d", chunk).isEqualTo(whole);
    }
    return whole;
  }

  ImageUnsafeException refused(byte[] data, DiskFormat declared) throws IOException {
    Path f = Files.write(tmp.resolve("bad-" + System.nanoTime()), data);
    Throwable t =
        org.assertj.core.api.Assertions.catchThrowable(() -> FormatInspector.verify(f, declared));
    assertThat(t).isInstanceOf(ImageUnsafeException.class);
    return (ImageUnsafeException) t;
  }

  // --- raw, iso ---

  @Test
  void plainDataIsRawOfItsLength() throws IOException {
    byte[] data = new byte[100_000];
    new Random(1).nextBytes(data);
    data[0] = 'x';
    var r = inspect(data);
    assertThat(r.format()).isEqualTo(DiskFormat.RAW);
    assertThat(r.virtualSize()).isEqualTo(100_000);
    assertThat(r.safe()).isTrue();
    assertThat(FormatInspector.verify(Files.write(tmp.resolve("r"), data), DiskFormat.RAW).format())
        .isEqualTo(DiskFormat.RAW);
  }

  @Test
  void emptyFileIsRaw() throws IOException {
    var r = inspect(new byte[0]);
    assertThat(r.format()).isEqualTo(DiskFormat.RAW);
    assertThat(r.virtualSize()).isZero();
  }

  @Test
  void isoIsDetectedWithItsVolumeSizeAndAcceptedAsRawOrIso() throws IOException {
    byte[] data = iso(1000);
    var r = inspect(data);
    assertThat(r.format()).isEqualTo(DiskFormat.ISO);
    assertThat(r.virtualSize()).isEqualTo(1000L * 2048);
    Path f = Files.write(tmp.resolve("i.iso"), data);
    FormatInspector.verify(f, DiskFormat.ISO);
    FormatInspector.verify(f, DiskFormat.RAW);
    assertThat(refused(data, DiskFormat.QCOW2)).hasMessageContaining("declared qcow2");
  }

  @Test
  void rawDataDeclaredIsoIsAccepted() throws IOException {
    FormatInspector.verify(Files.write(tmp.resolve("x"), new byte[4096]), DiskFormat.ISO);
  }

  @Test
  void sparseBigRawFileIsInspectedWithoutReadingItAll() throws IOException {
    Path f = tmp.resolve("big");
    try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
      raf.setLength(20L << 30);
    }
    long t0 = System.nanoTime();
    var r = FormatInspector.inspect(f);
    assertThat(r.virtualSize()).isEqualTo(20L << 30);
    assertThat(System.nanoTime() - t0).isLessThan(2_000_000_000L);
  }

  // --- qcow2 ---

  @Test
  void cleanQcow2IsSafeWithHeaderVirtualSize() throws IOException {
    var r = inspect(qcow2(5L << 30, 0, 0, null));
    assertThat(r.format()).isEqualTo(DiskFormat.QCOW2);
    assertThat(r.virtualSize()).isEqualTo(5L << 30);
    assertThat(r.findings()).isEmpty();
  }

  @Test
  void qcow2DeclaredRawIsRefused() throws IOException {
    assertThat(refused(qcow2(1 << 20, 0, 0, null), DiskFormat.RAW))
        .hasMessageContaining("declared raw")
        .hasMessageContaining("qcow2");
  }

  @Test
  void qcow2WithBackingFileIsRefusedNamingIt() throws IOException {
    byte[] img = qcow2(1 << 20, 512, 0, null);
    assertThat(inspect(img).findings()).anyMatch(s -> s.contains("backing file '/etc/passwd'"));
    assertThat(refused(img, DiskFormat.QCOW2)).hasMessageContaining("backing file");
  }

  @Test
  void qcow2WithExternalDataFileBitIsRefused() throws IOException {
    assertThat(refused(qcow2(1 << 20, 0, 1L << 2, null), DiskFormat.QCOW2))
        .hasMessageContaining("external data file");
  }

  @Test
  void qcow2WithDataFileHeaderExtensionIsRefused() throws IOException {
    ByteBuffer ext = ByteBuffer.allocate(32);
    ext.putInt(0x44415441).putInt(10).put("/dev/sda1\0".getBytes(StandardCharsets.US_ASCII));
    var r = inspect(qcow2(1 << 20, 0, 0, ext.array()));
    assertThat(r.findings()).anyMatch(s -> s.contains("external data file '/dev/sda1"));
  }

  @Test
  void qcow2WithUnknownIncompatibleFeatureIsRefused() throws IOException {
    assertThat(refused(qcow2(1 << 20, 0, 1L << 9, null), DiskFormat.QCOW2))
        .hasMessageContaining("unknown incompatible features");
  }

  @Test
  void truncatedQcow2HeaderIsRefusedWhateverTheDeclaredFormat() throws IOException {
    byte[] img = java.util.Arrays.copyOf(qcow2(1 << 20, 0, 0, null), 40);
    assertThat(refused(img, DiskFormat.QCOW2)).hasMessageContaining("truncated qcow2 header");
    assertThat(refused(img, DiskFormat.RAW)).hasMessageContaining("truncated");
  }

  @Test
  void unrecognisedDataDeclaredQcow2IsRefused() throws IOException {
    assertThat(refused(new byte[4096], DiskFormat.QCOW2))
        .hasMessageContaining("declared qcow2 but its header says raw");
  }

  @Test
  void polyglotQcow2AndIsoIsRefused() throws IOException {
    byte[] img = iso(100);
    System.arraycopy(qcow2(1 << 20, 0, 0, null), 0, img, 0, 512);
    assertThat(inspect(img).findings()).anyMatch(s -> s.contains("several formats"));
  }

  // --- vmdk ---

  @Test
  void monolithicSparseVmdkIsSafe() throws IOException {
    String d = descriptor("monolithicSparse", "RW 2048 SPARSE \"disk.vmdk\"", "");
    var r = inspect(vmdk(d, 2048, 21));
    assertThat(r.format()).isEqualTo(DiskFormat.VMDK);
    assertThat(r.virtualSize()).isEqualTo(2048L * 512);
    assertThat(r.findings()).isEmpty();
  }

  @Test
  void vmdkOfAnotherCreateTypeIsRefused() throws IOException {
    String d = descriptor("monolithicFlat", "RW 2048 FLAT \"disk-flat.vmdk\" 0", "");
    assertThat(refused(vmdk(d, 2048, 21), DiskFormat.VMDK))
        .hasMessageContaining("createType 'monolithicflat' is not accepted");
  }

  @Test
  void vmdkExtentOutsideTheFileIsRefused() throws IOException {
    String d = descriptor("monolithicSparse", "RW 2048 SPARSE \"/etc/passwd\"", "");
    assertThat(refused(vmdk(d, 2048, 21), DiskFormat.VMDK))
        .hasMessageContaining("extent refers to another file");
  }

  @Test
  void vmdkDeltaWithParentIsRefused() throws IOException {
    String d =
        descriptor("monolithicSparse", "RW 2048 SPARSE \"d.vmdk\"", "parentFileNameHint=\"b\"");
    assertThat(refused(vmdk(d, 2048, 21), DiskFormat.VMDK)).hasMessageContaining("parent");
  }

  @Test
  void vmdkWithFooterIsRefused() throws IOException {
    String d = descriptor("streamOptimized", "RW 2048 SPARSE \"d.vmdk\"", "");
    assertThat(refused(vmdk(d, 2048, -1L), DiskFormat.VMDK)).hasMessageContaining("footer");
  }

  @Test
  void vmdkDescriptorWithGarbageLineIsRefused() throws IOException {
    String d = descriptor("monolithicSparse", "RW 2048 SPARSE \"d.vmdk\"", "!!! nonsense");
    assertThat(refused(vmdk(d, 2048, 21), DiskFormat.VMDK)).hasMessageContaining("unrecognised");
  }

  @Test
  void bareVmdkDescriptorIsRefusedAsVmdkAndAsRaw() throws IOException {
    byte[] d =
        descriptor("monolithicFlat", "RW 8 FLAT \"/etc/passwd\" 0", "")
            .getBytes(StandardCharsets.US_ASCII);
    var r = inspect(d);
    assertThat(r.format()).isEqualTo(DiskFormat.VMDK);
    assertThat(r.virtualSize()).isEqualTo(8 * 512);
    assertThat(refused(d, DiskFormat.VMDK)).hasMessageContaining("/etc/passwd");
    assertThat(refused(d, DiskFormat.RAW)).hasMessageContaining("bare VMDK descriptor");
  }

  // --- vhd, vhdx, vdi, qed ---

  @Test
  void dynamicVhdIsDetected() throws IOException {
    byte[] img = new byte[4096];
    System.arraycopy(vhdFooter(1L << 30, 3), 0, img, 0, 512);
    var r = inspect(img);
    assertThat(r.format()).isEqualTo(DiskFormat.VHD);
    assertThat(r.virtualSize()).isEqualTo(1L << 30);
    assertThat(r.safe()).isTrue();
    assertThat(refused(img, DiskFormat.RAW)).hasMessageContaining("vhd");
  }

  @Test
  void differencingVhdIsRefused() throws IOException {
    byte[] img = new byte[4096];
    System.arraycopy(vhdFooter(1L << 30, 4), 0, img, 0, 512);
    assertThat(refused(img, DiskFormat.VHD)).hasMessageContaining("differencing");
  }

  @Test
  void fixedVhdFooterAtTheEndIsVhdAndRawCompatible() throws IOException {
    byte[] img = new byte[(1 << 20) + 512 + 777];
    System.arraycopy(vhdFooter(img.length - 512, 2), 0, img, img.length - 512, 512);
    var r = inspect(img);
    assertThat(r.format()).isEqualTo(DiskFormat.VHD);
    assertThat(r.rawCompatible()).isTrue();
    Path f = Files.write(tmp.resolve("fixed.vhd"), img);
    FormatInspector.verify(f, DiskFormat.VHD);
    FormatInspector.verify(f, DiskFormat.RAW);
  }

  @Test
  void vhdxVirtualSizeIsFoundBeyondTheHead() throws IOException {
    var r = inspect(vhdx(0x200000, 3L << 30, false));
    assertThat(r.format()).isEqualTo(DiskFormat.VHDX);
    assertThat(r.virtualSize()).isEqualTo(3L << 30);
    assertThat(r.findings()).isEmpty();
  }

  @Test
  void vhdxWithMetadataInTheHeadWorksToo() throws IOException {
    assertThat(inspect(vhdx(0x40000, 7L << 20, false)).virtualSize()).isEqualTo(7L << 20);
  }

  @Test
  void differencingVhdxIsRefused() throws IOException {
    assertThat(refused(vhdx(0x200000, 1L << 30, true), DiskFormat.VHDX))
        .hasMessageContaining("parent");
  }

  @Test
  void truncatedVhdxIsRefused() throws IOException {
    byte[] img = java.util.Arrays.copyOf(vhdx(0x200000, 1L << 30, false), 0x100000);
    assertThat(refused(img, DiskFormat.VHDX)).hasMessageContaining("VHDX");
  }

  @Test
  void vdiIsDetectedAndDifferencingVdiRefused() throws IOException {
    var r = inspect(vdi(9L << 20, 1));
    assertThat(r.format()).isEqualTo(DiskFormat.VDI);
    assertThat(r.virtualSize()).isEqualTo(9L << 20);
    assertThat(r.safe()).isTrue();
    assertThat(refused(vdi(9L << 20, 4), DiskFormat.VDI)).hasMessageContaining("differencing");
  }

  @Test
  void qedIsAlwaysRefused() throws IOException {
    byte[] img = new byte[4096];
    img[0] = 'Q';
    img[1] = 'E';
    img[2] = 'D';
    assertThat(inspect(img).format()).isEqualTo(DiskFormat.QED);
    assertThat(refused(img, DiskFormat.QED)).hasMessageContaining("QED images are not accepted");
    assertThat(refused(img, DiskFormat.RAW)).hasMessageContaining("QED");
  }

  @Test
  void garbageBehindEachMagicNeverThrows() {
    Random rnd = new Random(42);
    byte[][] seeds = {
      qcow2(1 << 20, 512, 0, null),
      vmdk(descriptor("monolithicSparse", "RW 8 SPARSE \"a\"", ""), 8, 21),
      "# Disk DescriptorFile\nversion=1\n".getBytes(StandardCharsets.US_ASCII),
      vhdFooter(1 << 20, 3),
      vhdx(0x40000, 1 << 20, false),
      vdi(1 << 20, 1),
      iso(10),
      {'Q', 'E', 'D', 0}
    };
    for (byte[] seed : seeds) {
      for (int i = 0; i < 300; i++) {
        byte[] img = java.util.Arrays.copyOf(seed, rnd.nextInt(seed.length + 600));
        // corrupt a few bytes after the magic
        for (int k = 0; k < 1 + rnd.nextInt(12) && img.length > 8; k++) {
          img[8 + rnd.nextInt(img.length - 8)] = (byte) rnd.nextInt(256);
        }
        FormatInspector.Stream s = new FormatInspector.Stream();
        s.update(img);
        FormatInspector.Inspection r = s.finish();
        assertThat(r.format()).isNotNull();
        assertThat(r.virtualSize()).isNotNegative();
      }
    }
  }

  @Test
  void vmdkCapacityOverflowIsRefused() throws IOException {
    String d = descriptor("monolithicSparse", "RW 8 SPARSE \"a.vmdk\"", "");
    assertThat(refused(vmdk(d, Long.MAX_VALUE / 256, 21), DiskFormat.VMDK))
        .hasMessageContaining("implausible VMDK capacity");
  }

  @Test
  void streamRefusesDataAfterFinish() {
    FormatInspector.Stream s = new FormatInspector.Stream();
    s.update(new byte[10]);
    s.finish();
    assertThatThrownBy(() -> s.update(new byte[1])).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void streamVerifyChecksTheDeclaredFormat() {
    FormatInspector.Stream s = new FormatInspector.Stream();
    s.update(qcow2(1 << 20, 0, 0, null));
    assertThatThrownBy(() -> s.verify(DiskFormat.RAW, "upload"))
        .isInstanceOf(ImageUnsafeException.class)
        .hasMessageContaining("upload is declared raw");
  }
}
