package io.virga.libvirt;

import static io.virga.libvirt.ImageCacheFixtures.image;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.virga.core.DiskFormat;
import io.virga.core.FormatInspector;
import io.virga.core.ImageMeta;
import io.virga.core.InvalidInputException;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The base cache against the real qemu-img: one fetch per base across threads and processes. */
class ImageCacheIT {
  @TempDir Path tmp;
  final QemuImg qemuImg = new QemuImg();

  ImageCache cache(boolean forceRaw) {
    return new ImageCache(tmp.resolve("instances"), qemuImg, forceRaw);
  }

  @Test
  void eightConcurrentFetchesOfOneImageFetchItOnce() throws Exception {
    Path src = ImageCacheFixtures.markedRaw(tmp.resolve("src.raw"), 8 << 20, "EIGHT");
    var source = new ImageCacheFixtures.FileSource().with("img-8", src);
    source.delayMs = 300;
    ImageCache cache = cache(true);
    ImageMeta meta = image("img-8", DiskFormat.RAW);
    CyclicBarrier start = new CyclicBarrier(8);
    ExecutorService pool = Executors.newFixedThreadPool(8);
    List<Future<Path>> results = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      results.add(
          pool.submit(
              () -> {
                start.await();
                return cache.fetchBase(meta, source);
              }));
    }
    Set<Path> bases = new java.util.HashSet<>();
    for (Future<Path> f : results) {
      bases.add(f.get(60, TimeUnit.SECONDS));
    }
    pool.shutdown();
    assertThat(source.calls("img-8")).isEqualTo(1);
    assertThat(bases).containsExactly(cache.basePath("img-8"));
    assertThat(cache.basePath("img-8").getFileName().toString())
        .isEqualTo(
            "3e9fb53074f89b65ed39f7fe5ac430676ffd5301"); // sha1("img-8") as sha1sum computes it
    assertThat(Files.mismatch(src, cache.basePath("img-8"))).isEqualTo(-1);
    assertThat(cache.baseInfo(cache.basePath("img-8")))
        .isEqualTo(new ImageCache.BaseInfo(DiskFormat.RAW, 8 << 20));
    ImageCacheFixtures.assertNoPart(cache.baseDir());
  }

  @Test
  void aLockHeldByAnotherProcessExcludesThisOne() throws Exception {
    Path locks = tmp.resolve("instances/locks");
    Process child = ImageCacheChild.command("lock", locks.toString(), "x", "1500").start();
    try (var out =
        new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      assertThat(out.readLine()).isEqualTo("LOCKED");
      long t0 = System.nanoTime();
      try (FileLock l = FileLock.acquire(locks, "x")) {
        long waitedMs = (System.nanoTime() - t0) / 1_000_000;
        assertThat(waitedMs).isGreaterThan(700);
      }
      assertThat(out.readLine()).isEqualTo("RELEASED");
    } finally {
      child.destroyForcibly();
    }
    assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void anotherProcessFetchingTheSameImageMakesThisOneWaitAndNotFetch() throws Exception {
    Path src = ImageCacheFixtures.markedRaw(tmp.resolve("src.raw"), 4 << 20, "XPROC");
    Path counter = tmp.resolve("counter");
    Path instances = tmp.resolve("instances");
    Process child =
        ImageCacheChild.command(
                "fetch", instances.toString(), "img-x", src.toString(), counter.toString(), "2000")
            .start();
    try {
      awaitChildInsideFetch(counter);
      var source = new ImageCacheFixtures.FileSource().with("img-x", src);
      Path base =
          new ImageCache(instances, qemuImg, true)
              .fetchBase(image("img-x", DiskFormat.RAW), source);
      assertThat(source.calls("img-x")).isZero();
      assertThat(Files.readAllLines(counter)).containsExactly("child");
      assertThat(Files.mismatch(src, base)).isEqualTo(-1);
      String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(out).contains("BASE " + base);
    } finally {
      child.destroyForcibly();
      child.waitFor(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void aProcessKilledMidFetchReleasesTheLockAndItsPartIsReplaced() throws Exception {
    Path src = ImageCacheFixtures.markedRaw(tmp.resolve("src.raw"), 4 << 20, "KILLED");
    Path counter = tmp.resolve("counter");
    Path instances = tmp.resolve("instances");
    ImageCache cache = new ImageCache(instances, qemuImg, true);
    Process child =
        ImageCacheChild.command(
                "fetch", instances.toString(), "img-k", src.toString(), counter.toString(), "60000")
            .start();
    try {
      awaitChildInsideFetch(counter);
      // Leave what a crash leaves: a half-written .part while the lock is held.
      Files.write(cache.baseDir().resolve(ImageCache.baseName("img-k") + ".part"), new byte[999]);
    } finally {
      child.destroyForcibly(); // SIGKILL: no finally blocks run in the child
      child.waitFor(30, TimeUnit.SECONDS);
    }
    var source = new ImageCacheFixtures.FileSource().with("img-k", src);
    Path base = cache.fetchBase(image("img-k", DiskFormat.RAW), source);
    assertThat(source.calls("img-k")).isEqualTo(1);
    assertThat(Files.mismatch(src, base)).isEqualTo(-1);
    ImageCacheFixtures.assertNoPart(cache.baseDir());
  }

  @Test
  void aFailingSourceLeavesNoPartAndALaterFetchWorks() throws Exception {
    ImageCache cache = cache(true);
    ImageMeta meta = image("img-fail", DiskFormat.RAW);
    assertThatThrownBy(
            () ->
                cache.fetchBase(
                    meta,
                    (i, target) -> {
                      try {
                        Files.write(target, new byte[123_456]);
                      } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                      }
                      throw new IllegalStateException("connection reset by image service");
                    }))
        .hasMessageContaining("connection reset");
    ImageCacheFixtures.assertNoPart(cache.baseDir());
    assertThat(cache.basePath("img-fail")).doesNotExist();
    Path src = ImageCacheFixtures.markedRaw(tmp.resolve("ok.raw"), 1 << 20, "OK");
    assertThat(cache.fetchBase(meta, new ImageCacheFixtures.FileSource().with("img-fail", src)))
        .exists();
  }

  @Test
  void qcow2IsConvertedToRawWhenForceRawAndKeptOtherwise() throws Exception {
    Path raw = ImageCacheFixtures.markedRaw(tmp.resolve("s.raw"), 256L << 20, "CONVERT-ME");
    try (var f = new java.io.RandomAccessFile(raw.toFile(), "rw")) {
      byte[] noise = new byte[1 << 20]; // 128 MiB of real data, 128 MiB of holes
      var rnd = new java.util.Random(11);
      for (int i = 1; i <= 128; i++) {
        rnd.nextBytes(noise);
        f.seek((long) i << 20);
        f.write(noise);
      }
    }
    Path q = tmp.resolve("s.qcow2");
    qemuImg.convert(raw, "raw", q, "qcow2", false);
    var source = new ImageCacheFixtures.FileSource().with("img-q", q);

    long t0 = System.nanoTime();
    Path base = cache(true).fetchBase(image("img-q", DiskFormat.QCOW2), source);
    System.out.printf(
        "FIGURE fetch+inspect+convert 256 MiB qcow2 (128 MiB data) to raw base: %d ms%n",
        (System.nanoTime() - t0) / 1_000_000);
    assertThat(FormatInspector.inspect(base).format()).isEqualTo(DiskFormat.RAW);
    assertThat(Files.mismatch(raw, base)).isEqualTo(-1);
    assertThat(cache(true).baseInfo(base))
        .isEqualTo(new ImageCache.BaseInfo(DiskFormat.RAW, 256L << 20));

    ImageCache keep = new ImageCache(tmp.resolve("other"), qemuImg, false);
    Path kept = keep.fetchBase(image("img-q", DiskFormat.QCOW2), source);
    assertThat(FormatInspector.inspect(kept).format()).isEqualTo(DiskFormat.QCOW2);
    assertThat(keep.baseInfo(kept))
        .isEqualTo(new ImageCache.BaseInfo(DiskFormat.QCOW2, 256L << 20));
    assertThat(source.calls("img-q")).isEqualTo(2);
  }

  @Test
  void kernelAndRamdiskAreCachedRawByteForByte() throws Exception {
    Path kernel = tmp.resolve("vmlinuz");
    byte[] bytes = new byte[300_000];
    new java.util.Random(7).nextBytes(bytes);
    bytes[0x202] = 'H'; // a bzImage's "HdrS" lives at 0x202; not a disk format
    Files.write(kernel, bytes);
    var source = new ImageCacheFixtures.FileSource().with("aki-1", kernel);
    ImageCache cache = cache(false);
    Path k = cache.fetchRaw(image("aki-1", DiskFormat.AKI), source);
    assertThat(Files.mismatch(kernel, k)).isEqualTo(-1);
    assertThat(cache.baseInfo(k).format()).isEqualTo(DiskFormat.RAW);
  }

  @Test
  void aCachedBaseIsReturnedWithoutFetchingAndTouched() throws Exception {
    Path src = ImageCacheFixtures.markedRaw(tmp.resolve("c.raw"), 1 << 20, "C");
    var source = new ImageCacheFixtures.FileSource().with("img-c", src);
    ImageCache cache = cache(true);
    Path base = cache.fetchBase(image("img-c", DiskFormat.RAW), source);
    Files.setLastModifiedTime(base, FileTime.from(Instant.now().minusSeconds(90_000)));
    cache.fetchBase(image("img-c", DiskFormat.RAW), source);
    assertThat(source.calls("img-c")).isEqualTo(1);
    assertThat(Files.getLastModifiedTime(base).toInstant()).isAfter(Instant.now().minusSeconds(60));
  }

  @Test
  void anImageLargerThanTheFlavorIsRefusedWithBothSizes() throws Exception {
    Path q = tmp.resolve("big.qcow2");
    qemuImg.create(q, "qcow2", 2L << 30);
    var source = new ImageCacheFixtures.FileSource().with("img-big", q);
    ImageCache cache = cache(true);
    assertThatThrownBy(() -> cache.fetchBase(image("img-big", DiskFormat.QCOW2), source, 1L << 30))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("Flavor disk is 1073741824 bytes, image is 2147483648 bytes");
    ImageCacheFixtures.assertNoPart(cache.baseDir());
    assertThat(cache.basePath("img-big")).doesNotExist();
  }

  /** The child's source writes the counter first, so the child holds the lock from then on. */
  static void awaitChildInsideFetch(Path counter) throws InterruptedException {
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (!Files.exists(counter) && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertThat(counter).exists();
  }
}
