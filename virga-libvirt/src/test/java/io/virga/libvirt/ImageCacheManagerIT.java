package io.virga.libvirt;

import static io.virga.libvirt.ImageCacheFixtures.image;
import static org.assertj.core.api.Assertions.assertThat;

import io.virga.core.Config;
import io.virga.core.DiskFormat;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Image cache ageing against real instance directories and qemu-img. */
class ImageCacheManagerIT {
  @TempDir Path tmp;
  final QemuImg qemuImg = new QemuImg();

  static void age(Path file, Duration age) throws Exception {
    Files.setLastModifiedTime(file, FileTime.from(Instant.now().minus(age)));
  }

  @Test
  void removesOnlyOldUnusedBasesAndTouchesThoseInUse() throws Exception {
    Path instances = tmp.resolve("instances");
    ImageCache cache = new ImageCache(instances, qemuImg, true);
    ImageBackend backend = ImageBackend.forType("qcow2", qemuImg, cache);
    var source = new ImageCacheFixtures.FileSource();
    for (String id : new String[] {"used", "old", "young"}) {
      source.with(id, ImageCacheFixtures.markedRaw(tmp.resolve(id + ".raw"), 1 << 20, id));
      cache.fetchBase(image(id, DiskFormat.RAW), source);
    }
    Path dir = Files.createDirectories(instances.resolve("aaaaaaaa-0000-0000-0000-000000000001"));
    backend.createRoot(dir, image("used", DiskFormat.RAW), source, 1L << 30);
    backend.createEphemeral(dir, 1);
    Path swapUnused = cache.swapBase(8); // no instance uses it
    Path used = cache.basePath("used");
    Path old = cache.basePath("old");
    Path young = cache.basePath("young");
    Path ephemeral = cache.ephemeralBase(1);
    Path resizedOld = cache.baseDir().resolve(ImageCache.baseName("r") + "_20");
    Path resizedYoung = cache.baseDir().resolve(ImageCache.baseName("r2") + "_20");
    Files.write(resizedOld, new byte[512]);
    Files.write(resizedYoung, new byte[512]);
    Path part = cache.baseDir().resolve(ImageCache.baseName("fetching") + ".part");
    Files.write(part, new byte[512]);

    age(used, Duration.ofDays(3));
    age(ephemeral, Duration.ofDays(3));
    age(old, Duration.ofHours(25));
    age(swapUnused, Duration.ofHours(25));
    age(young, Duration.ofHours(23));
    age(resizedOld, Duration.ofMinutes(61));
    age(resizedYoung, Duration.ofMinutes(59));
    age(part, Duration.ofDays(9));

    ImageCacheManager manager =
        ImageCacheManager.fromConfig(Config.of(Map.of()), cache); // 86400 s / 3600 s defaults
    assertThat(manager.basesInUse(manager.instanceDirs()))
        .containsExactlyInAnyOrder(used, ephemeral);

    ImageCacheManager.Result r = manager.run();

    assertThat(r.inUse()).containsExactlyInAnyOrder(used, ephemeral);
    assertThat(r.removed()).containsExactlyInAnyOrder(old, swapUnused, resizedOld);
    assertThat(r.kept()).containsExactlyInAnyOrder(young, resizedYoung);
    assertThat(used).exists();
    assertThat(ephemeral).exists();
    assertThat(young).exists();
    assertThat(resizedYoung).exists();
    assertThat(part).exists(); // a fetch in progress is none of ageing's business
    assertThat(old).doesNotExist();
    assertThat(old.resolveSibling(old.getFileName() + ".info")).doesNotExist();
    assertThat(swapUnused).doesNotExist();
    assertThat(resizedOld).doesNotExist();
    assertThat(Files.getLastModifiedTime(used).toInstant()).isAfter(Instant.now().minusSeconds(60));
    // The overlay still reads through its base.
    assertThat(qemuImg.info(dir.resolve("disk"), "qcow2", true).backingFile())
        .contains(used.toString());
  }

  @Test
  void configuredAgesAndCallerSuppliedBasesAreHonoured() throws Exception {
    Path instances = tmp.resolve("instances");
    ImageCache cache = new ImageCache(instances, qemuImg, true);
    var source = new ImageCacheFixtures.FileSource();
    source.with("kernel", ImageCacheFixtures.markedRaw(tmp.resolve("k"), 4096, "k"));
    source.with("gone", ImageCacheFixtures.markedRaw(tmp.resolve("g"), 4096, "g"));
    Path kernel = cache.fetchRaw(image("kernel", DiskFormat.AKI), source);
    Path gone = cache.fetchBase(image("gone", DiskFormat.RAW), source);
    age(kernel, Duration.ofSeconds(120));
    age(gone, Duration.ofSeconds(120));
    ImageCacheManager manager =
        ImageCacheManager.fromConfig(
            Config.of(Map.of("remove_unused_original_minimum_age_seconds", "60")), cache);
    ImageCacheManager.Result r = manager.run(Set.of(cache.basePath("kernel")));
    assertThat(r.removed()).containsExactly(gone);
    assertThat(kernel).exists();

    age(kernel, Duration.ofSeconds(120));
    ImageCacheManager keepAll =
        ImageCacheManager.fromConfig(
            Config.of(
                Map.of(
                    "remove_unused_original_minimum_age_seconds", "60",
                    "remove_unused_base_images", "false")),
            cache);
    assertThat(keepAll.run().kept()).containsExactly(kernel);
    assertThat(manager.runWithImages(Set.of("kernel")).removed()).isEmpty();
    age(kernel, Duration.ofSeconds(120)); // the pass above touched it
    assertThat(manager.runWithImages(Set.of()).removed()).containsExactly(kernel);
  }

  @Test
  void aBaseLockedByAFetchIsNotRemovedUntilTheLockIsFree() throws Exception {
    Path instances = tmp.resolve("instances");
    ImageCache cache = new ImageCache(instances, qemuImg, true);
    var source = new ImageCacheFixtures.FileSource();
    source.with("busy", ImageCacheFixtures.markedRaw(tmp.resolve("b"), 4096, "b"));
    Path busy = cache.fetchBase(image("busy", DiskFormat.RAW), source);
    age(busy, Duration.ofDays(2));
    ImageCacheManager manager =
        new ImageCacheManager(
            cache, Duration.ofDays(1), Duration.ofHours(1), java.time.Clock.systemUTC());
    var result = new java.util.concurrent.atomic.AtomicReference<ImageCacheManager.Result>();
    Thread ager;
    try (FileLock l = cache.lock(busy.getFileName().toString())) {
      ager = Thread.ofPlatform().start(() -> result.set(manager.run(Set.of())));
      Thread.sleep(300);
      assertThat(result.get()).isNull(); // blocked on the fetch lock
      // What a fetch does under the lock when it hands out a cached base: touch it.
      ImageCache.touch(busy);
    }
    ager.join(10_000);
    assertThat(result.get().removed()).isEmpty();
    assertThat(busy).exists();
  }
}
