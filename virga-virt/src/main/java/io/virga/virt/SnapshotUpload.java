package io.virga.virt;

import java.nio.file.Path;

/**
 * Receives a finished snapshot file and streams it to the image store. The driver calls {@link
 * #upload} once, after which it removes the file.
 */
@FunctionalInterface
public interface SnapshotUpload {
  /**
   * @param diskFormat glance disk_format of the file ({@code qcow2}, {@code raw})
   */
  void upload(Path file, String diskFormat);
}
