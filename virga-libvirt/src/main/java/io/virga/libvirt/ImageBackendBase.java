package io.virga.libvirt;

import io.virga.core.DiskFormat;
import io.virga.core.ImageMeta;
import io.virga.virt.ImageSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * What both backends share: where each disk's base comes from (image cache, ephemeral or swap
 * base), the flavor sizes, skipping a disk that already exists, recording the format in {@link
 * DiskInfo}. A backend only says how a disk is made from its base.
 */
abstract class ImageBackendBase implements ImageBackend {
  final QemuImg qemuImg;
  final ImageCache cache;

  ImageBackendBase(QemuImg qemuImg, ImageCache cache) {
    this.qemuImg = qemuImg;
    this.cache = cache;
  }

  /** Writes {@code <instanceDir>/<name>} of {@code size} bytes from {@code base}; its format. */
  abstract DiskFormat fromBase(Path disk, Path base, ImageCache.BaseInfo info, long size);

  @Override
  public ImageCache cache() {
    return cache;
  }

  @Override
  public DiskFormat createRoot(
      Path instanceDir, ImageMeta image, ImageSource source, long rootBytes) {
    return createDisk(instanceDir, ROOT, image, source, rootBytes);
  }

  @Override
  public DiskFormat createDisk(
      Path instanceDir, String name, ImageMeta image, ImageSource source, long rootBytes) {
    return once(instanceDir, name, () -> cache.fetchBase(image, source, rootBytes), rootBytes);
  }

  @Override
  public DiskFormat createEphemeral(Path instanceDir, int gb) {
    return once(instanceDir, EPHEMERAL, () -> cache.ephemeralBase(gb), (long) gb << 30);
  }

  @Override
  public DiskFormat createSwap(Path instanceDir, int mb) {
    return once(instanceDir, SWAP, () -> cache.swapBase(mb), (long) mb << 20);
  }

  /** {@code size} 0 means the base's virtual size. */
  private DiskFormat once(Path instanceDir, String name, Supplier<Path> base, long size) {
    Path disk = instanceDir.resolve(name);
    Optional<DiskFormat> done =
        Files.exists(disk) ? DiskInfo.format(instanceDir, name) : Optional.empty();
    if (done.isPresent()) {
      return done.get();
    }
    Path b = base.get();
    ImageCache.BaseInfo info = cache.baseInfo(b);
    DiskFormat format = fromBase(disk, b, info, size > 0 ? size : info.virtualSize());
    DiskInfo.record(instanceDir, name, format);
    return format;
  }
}
