package io.virga.libvirt;

import static org.assertj.core.api.Assertions.assertThat;

import io.virga.core.DiskFormat;
import io.virga.core.ImageMeta;
import io.virga.virt.ImageSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** Shared helpers of the image ITs: image records, a counting file source, shell-free commands. */
final class ImageCacheFixtures {
  private ImageCacheFixtures() {}

  static ImageMeta image(String id, DiskFormat format) {
    return new ImageMeta(id, "test-" + id, format, "bare", 0, 0, 0, 0, Map.of());
  }

  /** An image source serving local files by image id, counting fetches per id. */
  static final class FileSource implements ImageSource {
    final Map<String, Path> files = new ConcurrentHashMap<>();
    final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
    volatile long delayMs;

    FileSource with(String id, Path file) {
      files.put(id, file);
      return this;
    }

    int calls(String id) {
      AtomicInteger n = calls.get(id);
      return n == null ? 0 : n.get();
    }

    @Override
    public void fetch(ImageMeta image, Path target) {
      calls.computeIfAbsent(image.id(), k -> new AtomicInteger()).incrementAndGet();
      try {
        if (delayMs > 0) {
          Thread.sleep(delayMs);
        }
        Files.copy(files.get(image.id()), target, StandardCopyOption.REPLACE_EXISTING);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }

  /** Runs a command (argument list); returns stdout; fails the test on a non-zero exit. */
  static String run(String... cmd) {
    return io.virga.core.Command.of(cmd).check().stdout();
  }

  /** Like {@link #run} but returns the exit code and output, never failing. */
  static Result tryRun(String... cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      return new Result(p.waitFor(), out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }

  record Result(int rc, String out) {}

  /** A raw file of {@code size} bytes holding {@code marker} at every MiB. */
  static Path markedRaw(Path file, long size, String marker) throws IOException {
    try (var raf = new java.io.RandomAccessFile(file.toFile(), "rw")) {
      raf.setLength(size);
      byte[] m = marker.getBytes(StandardCharsets.US_ASCII);
      for (long off = 0; off + m.length <= size; off += 1 << 20) {
        raf.seek(off);
        raf.write(m);
      }
    }
    return file;
  }

  /** Every regular file below {@code root} whose bytes contain {@code needle}. */
  static List<Path> filesContaining(Path root, String needle) throws IOException {
    byte[] n = needle.getBytes(StandardCharsets.US_ASCII);
    List<Path> hits = new ArrayList<>();
    try (var s = Files.walk(root)) {
      for (Path p : s.filter(Files::isRegularFile).toList()) {
        if (contains(p, n)) {
          hits.add(p);
        }
      }
    }
    return hits;
  }

  /** Streams the file (sparse-aware enough for test sizes) looking for {@code needle}. */
  static boolean contains(Path file, byte[] needle) throws IOException {
    try (var in = Files.newInputStream(file)) {
      byte[] buf = new byte[1 << 20];
      byte[] carry = new byte[0];
      int n;
      while ((n = in.read(buf)) > 0) {
        byte[] joined = new byte[carry.length + n];
        System.arraycopy(carry, 0, joined, 0, carry.length);
        System.arraycopy(buf, 0, joined, carry.length, n);
        if (indexOf(joined, needle) >= 0) {
          return true;
        }
        int keep = Math.min(needle.length - 1, joined.length);
        carry = java.util.Arrays.copyOfRange(joined, joined.length - keep, joined.length);
      }
    }
    return false;
  }

  static int indexOf(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  static void assertNoPart(Path baseDir) throws IOException {
    if (Files.isDirectory(baseDir)) {
      try (var s = Files.list(baseDir)) {
        assertThat(s.map(p -> p.getFileName().toString()))
            .noneMatch(n -> n.endsWith(".part") || n.endsWith(".converted"));
      }
    }
  }
}
