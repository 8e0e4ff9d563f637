package io.virga.libvirt;

import static io.virga.libvirt.ImageCacheFixtures.image;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.virga.core.DiskFormat;
import io.virga.core.ImageUnsafeException;
import io.virga.core.InvalidInputException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The malicious image suite (issue 3 item 6, DESIGN §5): images crafted here with qemu-img and by
 * hand (never committed as binaries) are handed to the spawn path ({@link ImageBackend#createRoot},
 * which fetches through {@link ImageCache#fetchBase}); each must be refused with a clear error, and
 * no byte of the host files they point at may reach {@code _base} or an instance directory.
 */
class MaliciousImageIT {
  @TempDir static Path tmp;
  static Path secretFile;
  static String secret;
  static Path instances;
  static final String PASSWD_LINE = firstLine("/etc/passwd");
  static final QemuImg QEMU_IMG = new QemuImg();

  @BeforeAll
  static void secret() throws IOException {
    secret = "VIRGA-HOST-SECRET-" + UUID.randomUUID();
    secretFile = tmp.resolve("host-secret.txt");
    Files.writeString(secretFile, (secret + "\n").repeat(20_000)); // ~1 MiB of secret
    instances = Files.createDirectories(tmp.resolve("instances"));
  }

  record Case(String name, Path file, DiskFormat declared, String message) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Arguments> cases() throws Exception {
    Path d = Files.createDirectories(tmp.resolve("crafted"));
    String[] q = {"qemu-img", "create", "-q", "-f", "qcow2"};

    Path backingSecret = d.resolve("backing-secret.qcow2");
    run(q, "-b", secretFile.toString(), "-F", "raw", backingSecret.toString(), "1M");
    Path backingPasswd = d.resolve("backing-passwd.qcow2");
    run(q, "-b", "/etc/passwd", "-F", "raw", backingPasswd.toString(), "1M");

    // External data file: made against a scratch file, which is then replaced by host data.
    Path dataFile = d.resolve("data-file-target");
    Path withData = d.resolve("external-data.qcow2");
    run(q, "-o", "data_file=" + dataFile + ",data_file_raw=on", withData.toString(), "1M");
    Files.copy(secretFile, dataFile, java.nio.file.StandardCopyOption.REPLACE_EXISTING);

    // A bare VMDK descriptor whose extent is the host file.
    Path descriptor = d.resolve("descriptor.vmdk");
    Files.writeString(
        descriptor,
        "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
            + "createType=\"monolithicFlat\"\n\n# Extent description\nRW 2048 FLAT \""
            + secretFile
            + "\" 0\n\n# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = \"4\"\n"
            + "ddb.adapterType = \"ide\"\n");

    // A qemu-made monolithicSparse VMDK whose embedded descriptor is edited to use /etc/passwd.
    Path sparse = d.resolve("sparse-extent.vmdk");
    run(new String[] {"qemu-img", "create", "-q", "-f", "vmdk"}, sparse.toString(), "1M");
    rewriteEmbeddedExtent(sparse, "\"" + "/etc/passwd" + "\"");

    Path plainQcow2 = d.resolve("plain.qcow2");
    run(q, plainQcow2.toString(), "64M");

    Path hugeQcow2 = d.resolve("huge.qcow2");
    run(q, hugeQcow2.toString(), "64T");

    Path truncated = d.resolve("truncated.qcow2");
    Files.write(truncated, Arrays.copyOf(Files.readAllBytes(plainQcow2), 48));

    Path qed = d.resolve("x.qed");
    run(new String[] {"qemu-img", "create", "-q", "-f", "qed"}, qed.toString(), "1M");

    return Stream.of(
            new Case(
                "qcow2 backed by a host secret",
                backingSecret,
                DiskFormat.QCOW2,
                "backing file '" + secretFile + "'"),
            new Case(
                "qcow2 backed by /etc/passwd",
                backingPasswd,
                DiskFormat.QCOW2,
                "backing file '/etc/passwd'"),
            new Case(
                "qcow2 backed by a host file, declared raw",
                backingSecret,
                DiskFormat.RAW,
                "(declared raw, detected qcow2) is unsafe: qcow2 image has a backing file"),
            new Case(
                "qcow2 with an external data file",
                withData,
                DiskFormat.QCOW2,
                "external data file"),
            new Case(
                "qcow2 with an external data file, declared raw",
                withData,
                DiskFormat.RAW,
                "external data file"),
            new Case(
                "VMDK descriptor with a host-file extent",
                descriptor,
                DiskFormat.VMDK,
                "VMDK extent refers to another file"),
            new Case(
                "VMDK descriptor declared raw", descriptor, DiskFormat.RAW, "bare VMDK descriptor"),
            new Case(
                "sparse VMDK whose extent is /etc/passwd", sparse, DiskFormat.VMDK, "/etc/passwd"),
            new Case(
                "qcow2 declared raw",
                plainQcow2,
                DiskFormat.RAW,
                "is declared raw but its header says qcow2"),
            new Case(
                "qcow2 larger than the flavor",
                hugeQcow2,
                DiskFormat.QCOW2,
                "Flavor disk is 1073741824 bytes, image is 70368744177664 bytes"),
            new Case(
                "truncated qcow2 header", truncated, DiskFormat.QCOW2, "truncated qcow2 header"),
            new Case(
                "truncated qcow2 header declared raw",
                truncated,
                DiskFormat.RAW,
                "truncated qcow2 header"),
            new Case("QED", qed, DiskFormat.QED, "QED images are not accepted"))
        .map(Arguments::of);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void isRefusedBeforeReachingADisk(Case c) throws Exception {
    for (boolean forceRaw : new boolean[] {true, false}) {
      ImageCache cache = new ImageCache(instances, QEMU_IMG, forceRaw);
      ImageBackend backend = ImageBackend.forType("qcow2", QEMU_IMG, cache);
      Path dir = Files.createDirectories(instances.resolve(UUID.randomUUID().toString()));
      String id = "evil-" + UUID.randomUUID();
      var source = new ImageCacheFixtures.FileSource().with(id, c.file());

      Throwable t =
          catchThrowable(() -> backend.createRoot(dir, image(id, c.declared()), source, 1L << 30));

      assertThat(t)
          .as(c.name())
          .isInstanceOfAny(ImageUnsafeException.class, InvalidInputException.class)
          .hasMessageContaining(c.message());
      assertThat(source.calls(id)).isEqualTo(1);
      assertThat(cache.basePath(id)).doesNotExist();
      assertThat(dir.resolve("disk")).doesNotExist();
      ImageCacheFixtures.assertNoPart(cache.baseDir());
      assertNoHostData();
    }
  }

  /** The detector below must be able to see a leak, or the suite proves nothing. */
  @Test
  void theLeakDetectorFindsPlantedHostData() throws Exception {
    Path control = Files.createDirectories(tmp.resolve("control"));
    // What a vulnerable driver would produce: the backing file's bytes flattened into a disk.
    Path overlay = tmp.resolve("control-overlay.qcow2");
    QEMU_IMG.createOverlay(overlay, secretFile, "raw", 2 << 20);
    Path flattened = control.resolve("flattened.raw");
    QEMU_IMG.convert(overlay, "qcow2", flattened, "raw", false);
    Path passwd = Files.copy(Path.of("/etc/passwd"), control.resolve("passwd-copy"));
    assertThat(ImageCacheFixtures.filesContaining(control, secret)).containsExactly(flattened);
    assertThat(ImageCacheFixtures.filesContaining(control, PASSWD_LINE)).containsExactly(passwd);
  }

  @AfterAll
  static void nothingFromTheHostReachedAnyDiskOrBase() throws IOException {
    // the cases wrote their instance dirs and base cache here: the search below covers them
    assertThat(instances).isDirectoryContaining(p -> p.getFileName().toString().equals("_base"));
    assertNoHostData();
  }

  static void assertNoHostData() throws IOException {
    assertThat(instances).as("the instances directory the cases write to").isDirectory();
    assertThat(ImageCacheFixtures.filesContaining(instances, secret)).isEmpty();
    assertThat(ImageCacheFixtures.filesContaining(instances, PASSWD_LINE)).isEmpty();
  }

  /** Replaces the file name of the embedded descriptor's extent line, keeping the sector layout. */
  static void rewriteEmbeddedExtent(Path vmdk, String newName) throws IOException {
    byte[] b = Files.readAllBytes(vmdk);
    String desc = new String(b, 0x200, 20 * 512, StandardCharsets.ISO_8859_1);
    int end = desc.indexOf('\0');
    String text = desc.substring(0, end);
    String edited =
        text.replaceFirst("SPARSE \"[^\"]*\"", "SPARSE " + newName.replace("\\", "\\\\"));
    assertThat(edited).isNotEqualTo(text).contains(newName);
    byte[] e = edited.getBytes(StandardCharsets.ISO_8859_1);
    Arrays.fill(b, 0x200, 0x200 + 20 * 512, (byte) 0);
    System.arraycopy(e, 0, b, 0x200, e.length);
    Files.write(vmdk, b);
  }

  static void run(String[] prefix, String... args) {
    ImageCacheFixtures.run(
        Stream.concat(Arrays.stream(prefix), Arrays.stream(args)).toArray(String[]::new));
  }

  private static String firstLine(String file) {
    try {
      return Files.readAllLines(Path.of(file)).get(0);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
