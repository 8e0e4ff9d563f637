package io.virga.core;

import java.util.Map;
import java.util.Optional;

/**
 * What compute needs to know of an image: its declared formats, sizes and properties such as {@code
 * kernel_id}, {@code ramdisk_id}, {@code os_command_line}.
 */
public record ImageMeta(
    String id,
    String name,
    DiskFormat diskFormat,
    String containerFormat,
    long size,
    long virtualSize,
    int minDiskGb,
    int minRamMb,
    Map<String, String> properties) {

  public ImageMeta {
    properties = Map.copyOf(properties);
  }

  public Optional<String> property(String key) {
    return Optional.ofNullable(properties.get(key));
  }
}
