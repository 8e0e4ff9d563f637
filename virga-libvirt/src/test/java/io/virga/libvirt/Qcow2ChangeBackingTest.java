package io.virga.libvirt;

import static io.virga.libvirt.SnapshotTestImages.checks;
import static io.virga.libvirt.SnapshotTestImages.exec;
import static io.virga.libvirt.SnapshotTestImages.hasPattern;
import static io.virga.libvirt.SnapshotTestImages.output;
import static io.virga.libvirt.SnapshotTestImages.run;
import static io.virga.libvirt.SnapshotTestImages.write;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link Qcow2Header#changeBackingFile} on images made by the real {@code qemu-img}: what qemu
 * reads back afterwards (backing name and format, {@code check}, the guest's bytes through the new
 * backing), and what it declines, leaving the file untouched.
 */
class Qcow2ChangeBackingTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int BASE_PATTERN = 0x5a;
  private static final int OVERLAY_PATTERN = 0x33;

  @TempDir Path tmp;

  /** A 4 MiB raw base with BASE_PATTERN in its first 64 KiB, at {@code path}. */
  private Path base(Path path) throws Exception {
    Files.createDirectories(path.getParent());
    run("qemu-img", "create", "-q", "-f", "raw", path.toString(), "4M");
    write(path, "raw", BASE_PATTERN, 0);
    return path;
  }

  /** A qcow2 overlay over {@code base} with OVERLAY_PATTERN at 1 MiB. */
  private Path overlay(Path base, String baseFormat, String... options) {
    Path disk = tmp.resolve("disk");
    List<String> cmd = new ArrayList<>(List.of("qemu-img", "create", "-q", "-f", "qcow2"));
    for (String o : options) {
      cmd.addAll(List.of("-o", o));
    }
    cmd.addAll(List.of("-b", base.toString(), "-F", baseFormat, disk.toString(), "4M"));
    run(cmd.toArray(String[]::new));
    write(disk, "qcow2", OVERLAY_PATTERN, 1 << 20);
    return disk;
  }

  private static JsonNode info(Path disk) throws Exception {
    return JSON.readTree(
        output("qemu-img", "info", "-f", "qcow2", "--output=json", disk.toString()));
  }

  /** The new backing is what qemu reads, and the disk's bytes come through it. */
  private static void assertRepointed(Path disk, Path backing, String format) throws Exception {
    JsonNode info = info(disk);
    assertThat(info.path("backing-filename").asText()).isEqualTo(backing.toString());
    assertThat(info.path("backing-filename-format").asText()).isEqualTo(format);
    assertThat(checks(disk, "qcow2")).isTrue();
    assertThat(hasPattern(disk, "qcow2", BASE_PATTERN, 0)).isTrue();
    assertThat(hasPattern(disk, "qcow2", OVERLAY_PATTERN, 1 << 20)).isTrue();
    assertThat(hasPattern(disk, "qcow2", 0, 2 << 20)).isTrue();
  }

  @ParameterizedTest(name = "compat={0}, new name {1}")
  @CsvSource({
    "1.1, longer",
    "1.1, shorter",
    "0.10, longer",
    "0.10, shorter",
  })
  void rewritesTheNameAsQemuImgRebaseDoes(String compat, String length) throws Exception {
    Path old = base(tmp.resolve("old-host/instances/_base/0123456789abcdef"));
    Path disk = overlay(old, "raw", "compat=" + compat);
    Path moved =
        tmp.resolve(
            length.equals("longer") ? "new-host/var/lib/virga/instances/_base/0123456789ab" : "b");
    base(moved);
    assertThat(moved.toString().length() > old.toString().length())
        .isEqualTo(length.equals("longer"));
    // the same change by qemu-img, on a copy, is the reference for the header's bytes
    Path reference = tmp.resolve("reference");
    Files.copy(disk, reference);
    run(
        "qemu-img",
        "rebase",
        "-u",
        "-f",
        "qcow2",
        "-b",
        moved.toString(),
        "-F",
        "raw",
        reference.toString());
    byte[] before = Files.readAllBytes(disk);

    assertThat(Qcow2Header.changeBackingFile(disk, moved.toString(), "raw")).isEmpty();

    byte[] after = Files.readAllBytes(disk);
    assertThat(Arrays.mismatch(after, Files.readAllBytes(reference)))
        .as("first byte that differs from qemu-img's own rewrite")
        .isEqualTo(-1);
    int cluster = 1 << ByteBuffer.wrap(before).getInt(20);
    assertThat(Arrays.mismatch(before, cluster, before.length, after, cluster, after.length))
        .as("nothing past the header cluster changes")
        .isEqualTo(-1);
    Files.delete(old); // nothing may still read the old base
    assertRepointed(disk, moved, "raw");
    assertThat(Qcow2Header.read(disk).backingFile()).contains(moved.toString());
  }

  @Test
  void zeroesTheTailOfALongerOldName() throws Exception {
    Path old = base(tmp.resolve("x".repeat(200) + "/_base/" + "y".repeat(200)));
    Path disk = overlay(old, "raw");
    ByteBuffer h = ByteBuffer.wrap(Files.readAllBytes(disk));
    int oldAt = (int) h.getLong(8);
    int oldLength = h.getInt(16);
    Path moved = base(tmp.resolve("b"));

    assertThat(Qcow2Header.changeBackingFile(disk, moved.toString(), "raw")).isEmpty();

    byte[] after = Files.readAllBytes(disk);
    int newLength = moved.toString().length();
    assertThat(allZero(after, oldAt + newLength, oldAt + oldLength)).isTrue();
    assertRepointed(disk, moved, "raw");
  }

  @Test
  void changesTheBackingFormatInItsExtension() throws Exception {
    Path raw = base(tmp.resolve("raw-base"));
    Path q = tmp.resolve("qcow2-base");
    run("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw.toString(), q.toString());
    Path disk = overlay(q, "qcow2");
    assertThat(info(disk).path("backing-filename-format").asText()).isEqualTo("qcow2");

    assertThat(Qcow2Header.changeBackingFile(disk, raw.toString(), "raw")).isEmpty();

    Files.delete(q);
    assertRepointed(disk, raw, "raw");
  }

  @Test
  void aNameThatDoesNotFitInA512ByteClusterIsDeclinedAndNothingWritten() throws Exception {
    Path old = base(tmp.resolve("a"));
    Path disk = overlay(old, "raw", "cluster_size=512");
    // 512 − 136 (v3 header, format extension, end marker) leaves 376 bytes for the name
    String dir = "f".repeat(200);
    Path fits = base(tmp.resolve(dir).resolve("g".repeat(376 - tmp.toString().length() - 202)));
    assertThat(fits.toString()).hasSize(376);
    Path tooLong = base(tmp.resolve("l".repeat(200)).resolve("m".repeat(200)));
    byte[] before = Files.readAllBytes(disk);

    Optional<String> refused = Qcow2Header.changeBackingFile(disk, tooLong.toString(), "raw");

    assertThat(refused).hasValueSatisfying(r -> assertThat(r).contains("does not fit"));
    assertThat(Arrays.mismatch(Files.readAllBytes(disk), before)).isEqualTo(-1);
    // qemu-img itself has no room either: the fallback reports the same limit
    assertThat(
            exec(
                "qemu-img",
                "rebase",
                "-u",
                "-f",
                "qcow2",
                "-b",
                tooLong.toString(),
                "-F",
                "raw",
                disk.toString()))
        .isNotZero();
    assertThat(Qcow2Header.changeBackingFile(disk, fits.toString(), "raw")).isEmpty();
    assertRepointed(disk, fits, "raw");
  }

  @Test
  void declinesWhatItDoesNotUnderstand() throws Exception {
    Path old = base(tmp.resolve("a"));
    Path moved = base(tmp.resolve("b"));
    // dirty (lazy refcounts left unrepaired), an unknown autoclear bit, an L1 table in cluster 0
    assertDeclined(old, moved, h -> h.putLong(72, 1L), "incompatible features 0x1");
    assertDeclined(old, moved, h -> h.putLong(88, 1L << 7), "autoclear");
    assertDeclined(old, moved, h -> h.putLong(40, 512L), "overlaps the header cluster");
    assertDeclined(old, moved, h -> h.putInt(32, 1), "encrypted");

    Path data = tmp.resolve("data-file");
    Path disk = tmp.resolve("external");
    run(
        "qemu-img",
        "create",
        "-q",
        "-f",
        "qcow2",
        "-o",
        "data_file=" + data,
        "-b",
        old.toString(),
        "-F",
        "raw",
        disk.toString(),
        "4M");
    assertThat(Qcow2Header.changeBackingFile(disk, moved.toString(), "raw"))
        .hasValueSatisfying(r -> assertThat(r).contains("incompatible features 0x4"));

    Path v2 = overlay(old, "raw", "compat=0.10");
    assertThat(Qcow2Header.changeBackingFile(v2, "/" + "n".repeat(1023), "raw"))
        .hasValueSatisfying(r -> assertThat(r).contains("1024 bytes"));
  }

  @Test
  void declinesAnImageAProcessHasOpenAsQemuImgWould() throws Exception {
    Path moved = base(tmp.resolve("b"));
    Path disk = overlay(base(tmp.resolve("a")), "raw");
    byte[] before = Files.readAllBytes(disk);
    Path qemuIoLog = tmp.resolve("qemu-io.log");
    // qemu-io holds the image open (and qemu's lock on it) for ten minutes, or until destroyed
    Process qemuIo =
        new ProcessBuilder("qemu-io", "-f", "qcow2", "-c", "sleep 600000", disk.toString())
            .redirectErrorStream(true)
            .redirectOutput(qemuIoLog.toFile())
            .start();
    try {
      // a loaded machine can take long to start qemu-io; only its exit or a minute ends the wait
      long deadline = System.nanoTime() + 60_000_000_000L;
      while (exec("qemu-img", "info", "-f", "qcow2", disk.toString()) == 0) { // not locked yet
        assertThat(qemuIo.isAlive())
            .as("qemu-io exited before locking the image: %s", Files.readString(qemuIoLog))
            .isTrue();
        assertThat(System.nanoTime())
            .as("qemu-io has not locked the image in a minute")
            .isLessThan(deadline);
        Thread.sleep(50);
      }
      assertThat(Qcow2Header.changeBackingFile(disk, moved.toString(), "raw"))
          .hasValueSatisfying(r -> assertThat(r).contains("in use"));
      assertThat(Arrays.mismatch(Files.readAllBytes(disk), before)).isEqualTo(-1);
    } finally {
      qemuIo.destroyForcibly().waitFor();
    }
    assertThat(Qcow2Header.changeBackingFile(disk, moved.toString(), "raw")).isEmpty();
    assertRepointed(disk, moved, "raw");
  }

  /** One header field changed by hand: declined, the file left as it was. */
  private void assertDeclined(Path old, Path moved, Consumer<ByteBuffer> edit, String why)
      throws Exception {
    Path disk = overlay(old, "raw");
    ByteBuffer h = ByteBuffer.wrap(Files.readAllBytes(disk));
    edit.accept(h);
    Files.write(disk, h.array());
    byte[] before = Files.readAllBytes(disk);
    assertThat(Qcow2Header.changeBackingFile(disk, moved.toString(), "raw"))
        .hasValueSatisfying(r -> assertThat(r).contains(why));
    assertThat(Arrays.mismatch(Files.readAllBytes(disk), before)).isEqualTo(-1);
    Files.delete(disk);
  }

  private static boolean allZero(byte[] b, int from, int to) {
    for (int i = from; i < to; i++) {
      if (b[i] != 0) {
        return false;
      }
    }
    return true;
  }
}
