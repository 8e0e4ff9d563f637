package io.virga.libvirt;

import io.virga.core.DiskFormat;
import java.nio.file.Path;

/**
 * {@code images_type=qcow2}: every disk is a qcow2 overlay over its cached base, created with the
 * backing file's format given explicitly ({@code -b <base> -F raw}; the option-string form {@code
 * -o backing_file=…} is avoided because a comma in a path would split it).
 */
final class Qcow2Backend extends ImageBackendBase {
  Qcow2Backend(QemuImg qemuImg, ImageCache cache) {
    super(qemuImg, cache);
  }

  @Override
  public String type() {
    return "qcow2";
  }

  @Override
  DiskFormat fromBase(Path disk, Path base, ImageCache.BaseInfo info, long size) {
    qemuImg.createOverlay(disk, base, info.format().qemuName(), size);
    return DiskFormat.QCOW2;
  }
}
