package io.virga.libvirt;

import static org.assertj.core.api.Assertions.assertThat;

import io.virga.core.DiskFormat;
import io.virga.core.FormatInspector;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The Java inspector against images qemu-img itself writes: the detected format and virtual size
 * must match what qemu-img reports, and the multi-file VMDK variants must be refused.
 */
class FormatInspectorQemuIT {
  @TempDir Path tmp;
  final QemuImg qemuImg = new QemuImg();

  @ParameterizedTest
  @CsvSource({
    "qcow2,qcow2,,QCOW2",
    "qcow2,qcow2,compat=0.10,QCOW2",
    "vmdk,vmdk,subformat=monolithicSparse,VMDK",
    "vmdk,vmdk,subformat=streamOptimized,VMDK",
    "vpc,vpc,subformat=dynamic,VHD",
    "vhdx,vhdx,,VHDX",
    "vdi,vdi,,VDI",
    "raw,raw,,RAW"
  })
  void safeImagesMadeByQemuImgAreRecognised(
      String qemuFmt, String infoFmt, String options, DiskFormat expected) {
    Path img = tmp.resolve("img." + qemuFmt);
    List<String> cmd =
        new java.util.ArrayList<>(List.of("qemu-img", "create", "-q", "-f", qemuFmt));
    if (options != null) {
      cmd.addAll(List.of("-o", options));
    }
    cmd.addAll(List.of(img.toString(), "100M"));
    ImageCacheFixtures.run(cmd.toArray(String[]::new));
    FormatInspector.Inspection r = FormatInspector.verify(img, expected);
    assertThat(r.format()).isEqualTo(expected);
    long qemuSize = qemuImg.info(img, infoFmt, false).virtualSize();
    if (expected == DiskFormat.VHD) {
      // qemu derives a VHD's size from its CHS geometry; the footer's current size is close.
      assertThat(r.virtualSize()).isBetween(qemuSize - (1 << 20), qemuSize + (1 << 20));
    } else {
      assertThat(r.virtualSize()).isEqualTo(qemuSize);
    }
  }

  @Test
  void fixedVhdIsVhdWithFooterAtTheEnd() {
    Path img = tmp.resolve("fixed.vhd");
    ImageCacheFixtures.run(
        "qemu-img", "create", "-q", "-f", "vpc", "-o", "subformat=fixed", img.toString(), "64M");
    FormatInspector.Inspection r = FormatInspector.verify(img, DiskFormat.VHD);
    assertThat(r.rawCompatible()).isTrue();
    assertThat(r.virtualSize()).isGreaterThanOrEqualTo(64L << 20);
  }

  @ParameterizedTest
  @CsvSource({"monolithicFlat", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat"})
  void multiFileVmdksAreRefused(String subformat) {
    Path img = tmp.resolve(subformat + ".vmdk");
    ImageCacheFixtures.run(
        "qemu-img",
        "create",
        "-q",
        "-f",
        "vmdk",
        "-o",
        "subformat=" + subformat,
        img.toString(),
        "10M");
    FormatInspector.Inspection r = FormatInspector.inspect(img);
    assertThat(r.format()).isEqualTo(DiskFormat.VMDK);
    assertThat(r.findings()).anyMatch(f -> f.contains("createType"));
  }

  @Test
  void qedMadeByQemuImgIsRefused() {
    Path img = tmp.resolve("x.qed");
    ImageCacheFixtures.run("qemu-img", "create", "-q", "-f", "qed", img.toString(), "10M");
    FormatInspector.Inspection r = FormatInspector.inspect(img);
    assertThat(r.format()).isEqualTo(DiskFormat.QED);
    assertThat(r.virtualSize()).isEqualTo(10L << 20);
    assertThat(r.safe()).isFalse();
  }

  @Test
  void qcow2OverlayAndExternalDataFileMadeByQemuImgAreRefused() throws Exception {
    Path base = ImageCacheFixtures.markedRaw(tmp.resolve("base"), 1 << 20, "B");
    Path overlay = tmp.resolve("overlay.qcow2");
    qemuImg.createOverlay(overlay, base, "raw", 1 << 20);
    assertThat(FormatInspector.inspect(overlay).findings())
        .anyMatch(f -> f.contains("backing file '" + base + "'"));
    Path withData = tmp.resolve("data.qcow2");
    ImageCacheFixtures.run(
        "qemu-img",
        "create",
        "-q",
        "-f",
        "qcow2",
        "-o",
        "data_file=" + tmp.resolve("ext.raw"),
        withData.toString(),
        "1M");
    assertThat(FormatInspector.inspect(withData).findings())
        .anyMatch(f -> f.contains("external data file (incompatible feature bit 2)"))
        .anyMatch(f -> f.contains("names an external data file '" + tmp.resolve("ext.raw")));
  }

  @Test
  void inspectorThroughput() throws Exception {
    // Not a timed assertion: prints the figure for the report (a 256 MiB raw image, no skipping
    // possible for the stream variant, which sees every byte).
    Path img = tmp.resolve("t.raw");
    byte[] buf = new byte[1 << 20];
    new java.util.Random(5).nextBytes(buf);
    try (var out = Files.newOutputStream(img)) {
      for (int i = 0; i < 256; i++) {
        out.write(buf);
      }
    }
    long t0 = System.nanoTime();
    FormatInspector.Stream s = new FormatInspector.Stream();
    try (var in = Files.newInputStream(img)) {
      byte[] chunk = new byte[64 << 10];
      int n;
      while ((n = in.read(chunk)) > 0) {
        s.update(chunk, 0, n);
      }
    }
    assertThat(s.finish().virtualSize()).isEqualTo(256L << 20);
    double secs = (System.nanoTime() - t0) / 1e9;
    System.out.printf("FIGURE inspector stream throughput: %.0f MiB/s%n", 256 / secs);
  }
}
