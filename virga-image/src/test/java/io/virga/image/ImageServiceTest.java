package io.virga.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.virga.core.Config;
import io.virga.core.ConflictException;
import io.virga.core.ImageMeta;
import io.virga.core.ImageUnsafeException;
import io.virga.core.NotFoundException;
import io.virga.db.Database;
import io.virga.db.ImageRecord;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageServiceTest {
  @TempDir Path home;
  @TempDir Path files;
  Database db;
  ImageService images;
  final ImageService.Caller admin = ImageService.Caller.system("p-admin");
  final ImageService.Caller demo = new ImageService.Caller("p-demo", false);

  @BeforeEach
  void setUp() {
    Config config = Config.of(Map.of("home", home.toString()));
    db = Database.open(config);
    images = new ImageService(db, config);
  }

  @AfterEach
  void tearDown() {
    db.close();
  }

  @Test
  void importFileMakesAnActivePublicImageComputeCanRead() throws Exception {
    Path disk = files.resolve("tiny.raw");
    Files.write(disk, new byte[3 * 4096]);
    ImageRecord r =
        images.importFile(
            admin,
            ImageSpec.of("tiny", "raw", "bare")
                .withVisibility("public")
                .withProperties(Map.of("os_distro", "busybox")),
            disk);
    assertThat(r.status()).isEqualTo("active");
    ImageMeta meta = images.get(r.id());
    assertThat(meta.size()).isEqualTo(3 * 4096);
    assertThat(meta.virtualSize()).isEqualTo(3 * 4096);
    assertThat(meta.property("os_distro")).contains("busybox");
    assertThat(images.dataPath(r.id())).hasSameBinaryContentAs(disk);
    try (InputStream in = images.openData(r.id())) {
      assertThat(in.readAllBytes()).hasSize(3 * 4096);
    }
    assertThat(images.find(demo, r.id())).isPresent(); // public
  }

  @Test
  void aRefusedImportLeavesAKilledImageWithoutData() throws Exception {
    Path disk = files.resolve("fake.qcow2");
    Files.write(disk, new byte[4096]); // raw bytes declared qcow2
    assertThatThrownBy(() -> images.importFile(admin, ImageSpec.of("fake", "qcow2", "bare"), disk))
        .isInstanceOf(ImageUnsafeException.class);
    ImageRecord r =
        images
            .list(
                admin,
                Map.of("name", "fake"),
                java.util.List.of(),
                java.util.Optional.empty(),
                java.util.List.of(Map.entry("created_at", "desc")),
                java.util.Optional.empty(),
                10)
            .get(0);
    assertThat(r.status()).isEqualTo("killed");
    assertThatThrownBy(() -> images.get(r.id())).isInstanceOf(ConflictException.class);
    try (var s = Files.list(home.resolve("images"))) {
      assertThat(s.toList()).isEmpty();
    }
  }

  @Test
  void snapshotsCreateQueuedThenKillOnFailure() {
    ImageRecord r =
        images.create(
            demo,
            ImageSpec.of("snap", "qcow2", "bare").withProperties(Map.of("image_type", "snapshot")));
    assertThat(r.status()).isEqualTo("queued");
    assertThat(r.owner()).contains("p-demo");
    images.kill(r.id());
    assertThat(images.record(r.id()).orElseThrow().status()).isEqualTo("killed");
    assertThatThrownBy(() -> images.show(new ImageService.Caller("p-other", false), r.id()))
        .isInstanceOf(NotFoundException.class);
  }

  @Test
  void uploadsCutShortByACrashAreUndoneOnStart() throws Exception {
    Path part = home.resolve("images").resolve(".abc.123.part");
    Files.write(part, new byte[10]);
    ImageRecord r = images.create(demo, ImageSpec.of("interrupted", "raw", "bare"));
    db.useTransaction(
        h ->
            h.createUpdate("UPDATE images SET status = 'saving' WHERE id = :id")
                .bind("id", r.id())
                .execute());
    ImageService restarted = new ImageService(db, Config.of(Map.of("home", home.toString())));
    assertThat(part).doesNotExist();
    assertThat(restarted.show(demo, r.id()).status()).isEqualTo("queued");
  }

  @Test
  void anEmptyUploadIsAcceptedAsAZeroByteImage() {
    ImageRecord r = images.create(demo, ImageSpec.of("empty", "qcow2", "bare"));
    ImageRecord done = images.upload(demo, r.id(), new java.io.ByteArrayInputStream(new byte[0]));
    assertThat(done.status()).isEqualTo("active");
    assertThat(done.size()).contains(0L);
    assertThat(done.virtualSize()).contains(0L);
    assertThat(done.checksum()).contains("d41d8cd98f00b204e9800998ecf8427e");
  }

  @Test
  void aStoreThatCannotBeWrittenMarksTheImageKilled() throws Exception {
    ImageRecord r = images.create(demo, ImageSpec.of("doomed", "raw", "bare"));
    Path store = home.resolve("images");
    Files.delete(store);
    Files.writeString(store, "not a directory"); // even root cannot create files under a file
    assertThatThrownBy(
            () -> images.upload(demo, r.id(), new java.io.ByteArrayInputStream(new byte[512])))
        .isInstanceOf(io.virga.core.VirgaException.class)
        .hasMessageContaining("Failed to store the image data")
        .matches(e -> ((io.virga.core.VirgaException) e).httpStatus() == 500);
    assertThat(images.record(r.id()).orElseThrow().status()).isEqualTo("killed");
  }
}
