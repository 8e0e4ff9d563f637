package io.virga.libvirt;

import io.virga.core.Command;
import io.virga.core.DiskFormat;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code images_type=raw} (alias {@code flat}): every disk is a sparse raw copy of its base, grown
 * with {@code qemu-img resize -f raw} to the flavor's size. A qcow2 base (force_raw_images off) is
 * converted rather than copied.
 */
final class RawBackend extends ImageBackendBase {
  RawBackend(QemuImg qemuImg, ImageCache cache) {
    super(qemuImg, cache);
  }

  @Override
  public String type() {
    return "raw";
  }

  @Override
  DiskFormat fromBase(Path disk, Path base, ImageCache.BaseInfo info, long size) {
    if (info.format() == DiskFormat.RAW) {
      Command.of("cp", "--sparse=always", QemuImg.abs(base), QemuImg.abs(disk)).check();
    } else {
      qemuImg.convert(base, info.format().qemuName(), disk, "raw", false, false);
    }
    try {
      if (size > Files.size(disk)) {
        qemuImg.resize(disk, "raw", size);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot size " + disk, e);
    }
    return DiskFormat.RAW;
  }
}
