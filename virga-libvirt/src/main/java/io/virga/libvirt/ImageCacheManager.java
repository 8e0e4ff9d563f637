package io.virga.libvirt;

import io.virga.core.Config;
import io.virga.core.DiskFormat;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Image cache ageing (DESIGN §3.1, issue 3 item 7; Nova's imagecache manager): one {@link #run}
 * touches every base in use and removes unused bases older than a minimum age — {@code
 * remove_unused_original_minimum_age_seconds} (default 86400) for originals, swap and ephemeral
 * bases, {@code remove_unused_resized_minimum_age_seconds} (default 3600) for resized bases named
 * {@code <sha1>_<size>}. Removal re-checks age under the base's {@link FileLock}, the same lock a
 * fetch holds, so a base being fetched or just handed to a spawn is never removed.
 *
 * <p>"In use" comes from the instance directories (the backing file of every qcow2 disk listed in
 * their {@code disk.info}, read with {@code qemu-img info -f qcow2 -U}), plus whatever the caller
 * adds (kernel/ramdisk bases of running instances: {@link ImageCache#basePath}).
 */
final class ImageCacheManager {
  private static final Logger LOG = LoggerFactory.getLogger(ImageCacheManager.class);
  private static final Pattern RESIZED = Pattern.compile("[0-9a-f]{40}_\\d+");
  private static final Set<String> NOT_INSTANCES = Set.of("_base", "locks", "snapshots");

  /**
   * @param inUse bases found in use (and touched)
   * @param removed bases removed
   * @param kept unused bases not yet old enough
   */
  public record Result(Set<Path> inUse, List<Path> removed, List<Path> kept) {}

  private final ImageCache cache;
  private final Duration originalMinAge;
  private final Duration resizedMinAge;
  private final Clock clock;
  private final boolean removeUnused;

  public ImageCacheManager(
      ImageCache cache, Duration originalMinAge, Duration resizedMinAge, Clock clock) {
    this(cache, originalMinAge, resizedMinAge, clock, true);
  }

  /**
   * @param removeUnused option {@code remove_unused_base_images} (default true); false makes a pass
   *     only touch the bases in use and report the others as kept
   */
  public ImageCacheManager(
      ImageCache cache,
      Duration originalMinAge,
      Duration resizedMinAge,
      Clock clock,
      boolean removeUnused) {
    this.cache = cache;
    this.originalMinAge = originalMinAge;
    this.resizedMinAge = resizedMinAge;
    this.clock = clock;
    this.removeUnused = removeUnused;
  }

  /**
   * From options {@code remove_unused_base_images} (true), {@code
   * remove_unused_original_minimum_age_seconds} (86400) and {@code
   * remove_unused_resized_minimum_age_seconds} (3600).
   */
  public static ImageCacheManager fromConfig(Config config, ImageCache cache) {
    return new ImageCacheManager(
        cache,
        config.seconds("remove_unused_original_minimum_age_seconds", 86400),
        config.seconds("remove_unused_resized_minimum_age_seconds", 3600),
        Clock.systemUTC(),
        config.bool("remove_unused_base_images", true));
  }

  /** One pass with the bases in use derived from every instance directory. */
  public Result run() {
    return run(basesInUse(instanceDirs()));
  }

  /**
   * One pass for a driver's {@code manageImageCache}: in use are the bases of {@code imageIds} (the
   * image, kernel and ramdisk ids of this host's instances, as the control plane knows them) plus
   * the backing files found in the instance directories.
   */
  public Result runWithImages(Collection<String> imageIds) {
    Set<Path> inUse = basesInUse(instanceDirs());
    imageIds.forEach(id -> inUse.add(cache.basePath(id)));
    return run(inUse);
  }

  /** Instance directories under the instances dir (including {@code _resize} / {@code _del}). */
  public List<Path> instanceDirs() {
    Path root = cache.instancesDir();
    if (!Files.isDirectory(root)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(root)) {
      return s.filter(Files::isDirectory)
          .filter(p -> !NOT_INSTANCES.contains(p.getFileName().toString()))
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + root, e);
    }
  }

  /** The backing files of the qcow2 disks recorded in these instances' {@code disk.info}. */
  public Set<Path> basesInUse(Collection<Path> instanceDirs) {
    Set<Path> inUse = new HashSet<>();
    for (Path dir : instanceDirs) {
      DiskInfo.read(dir)
          .forEach(
              (name, format) -> {
                Path disk = dir.resolve(name);
                if (format == DiskFormat.QCOW2 && Files.isRegularFile(disk)) {
                  try {
                    cache
                        .qemuImg()
                        .info(disk, "qcow2", true)
                        .backingFile()
                        .ifPresent(b -> inUse.add(Path.of(b).toAbsolutePath().normalize()));
                  } catch (RuntimeException e) {
                    // A disk we cannot read must not make its base look unused: remove nothing.
                    throw new IllegalStateException("ageing aborted: cannot read " + disk, e);
                  }
                }
              });
    }
    return inUse;
  }

  /** Touches the bases in {@code inUse}; removes unused bases older than their minimum age. */
  public Result run(Set<Path> inUse) {
    Set<Path> used = new HashSet<>();
    inUse.forEach(p -> used.add(p.toAbsolutePath().normalize()));
    List<Path> removed = new ArrayList<>();
    List<Path> kept = new ArrayList<>();
    Set<Path> touched = new HashSet<>();
    for (Path base : bases()) {
      String name = base.getFileName().toString();
      try (FileLock lock = cache.lock(name)) {
        if (!Files.isRegularFile(base)) {
          continue;
        }
        if (used.contains(base)) {
          ImageCache.touch(base);
          touched.add(base);
          continue;
        }
        Duration minAge = RESIZED.matcher(name).matches() ? resizedMinAge : originalMinAge;
        FileTime mtime = Files.getLastModifiedTime(base);
        Duration age = Duration.between(mtime.toInstant(), Instant.now(clock));
        if (removeUnused && age.compareTo(minAge) >= 0) {
          Files.delete(base);
          ImageCache.deleteQuietly(base.resolveSibling(name + ".info"));
          removed.add(base);
          LOG.info("removed unused base {} (unused, {} s old)", base, age.toSeconds());
        } else {
          kept.add(base);
        }
      } catch (IOException e) {
        LOG.warn("cannot age base {}: {}", base, e.toString());
      }
    }
    return new Result(touched, removed, kept);
  }

  private List<Path> bases() {
    Path dir = cache.baseDir();
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(Files::isRegularFile)
          .filter(
              p -> {
                String n = p.getFileName().toString();
                return !n.contains(".") && !n.startsWith(".");
              })
          .sorted()
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + dir, e);
    }
  }
}
