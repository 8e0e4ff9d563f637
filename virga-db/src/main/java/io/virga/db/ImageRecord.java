package io.virga.db;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One image as the image service keeps it (Glance v2 fields). {@code properties} are the extra
 * properties Glance shows as top-level keys ({@code kernel_id}, {@code hw_*}, {@code image_type}…);
 * timestamps are epoch milliseconds.
 */
public record ImageRecord(
    String id,
    Optional<String> name,
    String status,
    String visibility,
    Optional<String> owner,
    Optional<String> diskFormat,
    Optional<String> containerFormat,
    Optional<Long> size,
    Optional<Long> virtualSize,
    Optional<String> checksum,
    Optional<String> osHashAlgo,
    Optional<String> osHashValue,
    int minDisk,
    int minRam,
    boolean isProtected,
    boolean osHidden,
    long createdAt,
    long updatedAt,
    Map<String, String> properties,
    List<String> tags) {

  public ImageRecord {
    properties = Map.copyOf(properties);
    tags = List.copyOf(tags);
  }

  public ImageRecord withStatus(String newStatus, long now) {
    return new ImageRecord(
        id,
        name,
        newStatus,
        visibility,
        owner,
        diskFormat,
        containerFormat,
        size,
        virtualSize,
        checksum,
        osHashAlgo,
        osHashValue,
        minDisk,
        minRam,
        isProtected,
        osHidden,
        createdAt,
        now,
        properties,
        tags);
  }
}
