package io.virga.libvirt;

import io.virga.core.DiskFormat;
import io.virga.core.ImageMeta;
import io.virga.virt.ImageSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * {@code images_type=raw} (alias {@code flat}): every disk is a sparse raw copy of its base, grown
 * with {@code qemu-img resize -f raw} to the flavor's size. A qcow2 base (force_raw_images off) is
 * converted rather than copied.
 */
final class RawBackend implements ImageBackend {
  private final QemuImg qemuImg;
  private final ImageCache cache;

  RawBackend(QemuImg qemuImg, ImageCache cache) {
    this.qemuImg = qemuImg;
    this.cache = cache;
  }

  @Override
  public String type() {
    return "raw";
  }

  @Override
  public ImageCache cache() {
    return cache;
  }

  @Override
  public DiskFormat createRoot(
      Path instanceDir, ImageMeta image, ImageSource source, long rootBytes) {
    Optional<DiskFormat> done = Qcow2Backend.existing(instanceDir, ROOT);
    if (done.isPresent()) {
      return done.get();
    }
    Path base = cache.fetchBase(image, source, rootBytes);
    return copy(instanceDir, ROOT, base, rootBytes);
  }

  @Override
  public DiskFormat createEphemeral(Path instanceDir, int gb) {
    Optional<DiskFormat> done = Qcow2Backend.existing(instanceDir, EPHEMERAL);
    return done.isPresent() ? done.get() : copy(instanceDir, EPHEMERAL, cache.ephemeralBase(gb), 0);
  }

  @Override
  public DiskFormat createSwap(Path instanceDir, int mb) {
    Optional<DiskFormat> done = Qcow2Backend.existing(instanceDir, SWAP);
    return done.isPresent() ? done.get() : copy(instanceDir, SWAP, cache.swapBase(mb), 0);
  }

  private DiskFormat copy(Path instanceDir, String name, Path base, long size) {
    Path disk = instanceDir.resolve(name);
    ImageCache.BaseInfo info = cache.baseInfo(base);
    try {
      if (info.format() == DiskFormat.RAW) {
        QemuImg.exec(List.of("cp", "--sparse=always", QemuImg.abs(base), QemuImg.abs(disk)), "cp");
      } else {
        qemuImg.convert(base, info.format().qemuName(), disk, "raw", false);
      }
      if (size > Files.size(disk)) {
        qemuImg.resize(disk, "raw", size);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot size " + disk, e);
    }
    DiskInfo.record(instanceDir, name, DiskFormat.RAW);
    return DiskFormat.RAW;
  }
}
