package io.virga.libvirt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The qemu-img runner against the real qemu-img: JSON info, explicit formats, resource limits. */
class QemuImgIT {
  @TempDir Path tmp;
  final QemuImg qemuImg = new QemuImg();

  @Test
  void createInfoResizeConvertRoundTrip() throws Exception {
    Path raw = ImageCacheFixtures.markedRaw(tmp.resolve("a.raw"), 4 << 20, "ROUNDTRIP");
    Path q = tmp.resolve("a.qcow2");
    qemuImg.convert(raw, "raw", q, "qcow2", true);
    QemuImg.Info info = qemuImg.info(q, "qcow2", false);
    assertThat(info.format()).isEqualTo("qcow2");
    assertThat(info.virtualSize()).isEqualTo(4 << 20);
    assertThat(info.backingFile()).isEmpty();

    Path overlay = tmp.resolve("o.qcow2");
    qemuImg.createOverlay(overlay, raw, "raw", 8 << 20);
    QemuImg.Info o = qemuImg.info(overlay, "qcow2", true);
    assertThat(o.backingFile()).contains(raw.toString());
    assertThat(o.backingFormat()).contains("raw");
    assertThat(o.virtualSize()).isEqualTo(8 << 20);

    qemuImg.resize(overlay, "qcow2", 16 << 20);
    assertThat(qemuImg.info(overlay, "qcow2", false).virtualSize()).isEqualTo(16 << 20);

    Path back = tmp.resolve("back.raw");
    qemuImg.convert(overlay, "qcow2", back, "raw", false);
    assertThat(Files.size(back)).isEqualTo(16 << 20);
    assertThat(ImageCacheFixtures.contains(back, "ROUNDTRIP".getBytes())).isTrue();
  }

  @Test
  void infoWithTheWrongFormatFailsWithQemuImgsMessage() throws Exception {
    Path raw = ImageCacheFixtures.markedRaw(tmp.resolve("b.raw"), 1 << 20, "x");
    assertThatThrownBy(() -> qemuImg.info(raw, "qcow2", false))
        .isInstanceOf(QemuImgException.class)
        .hasMessageContaining("qemu-img info failed")
        .hasMessageContaining("Image is not in qcow2 format");
  }

  @Test
  void formatsOutsideTheAllowListAreRefusedBeforeRunning() {
    assertThatThrownBy(() -> qemuImg.create(tmp.resolve("c"), "qed", 1 << 20))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> qemuImg.create(tmp.resolve("c"), "raw -o x", 1 << 20))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aTinyAddressSpaceLimitMakesQemuImgFailCleanly() throws Exception {
    Path q = tmp.resolve("d.qcow2");
    qemuImg.create(q, "qcow2", 1 << 20);
    QemuImg limited = new QemuImg("qemu-img", new QemuImg.Limits(16L << 20, 30, 30));
    assertThatThrownBy(() -> limited.info(q, "qcow2", false))
        .isInstanceOf(QemuImgException.class)
        .hasMessageContaining("qemu-img info failed")
        .satisfies(e -> assertThat(((QemuImgException) e).exitCode()).isNotZero());
    // The default limits leave room for real work.
    assertThat(qemuImg.info(q, "qcow2", false).virtualSize()).isEqualTo(1 << 20);
  }

  @Test
  void limitedRunsGetTwoMallocArenas() throws Exception {
    // Without MALLOC_ARENA_MAX, 2-8 in 60 conversions under a 1 GiB address space aborted in
    // qemu_thread_create (measured on this host); a stand-in binary shows the environment.
    Path fake = tmp.resolve("fake-qemu-img");
    Files.writeString(
        fake,
        "#!/bin/sh\nprintf '{\"format\": \"arenas=%s\", \"virtual-size\": 1}' "
            + "\"$MALLOC_ARENA_MAX\"\n");
    Files.setPosixFilePermissions(
        fake, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    QemuImg q = new QemuImg(fake.toString(), QemuImg.Limits.DEFAULT);
    assertThat(q.info(fake, "raw", false).format()).isEqualTo("arenas=2");
  }

  @Test
  void conversionsUnderTheDefaultLimitsSucceed() throws Exception {
    Path raw = tmp.resolve("dense.raw");
    try (var f = new java.io.RandomAccessFile(raw.toFile(), "rw")) {
      f.setLength(128L << 20);
      byte[] noise = new byte[1 << 20];
      var rnd = new java.util.Random(13);
      for (int i = 0; i < 64; i++) {
        rnd.nextBytes(noise);
        f.seek((long) i << 21);
        f.write(noise);
      }
    }
    Path q = tmp.resolve("dense.qcow2");
    qemuImg.convert(raw, "raw", q, "qcow2", false);
    assertThat(qemuImg.info(q, "qcow2", false).virtualSize()).isEqualTo(128L << 20);
    for (int i = 0; i < 10; i++) {
      Path out = tmp.resolve("out-" + i + ".raw");
      qemuImg.convert(q, "qcow2", out, "raw", false);
      // every run completes and round-trips the bytes: no worker thread failed under the limit
      assertThat(Files.mismatch(raw, out)).as("run %d", i).isEqualTo(-1L);
      Files.delete(out);
    }
  }

  @Test
  void theCpuLimitKillsARunawayConversion() throws Exception {
    // A 1 s CPU budget cannot compress 1 GiB of random-looking data: SIGXCPU/SIGKILL ends it.
    Path src = tmp.resolve("noise.raw");
    try (var out = Files.newOutputStream(src)) {
      var rnd = new java.util.Random(3);
      byte[] buf = new byte[1 << 20];
      for (int i = 0; i < 256; i++) {
        rnd.nextBytes(buf);
        out.write(buf);
      }
    }
    QemuImg limited = new QemuImg("qemu-img", new QemuImg.Limits(1L << 30, 1, 1));
    long t0 = System.nanoTime();
    assertThatThrownBy(() -> limited.convert(src, "raw", tmp.resolve("n.qcow2"), "qcow2", true))
        .isInstanceOf(QemuImgException.class)
        .hasMessageContaining("killed by signal");
    assertThat(System.nanoTime() - t0).isLessThan(20_000_000_000L);
  }
}
