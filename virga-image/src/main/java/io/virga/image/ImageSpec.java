package io.virga.image;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.core.InvalidInputException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a new image is created with (Glance's {@code POST /v2/images} body). Unknown keys are extra
 * properties (string values), shown back as top-level keys.
 */
public record ImageSpec(
    Optional<String> id,
    Optional<String> name,
    Optional<String> diskFormat,
    Optional<String> containerFormat,
    String visibility,
    int minDisk,
    int minRam,
    boolean isProtected,
    boolean osHidden,
    List<String> tags,
    Map<String, String> properties) {

  public ImageSpec {
    tags = List.copyOf(tags);
    properties = Map.copyOf(properties);
  }

  /** A private image with these formats (the Java callers: {@code virga up}, snapshots). */
  public static ImageSpec of(String name, String diskFormat, String containerFormat) {
    return new ImageSpec(
        Optional.empty(),
        Optional.of(name),
        Optional.of(diskFormat),
        Optional.of(containerFormat),
        "private",
        0,
        0,
        false,
        false,
        List.of(),
        Map.of());
  }

  public ImageSpec withVisibility(String v) {
    return new ImageSpec(
        id,
        name,
        diskFormat,
        containerFormat,
        v,
        minDisk,
        minRam,
        isProtected,
        osHidden,
        tags,
        properties);
  }

  public ImageSpec withProperties(Map<String, String> p) {
    return new ImageSpec(
        id,
        name,
        diskFormat,
        containerFormat,
        visibility,
        minDisk,
        minRam,
        isProtected,
        osHidden,
        tags,
        p);
  }

  public ImageSpec withMinimums(int disk, int ram) {
    return new ImageSpec(
        id,
        name,
        diskFormat,
        containerFormat,
        visibility,
        disk,
        ram,
        isProtected,
        osHidden,
        tags,
        properties);
  }

  /** Parses and validates a create body; 400/403 with Glance's reasons. */
  public static ImageSpec fromJson(JsonNode body, boolean admin) {
    if (!body.isObject()) {
      throw new InvalidInputException("The request body must be a JSON object");
    }
    Optional<String> id = Optional.empty();
    Optional<String> name = Optional.empty();
    Optional<String> disk = Optional.empty();
    Optional<String> container = Optional.empty();
    String visibility = "private";
    int minDisk = 0;
    int minRam = 0;
    boolean prot = false;
    boolean hidden = false;
    List<String> tags = List.of();
    Map<String, String> props = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = body.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> f = it.next();
      String key = f.getKey();
      JsonNode v = f.getValue();
      if (key.equals("id")) {
        id = Optional.of(ImageFields.imageId(ImageFields.string("id", v)));
        continue;
      }
      ImageFields.refuseReadOnly(key);
      if (v.isNull() && !ImageFields.CORE.contains(key)) {
        continue;
      }
      switch (key) {
        case "name" -> name = v.isNull() ? Optional.empty() : Optional.of(ImageFields.name(v));
        case "disk_format" ->
            disk =
                v.isNull()
                    ? Optional.empty()
                    : Optional.of(ImageFields.diskFormat(ImageFields.string(key, v)));
        case "container_format" ->
            container =
                v.isNull()
                    ? Optional.empty()
                    : Optional.of(ImageFields.containerFormat(ImageFields.string(key, v)));
        case "visibility" -> visibility = ImageFields.visibility(ImageFields.string(key, v), admin);
        case "min_disk" -> minDisk = ImageFields.nonNegativeInt(key, v);
        case "min_ram" -> minRam = ImageFields.nonNegativeInt(key, v);
        case "protected" -> prot = ImageFields.bool(key, v);
        case "os_hidden" -> hidden = ImageFields.bool(key, v);
        case "tags" -> tags = ImageFields.tags(v);
        default -> props.put(key, ImageFields.propertyValue(key, v));
      }
    }
    return new ImageSpec(
        id, name, disk, container, visibility, minDisk, minRam, prot, hidden, tags, props);
  }
}
