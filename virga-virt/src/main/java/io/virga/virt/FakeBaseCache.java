package io.virga.virt;

import io.virga.core.ImageMeta;
import io.virga.core.VirgaException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * {@link FakeDriver}'s base-image cache in a private temp dir: one fetch per image no matter how
 * many spawns wait for it (the real cache's rule), a failed fetch leaving nothing behind.
 */
final class FakeBaseCache {
  private final Map<String, Object> locks = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> fetches = new ConcurrentHashMap<>();
  private Path dir;

  void ensure(ImageMeta image, ImageSource source, Runnable beforeFetch) {
    String id = image.id();
    synchronized (locks.computeIfAbsent(id, k -> new Object())) {
      Path base = dir().resolve(Integer.toHexString(id.hashCode()) + "-" + safe(id));
      if (Files.exists(base)) {
        return;
      }
      Path part = base.resolveSibling(base.getFileName() + ".part");
      try {
        beforeFetch.run();
        fetches.computeIfAbsent(id, k -> new AtomicInteger()).incrementAndGet();
        source.fetch(image, part);
        Files.move(part, base, StandardCopyOption.ATOMIC_MOVE);
      } catch (IOException e) {
        throw new VirgaException("spawn: fetching image " + id + " failed: " + e.getMessage(), e);
      } catch (RuntimeException e) {
        try {
          Files.deleteIfExists(part);
        } catch (IOException suppressed) {
          e.addSuppressed(suppressed);
        }
        throw e;
      }
    }
  }

  int fetchCount(String imageId) {
    AtomicInteger n = fetches.get(imageId);
    return n == null ? 0 : n.get();
  }

  /** A scratch file next to the bases (snapshots). */
  Path scratch(String name) {
    return dir().resolve("scratch-" + safe(name));
  }

  synchronized Path dir() {
    if (dir == null) {
      try {
        dir = Files.createTempDirectory("virga-fake-base-");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return dir;
  }

  synchronized void close() {
    if (dir == null) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // temp files only
    }
  }

  private static String safe(String id) {
    return id.replaceAll("[^A-Za-z0-9._-]", "_");
  }
}
