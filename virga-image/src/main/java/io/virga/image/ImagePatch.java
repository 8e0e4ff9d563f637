package io.virga.image;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.core.ConflictException;
import io.virga.core.ForbiddenException;
import io.virga.core.InvalidInputException;
import io.virga.db.ImageRecord;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Glance's JSON patch ({@code application/openstack-images-v2.1-json-patch}): a list of {@code
 * {"op": "add"|"replace"|"remove", "path": "/<attribute>", "value": …}} applied in order, all or
 * nothing.
 */
public final class ImagePatch {
  public static final String MEDIA_TYPE = "application/openstack-images-v2.1-json-patch";
  public static final String MEDIA_TYPE_20 = "application/openstack-images-v2.0-json-patch";

  private ImagePatch() {}

  /**
   * The older v2.0 media type's operations, {@code {"replace": "/name", "value": …}}, in the v2.1
   * form {@link #operations} takes; Glance accepts both.
   */
  public static List<JsonNode> operations20(JsonNode doc) {
    if (doc == null || !doc.isArray()) {
      throw new InvalidInputException("A JSON patch must be a list of operations");
    }
    com.fasterxml.jackson.databind.node.ArrayNode out =
        com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.arrayNode();
    for (JsonNode op : doc) {
      if (!op.isObject()) {
        throw new InvalidInputException("Each patch operation must be an object");
      }
      List<String> kinds = List.of("add", "replace", "remove").stream().filter(op::has).toList();
      if (kinds.size() != 1 || !op.get(kinds.get(0)).isTextual()) {
        throw new InvalidInputException(
            "Each v2.0 patch operation names one of add, replace or remove with a path string");
      }
      com.fasterxml.jackson.databind.node.ObjectNode o = out.addObject();
      o.put("op", kinds.get(0));
      o.put("path", op.get(kinds.get(0)).textValue());
      if (op.has("value")) {
        o.set("value", op.get("value"));
      }
    }
    return operations(out);
  }

  /** Parses the patch document; 400 for anything that is not a list of valid operations. */
  public static List<JsonNode> operations(JsonNode doc) {
    if (doc == null || !doc.isArray()) {
      throw new InvalidInputException("A JSON patch must be a list of operations");
    }
    List<JsonNode> ops = new ArrayList<>();
    for (JsonNode op : doc) {
      if (!op.isObject() || !op.path("op").isTextual() || !op.path("path").isTextual()) {
        throw new InvalidInputException(
            "Each patch operation needs string 'op' and 'path' members");
      }
      String name = op.get("op").textValue();
      if (!List.of("add", "replace", "remove").contains(name)) {
        throw new InvalidInputException(
            "Unsupported patch operation '" + name + "' (add, replace, remove)");
      }
      if (!name.equals("remove") && !op.has("value")) {
        throw new InvalidInputException("Operation '" + name + "' needs a 'value'");
      }
      ops.add(op);
    }
    return ops;
  }

  /** The image after the operations; the caller persists it. */
  static ImageRecord apply(ImageRecord image, List<JsonNode> ops, boolean admin, long now) {
    Draft d = new Draft(image);
    for (JsonNode op : ops) {
      String kind = op.get("op").textValue();
      String path = op.get("path").textValue();
      String[] parts = pathParts(path);
      String key = parts[1].replace("~1", "/").replace("~0", "~");
      if (key.equals("tags") && parts.length == 3) {
        d.patchOneTag(kind, parts[2], op.get("value"));
        continue;
      }
      if (parts.length != 2) {
        throw new InvalidInputException("Invalid patch path '" + path + "'");
      }
      if (key.equals("owner") && admin && !kind.equals("remove")) {
        d.setOwner(op.get("value")); // Glance lets an admin hand an image to another project
        continue;
      }
      ImageFields.refuseReadOnly(key);
      if (kind.equals("remove")) {
        d.removeProperty(key);
      } else {
        d.set(kind, key, op.get("value"), admin);
      }
    }
    return d.toRecord(now);
  }

  /** {@code /<attribute>} or {@code /tags/<n>}, split; 400 for anything else. */
  private static String[] pathParts(String path) {
    String[] parts = path.split("/", -1);
    if (parts.length < 2 || !parts[0].isEmpty() || parts[1].isEmpty()) {
      throw new InvalidInputException("Invalid patch path '" + path + "'");
    }
    return parts;
  }

  /** The image's changeable fields while the operations apply. */
  private static final class Draft {
    private final ImageRecord image;
    private Optional<String> name;
    private String visibility;
    private Optional<String> disk;
    private Optional<String> container;
    private int minDisk;
    private int minRam;
    private boolean prot;
    private boolean hidden;
    private Optional<String> owner;
    private List<String> tags;
    private final Map<String, String> props;

    Draft(ImageRecord image) {
      this.image = image;
      this.name = image.name();
      this.visibility = image.visibility();
      this.disk = image.diskFormat();
      this.container = image.containerFormat();
      this.minDisk = image.minDisk();
      this.minRam = image.minRam();
      this.prot = image.isProtected();
      this.hidden = image.osHidden();
      this.owner = image.owner();
      this.tags = new ArrayList<>(image.tags());
      this.props = new LinkedHashMap<>(image.properties());
    }

    /** {@code /tags/-} adds one tag; {@code /tags/<n>} removes or replaces one. */
    void patchOneTag(String kind, String index, JsonNode value) {
      if (kind.equals("add")) {
        tags.add(ImageFields.tag(value));
        return;
      }
      int idx = tagIndex(index, tags);
      if (kind.equals("remove")) {
        tags.remove(idx);
      } else {
        tags.set(idx, ImageFields.tag(value));
      }
    }

    /** An admin's new owner for the image (null: no owner). */
    void setOwner(JsonNode value) {
      owner = value.isNull() ? Optional.empty() : Optional.of(ImageFields.string("owner", value));
    }

    void removeProperty(String key) {
      if (ImageFields.CORE.contains(key)) {
        throw new ForbiddenException("Attribute '" + key + "' cannot be removed.");
      }
      if (props.remove(key) == null) {
        throw new ConflictException("Property " + key + " does not exist.");
      }
    }

    /** add or replace of a core attribute or a property. */
    void set(String kind, String key, JsonNode value, boolean admin) {
      switch (key) {
        case "name" ->
            name = value.isNull() ? Optional.empty() : Optional.of(ImageFields.name(value));
        case "visibility" ->
            visibility = ImageFields.visibility(ImageFields.string(key, value), admin);
        case "min_disk" -> minDisk = ImageFields.nonNegativeInt(key, value);
        case "min_ram" -> minRam = ImageFields.nonNegativeInt(key, value);
        case "protected" -> prot = ImageFields.bool(key, value);
        case "os_hidden" -> hidden = ImageFields.bool(key, value);
        case "tags" -> tags = new ArrayList<>(ImageFields.tags(value));
        case "disk_format", "container_format" -> setFormat(key, value);
        default -> {
          if (kind.equals("replace") && !props.containsKey(key)) {
            throw new ConflictException("Property " + key + " does not exist.");
          }
          props.put(key, ImageFields.propertyValue(key, value));
        }
      }
    }

    private void setFormat(String key, JsonNode value) {
      if (!image.status().equals("queued")) {
        throw new ForbiddenException(
            "Attribute " + key + " can be only replaced for a queued image.");
      }
      String v = ImageFields.string(key, value);
      if (key.equals("disk_format")) {
        disk = Optional.of(ImageFields.diskFormat(v));
      } else {
        container = Optional.of(ImageFields.containerFormat(v));
      }
    }

    ImageRecord toRecord(long now) {
      return new ImageRecord(
          image.id(),
          name,
          image.status(),
          visibility,
          owner,
          disk,
          container,
          image.size(),
          image.virtualSize(),
          image.checksum(),
          image.osHashAlgo(),
          image.osHashValue(),
          minDisk,
          minRam,
          prot,
          hidden,
          image.createdAt(),
          now,
          props,
          tags);
    }
  }

  private static int tagIndex(String part, List<String> tags) {
    try {
      int i = Integer.parseInt(part);
      if (i >= 0 && i < tags.size()) {
        return i;
      }
    } catch (NumberFormatException e) {
      // fall through
    }
    throw new ConflictException("No tag at index " + part);
  }
}
