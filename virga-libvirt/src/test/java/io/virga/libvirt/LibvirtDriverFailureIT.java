package io.virga.libvirt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.virga.virt.InstanceSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Injected spawn failures leave nothing behind: no domain, no instance directory, no .part file —
 * and the error names the step that failed.
 */
class LibvirtDriverFailureIT {

  private static void assertNothingLeft(LibvirtDriverFixture fx, InstanceSpec spec)
      throws Exception {
    fx.assertNoDomain(spec);
    assertThat(fx.instanceDir(spec)).doesNotExist();
    fx.assertNoPartFiles();
    assertThatThrownBy(() -> fx.driver.getConsoleOutput(spec, -1))
        .isInstanceOf(io.virga.core.NotFoundException.class);
  }

  @Test
  void unwritableInstanceDirectory() throws Exception {
    Path blocker = Files.createTempFile("virga-h3-notadir-", "");
    try (var fx =
        new LibvirtDriverFixture(
            Map.of("instances_path", blocker.resolve("instances").toString()))) {
      InstanceSpec spec =
          fx.spec(
              "no-dir",
              LibvirtDriverFixture.flavor(128, 0, 0),
              fx.diskImage(Map.of()),
              Optional.empty());
      assertThatThrownBy(() -> fx.spawn(spec))
          .isInstanceOf(SpawnException.class)
          .hasMessageContaining("createImage")
          .hasMessageContaining("cannot create instance directory");
      fx.assertNoDomain(spec);
      assertThat(fx.instanceDir(spec)).doesNotExist();
    } finally {
      Files.deleteIfExists(blocker);
    }
  }

  @Test
  void qemuFailingToStart() throws Exception {
    try (var fx = new LibvirtDriverFixture()) {
      // 4 TiB of guest RAM: libvirt defines it, qemu cannot allocate it and exits at start
      InstanceSpec spec =
          fx.spec(
              "too-big",
              LibvirtDriverFixture.flavor(4 << 20, 0, 0),
              fx.diskImage(Map.of()),
              Optional.empty());
      assertThatThrownBy(() -> fx.spawn(spec))
          .isInstanceOf(SpawnException.class)
          .hasMessageContaining("createDomainAndNetwork")
          .hasMessageContaining("Cannot allocate memory");
      assertNothingLeft(fx, spec);
      // the base this spawn fetched is shared: it stays
      assertThat(fx.driver.options().baseDir().resolve(ImageCache.baseName(spec.image().id())))
          .isRegularFile();
    }
  }

  @Test
  void configDriveBuildFailure() throws Exception {
    try (var fx = new LibvirtDriverFixture(Map.of("mkisofs_cmd", "/bin/false"))) {
      InstanceSpec spec =
          fx.spec(
              "no-iso",
              LibvirtDriverFixture.flavor(128, 1, 16),
              fx.diskImage(Map.of()),
              Optional.empty());
      assertThatThrownBy(() -> fx.spawn(spec))
          .isInstanceOf(SpawnException.class)
          .hasMessageContaining("createConfigDrive")
          .hasMessageContaining("/bin/false");
      assertNothingLeft(fx, spec);
    }
  }

  @Test
  void anImageLargerThanTheFlavorIsRefusedBeforeAnythingBoots() throws Exception {
    try (var fx = new LibvirtDriverFixture()) {
      var f = new io.virga.core.Flavor("z", "zero", 128, 1, 1, 0, 0, Map.of());
      var image = fx.diskImage(Map.of());
      // a 2 GiB virtual image on a 1 GiB flavor
      Path big = Files.createTempFile(fx.home, "big-", ".qcow2");
      new QemuImg().create(big, "qcow2", 2L << 30);
      var bigImage =
          new io.virga.core.ImageMeta(
              image.id(),
              "big",
              io.virga.core.DiskFormat.QCOW2,
              "bare",
              Files.size(big),
              0,
              0,
              0,
              Map.of());
      var source =
          (io.virga.virt.ImageSource)
              (m, t) -> {
                try {
                  Files.copy(big, t, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                } catch (java.io.IOException e) {
                  throw new java.io.UncheckedIOException(e);
                }
              };
      InstanceSpec spec = fx.spec("big", f, bigImage, Optional.empty());
      assertThatThrownBy(() -> fx.driver.spawn(spec, source, t -> {}))
          .isInstanceOf(SpawnException.class)
          .hasMessageContaining("createImage");
      assertNothingLeft(fx, spec);
    }
  }

  @Test
  void imageDownloadBreakingOffHalfway() throws Exception {
    try (var fx = new LibvirtDriverFixture()) {
      var image = fx.diskImage(Map.of());
      io.virga.virt.ImageSource broken =
          (m, target) -> {
            try {
              Files.write(target, new byte[65536]);
            } catch (java.io.IOException e) {
              throw new java.io.UncheckedIOException(e);
            }
            throw new io.virga.core.VirgaException("image service went away");
          };
      InstanceSpec spec =
          fx.spec("half", LibvirtDriverFixture.flavor(128, 0, 0), image, Optional.empty());
      assertThatThrownBy(() -> fx.driver.spawn(spec, broken, t -> {}))
          .isInstanceOf(SpawnException.class)
          .hasMessageContaining("createImage")
          .hasMessageContaining("image service went away");
      assertNothingLeft(fx, spec);
      assertThat(fx.driver.options().baseDir().resolve(ImageCache.baseName(image.id())))
          .doesNotExist();
    }
  }
}
