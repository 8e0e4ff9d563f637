package io.virga.libvirt;

import io.virga.core.DiskFormat;
import io.virga.core.ImageMeta;
import io.virga.virt.ImageSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * {@code images_type=qcow2}: every disk is a qcow2 overlay over its cached base, created with the
 * backing file's format given explicitly ({@code -b <base> -F raw}; the option-string form {@code
 * -o backing_file=…} is avoided because a comma in a path would split it).
 */
final class Qcow2Backend implements ImageBackend {
  private final QemuImg qemuImg;
  private final ImageCache cache;

  Qcow2Backend(QemuImg qemuImg, ImageCache cache) {
    this.qemuImg = qemuImg;
    this.cache = cache;
  }

  @Override
  public String type() {
    return "qcow2";
  }

  @Override
  public ImageCache cache() {
    return cache;
  }

  @Override
  public DiskFormat createRoot(
      Path instanceDir, ImageMeta image, ImageSource source, long rootBytes) {
    Optional<DiskFormat> done = existing(instanceDir, ROOT);
    if (done.isPresent()) {
      return done.get();
    }
    Path base = cache.fetchBase(image, source, rootBytes);
    ImageCache.BaseInfo info = cache.baseInfo(base);
    long size = rootBytes > 0 ? rootBytes : info.virtualSize();
    return overlay(instanceDir, ROOT, base, info, size);
  }

  @Override
  public DiskFormat createEphemeral(Path instanceDir, int gb) {
    Optional<DiskFormat> done = existing(instanceDir, EPHEMERAL);
    if (done.isPresent()) {
      return done.get();
    }
    Path base = cache.ephemeralBase(gb);
    return overlay(instanceDir, EPHEMERAL, base, cache.baseInfo(base), (long) gb << 30);
  }

  @Override
  public DiskFormat createSwap(Path instanceDir, int mb) {
    Optional<DiskFormat> done = existing(instanceDir, SWAP);
    if (done.isPresent()) {
      return done.get();
    }
    Path base = cache.swapBase(mb);
    return overlay(instanceDir, SWAP, base, cache.baseInfo(base), (long) mb << 20);
  }

  private DiskFormat overlay(
      Path instanceDir, String name, Path base, ImageCache.BaseInfo info, long size) {
    Path disk = instanceDir.resolve(name);
    qemuImg.createOverlay(disk, base, info.format().qemuName(), size);
    DiskInfo.record(instanceDir, name, DiskFormat.QCOW2);
    return DiskFormat.QCOW2;
  }

  static Optional<DiskFormat> existing(Path instanceDir, String name) {
    return Files.exists(instanceDir.resolve(name))
        ? DiskInfo.format(instanceDir, name)
        : Optional.empty();
  }
}
