package io.virga.libvirt;

import io.virga.core.DiskFormat;
import io.virga.core.ImageMeta;
import io.virga.virt.ImageSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link ImageCache#ensureBacking}: recreates the missing backing files of an instance's disks, and
 * moves disks whose backing file lies outside this host's {@code _base} onto this host's copy. A
 * disk already backed by an existing file of this host's {@code _base} (Nova's base names are
 * image-id hashes, the same on every host) costs one header read: no process, no rebase. A disk
 * moved onto this host's base has its header rewritten in Java ({@link
 * Qcow2Header#changeBackingFile}); {@code qemu-img rebase -u} only for what that declines.
 */
final class ImageCacheBacking {
  private static final Logger LOG = LoggerFactory.getLogger(ImageCacheBacking.class);
  private static final Pattern EPHEMERAL = Pattern.compile("ephemeral_(\\d+)_.*");
  private static final Pattern SWAP = Pattern.compile("swap_(\\d+)");

  private final ImageCache cache;

  ImageCacheBacking(ImageCache cache) {
    this.cache = cache;
  }

  void ensure(Path instanceDir, ImageMeta image, ImageSource source) {
    for (Map.Entry<String, DiskFormat> e : DiskInfo.read(instanceDir).entrySet()) {
      Path disk = instanceDir.resolve(e.getKey());
      if (e.getValue() != DiskFormat.QCOW2 || !Files.exists(disk)) {
        continue;
      }
      // the recorded format is qcow2: its header names the backing file, no qemu-img process
      Optional<Path> backing = Qcow2Header.read(disk).backingPath(disk);
      if (backing.isEmpty()) {
        continue;
      }
      Path missing = backing.get();
      // a disk that came from another host may name that host's _base: even when such a path
      // happens to be readable here, this host's own base is what it must use
      boolean inOurBase = cache.baseDir().toAbsolutePath().normalize().equals(missing.getParent());
      if (inOurBase && Files.exists(missing)) {
        continue;
      }
      LOG.info("recreating backing file {} of {} in {}", missing, disk, cache.baseDir());
      Path made = recreate(missing.getFileName().toString(), image, source, disk);
      if (!made.equals(missing)) {
        repoint(disk, made);
      }
    }
  }

  /**
   * Points the overlay at this host's copy of its base: the header rewritten in Java as qemu would
   * ({@link Qcow2Header#changeBackingFile}), or {@code qemu-img rebase -u} when that declines.
   */
  private void repoint(Path disk, Path made) {
    String format = cache.baseInfo(made).format().qemuName(); // recorded, never probed
    Path backing = made.toAbsolutePath().normalize();
    Optional<String> refused = Qcow2Header.changeBackingFile(disk, backing.toString(), format);
    if (refused.isPresent()) {
      LOG.info(
          "not rewriting the qcow2 header of {} in Java ({}): qemu-img rebase -u instead",
          disk,
          refused.get());
      cache.qemuImg().rebase(disk, "qcow2", backing, format, true);
    }
  }

  private Path recreate(String name, ImageMeta image, ImageSource source, Path disk) {
    if (name.equals(ImageCache.baseName(image.id()))) {
      return cache.fetchBase(image, source);
    }
    Matcher m = EPHEMERAL.matcher(name);
    if (m.matches()) {
      return cache.ephemeralBase(Integer.parseInt(m.group(1)));
    }
    m = SWAP.matcher(name);
    if (m.matches()) {
      return cache.swapBase(Integer.parseInt(m.group(1)));
    }
    throw new IllegalStateException(
        "backing file "
            + name
            + " of "
            + disk
            + " is missing and is not a base of image "
            + image.id()
            + ", an ephemeral or a swap base; it cannot be recreated");
  }
}
