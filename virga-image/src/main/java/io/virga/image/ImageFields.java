package io.virga.image;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.core.ForbiddenException;
import io.virga.core.InvalidInputException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.UUID;

/** Glance's field rules: allowed formats, visibilities, read-only attributes, value types. */
final class ImageFields {
  static final Set<String> DISK_FORMATS =
      Set.of("raw", "qcow2", "vmdk", "vhd", "vhdx", "vdi", "iso", "ami", "ari", "aki");
  static final Set<String> CONTAINER_FORMATS =
      Set.of("bare", "ovf", "ova", "aki", "ari", "ami", "docker", "compressed");
  static final Set<String> VISIBILITIES = Set.of("public", "private", "shared", "community");

  /** Set by the service only; a client naming one gets 403 as from Glance. */
  static final Set<String> READ_ONLY =
      Set.of(
          "id",
          "status",
          "checksum",
          "os_hash_algo",
          "os_hash_value",
          "size",
          "virtual_size",
          "created_at",
          "updated_at",
          "file",
          "self",
          "schema",
          "direct_url",
          "locations",
          "owner",
          "stores");

  /** Attributes stored in columns (everything else is an extra property). */
  static final Set<String> CORE =
      Set.of(
          "name",
          "visibility",
          "protected",
          "os_hidden",
          "min_disk",
          "min_ram",
          "disk_format",
          "container_format",
          "tags");

  private ImageFields() {}

  static String diskFormat(String v) {
    String f = v.toLowerCase(Locale.ROOT);
    if (f.equals("qed")) {
      throw new InvalidInputException(
          "disk_format qed is refused: QED images are not accepted (unsafe, see DESIGN §5)");
    }
    if (!DISK_FORMATS.contains(f)) {
      throw new InvalidInputException(
          "Invalid disk format '"
              + v
              + "'; valid formats: "
              + String.join(", ", sorted(DISK_FORMATS)));
    }
    return f;
  }

  static String containerFormat(String v) {
    String f = v.toLowerCase(Locale.ROOT);
    if (!CONTAINER_FORMATS.contains(f)) {
      throw new InvalidInputException(
          "Invalid container format '"
              + v
              + "'; valid formats: "
              + String.join(", ", sorted(CONTAINER_FORMATS)));
    }
    return f;
  }

  static String visibility(String v, boolean admin) {
    if (!VISIBILITIES.contains(v)) {
      throw new InvalidInputException(
          "Invalid visibility '"
              + v
              + "'; valid values: "
              + String.join(", ", sorted(VISIBILITIES)));
    }
    if (v.equals("public") && !admin) {
      throw new ForbiddenException("You are not authorized to publicize an image (admin only).");
    }
    return v;
  }

  static String imageId(String v) {
    try {
      return UUID.fromString(v).toString();
    } catch (IllegalArgumentException e) {
      throw new InvalidInputException("id '" + v + "' is not a valid UUID");
    }
  }

  static String name(JsonNode v) {
    if (!v.isTextual()) {
      throw new InvalidInputException("name must be a string");
    }
    if (v.textValue().length() > 255) {
      throw new InvalidInputException("name is longer than 255 characters");
    }
    return v.textValue();
  }

  static int nonNegativeInt(String key, JsonNode v) {
    if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 0) {
      throw new InvalidInputException(key + " must be a non-negative integer");
    }
    return v.intValue();
  }

  static boolean bool(String key, JsonNode v) {
    if (!v.isBoolean()) {
      throw new InvalidInputException(key + " must be true or false");
    }
    return v.booleanValue();
  }

  static String string(String key, JsonNode v) {
    if (!v.isTextual()) {
      throw new InvalidInputException(key + " must be a string");
    }
    return v.textValue();
  }

  static List<String> tags(JsonNode v) {
    if (!v.isArray()) {
      throw new InvalidInputException("tags must be an array of strings");
    }
    List<String> tags = new ArrayList<>();
    for (JsonNode t : v) {
      tags.add(tag(t));
    }
    return tags;
  }

  static String tag(JsonNode t) {
    if (!t.isTextual() || t.textValue().isEmpty() || t.textValue().length() > 255) {
      throw new InvalidInputException(
          "each tag must be a non-empty string of at most 255 characters");
    }
    return t.textValue();
  }

  /** An extra property: string key and value, not a reserved name. */
  static String propertyValue(String key, JsonNode v) {
    if (key.isEmpty() || key.length() > 255) {
      throw new InvalidInputException("property names must have 1 to 255 characters");
    }
    if (key.startsWith("os_glance")) {
      throw new ForbiddenException("Attribute '" + key + "' is reserved.");
    }
    if (!v.isTextual()) {
      throw new InvalidInputException(
          "property " + key + " must be a string (Glance stores extra properties as strings)");
    }
    return v.textValue();
  }

  static void refuseReadOnly(String key) {
    if (READ_ONLY.contains(key)) {
      throw new ForbiddenException("Attribute '" + key + "' is read-only.");
    }
  }

  private static List<String> sorted(Set<String> s) {
    return s.stream().sorted().toList();
  }
}
