package io.virga.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.virga.core.InvalidInputException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * A validated {@code POST /servers} body (Nova's servers.py schema for the microversions Virga
 * speaks). Virga has no networking service: {@code networks} may be {@code "none"}, {@code "auto"}
 * (both give a server without network interfaces) or an empty list; a non-empty list is refused
 * with 400 rather than silently ignored.
 */
record ServerCreateRequest(
    String name,
    String imageRef,
    String flavorRef,
    Map<String, String> metadata,
    Optional<String> userData,
    Optional<String> keyName,
    boolean configDrive,
    Optional<String> availabilityZone,
    int minCount,
    int maxCount,
    boolean returnReservationId,
    Optional<String> description,
    List<String> tags,
    Optional<String> adminPass,
    Optional<String> accessIpV4,
    Optional<String> accessIpV6,
    Optional<Destination> destination) {

  private static final Set<String> KNOWN =
      Set.of(
          "name",
          "imageRef",
          "flavorRef",
          "metadata",
          "user_data",
          "key_name",
          "config_drive",
          "availability_zone",
          "min_count",
          "max_count",
          "return_reservation_id",
          "networks",
          "security_groups",
          "accessIPv4",
          "accessIPv6",
          "adminPass",
          "OS-DCF:diskConfig",
          "description",
          "tags",
          "personality",
          "block_device_mapping",
          "block_device_mapping_v2",
          "host",
          "hypervisor_hostname");
  private static final Pattern METADATA_KEY = Pattern.compile("^[a-zA-Z0-9-_:. ]{1,255}$");
  private static final Pattern TAG = Pattern.compile("^[^,/]{1,60}$");
  static final int MAX_USER_DATA = 65535;

  static ServerCreateRequest parse(ObjectNode body, Microversion v) {
    ObjectNode s = ApiJson.requireObject(body, "server");
    Set<String> unexpected = new TreeSet<>();
    for (Iterator<String> it = s.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      if (!KNOWN.contains(k)
          || k.equals("description") && !v.atLeast(2, 19)
          || k.equals("tags") && !v.atLeast(2, 52)
          || k.equals("personality") && v.atLeast(2, 57)
          || (k.equals("host") || k.equals("hypervisor_hostname")) && !v.atLeast(2, 74)) {
        unexpected.add(k);
      }
    }
    if (!unexpected.isEmpty()) {
      throw new InvalidInputException(
          "Invalid input for field/attribute server. Additional properties are not allowed ("
              + String.join(", ", unexpected.stream().map(k -> "'" + k + "'").toList())
              + " unexpected)");
    }
    String name = NovaParams.name("name", ApiJson.requireString(s, "name"), 255);
    String imageRef = ApiJson.optString(s, "imageRef").orElse("");
    if (imageRef.isEmpty()) {
      throw new InvalidInputException(
          "imageRef is required: Virga boots servers from images (booting from volumes is not"
              + " supported)");
    }
    String flavorRef = flavorRef(s);
    refuse(s, "personality", "personality files are not supported; pass user_data instead");
    refuse(s, "block_device_mapping", "block device mappings are not supported");
    refuse(s, "block_device_mapping_v2", "block device mappings are not supported");
    networks(s, v);
    securityGroups(s);
    Map<String, String> metadata = metadata(s.get("metadata"));
    Optional<String> userData = userData(s);
    Optional<String> keyName = ApiJson.optString(s, "key_name");
    boolean configDrive = configDrive(s.get("config_drive"));
    Optional<String> azField = ApiJson.optString(s, "availability_zone").filter(a -> !a.isEmpty());
    Optional<String> az = azField.flatMap(Destination::zoneOf);
    Optional<Destination> destination = azField.flatMap(Destination::fromAvailabilityZone);
    Optional<String> host = ApiJson.optString(s, "host");
    Optional<String> node = ApiJson.optString(s, "hypervisor_hostname");
    if (host.isPresent() || node.isPresent()) {
      if (destination.isPresent()) {
        throw new InvalidInputException(
            "host/hypervisor_hostname and a forced host in availability_zone exclude each other");
      }
      destination = Optional.of(new Destination(host, node, false));
    }
    int min = count(s, "min_count");
    int max = count(s, "max_count");
    if (s.has("min_count") && !s.has("max_count")) {
      max = min;
    }
    if (min > max) {
      throw new InvalidInputException("min_count must be <= max_count");
    }
    boolean reservation = NovaParams.looseBoolean(s, "return_reservation_id").orElse(false);
    Optional<String> description = ApiJson.optString(s, "description");
    if (description.isPresent() && description.get().length() > 255) {
      throw new InvalidInputException("description is longer than 255 characters");
    }
    List<String> tags = tags(s.get("tags"));
    Optional<String> adminPass = ApiJson.optString(s, "adminPass");
    Optional<String> accessIpV4 = NovaParams.accessIp(s, "accessIPv4", false);
    Optional<String> accessIpV6 = NovaParams.accessIp(s, "accessIPv6", true);
    Optional<String> diskConfig = ApiJson.optString(s, "OS-DCF:diskConfig");
    if (diskConfig.isPresent() && !Set.of("AUTO", "MANUAL").contains(diskConfig.get())) {
      throw new InvalidInputException("OS-DCF:diskConfig must be AUTO or MANUAL");
    }
    return new ServerCreateRequest(
        name,
        lastSegment(imageRef),
        flavorRef,
        metadata,
        userData,
        keyName,
        configDrive,
        az,
        min,
        max,
        reservation,
        description,
        tags,
        adminPass,
        accessIpV4,
        accessIpV6,
        destination);
  }

  private static String flavorRef(ObjectNode s) {
    JsonNode f = s.get("flavorRef");
    if (f == null || f.isNull()) {
      throw new InvalidInputException("'flavorRef' is a required property");
    }
    String ref;
    if (f.isTextual()) {
      ref = f.textValue();
    } else if (f.isIntegralNumber()) {
      ref = f.asText();
    } else {
      throw new InvalidInputException(
          "'flavorRef' must be a string or an integer, not " + ApiJson.describe(f));
    }
    if (ref.isEmpty()) {
      throw new InvalidInputException("'flavorRef' must not be empty");
    }
    return lastSegment(ref);
  }

  /** Accepts ids and the bookmark URLs older clients send. */
  static String lastSegment(String ref) {
    String r = ref.replaceAll("/+$", "");
    int i = r.lastIndexOf('/');
    return i >= 0 ? r.substring(i + 1) : r;
  }

  private static void refuse(ObjectNode s, String key, String why) {
    JsonNode n = s.get(key);
    if (n != null && !n.isNull() && !(n.isArray() && n.isEmpty())) {
      throw new InvalidInputException("Invalid input for field/attribute " + key + ": " + why);
    }
  }

  private static void networks(ObjectNode s, Microversion v) {
    JsonNode n = s.get("networks");
    if (n == null) {
      if (v.atLeast(2, 37)) {
        throw new InvalidInputException(
            "Invalid input for field/attribute networks: 'networks' is a required property at"
                + " microversion 2.37 and later (use \"none\" or \"auto\")");
      }
      return;
    }
    if (n.isTextual()) {
      if (!v.atLeast(2, 37)) {
        throw new InvalidInputException(
            "networks \"" + n.textValue() + "\" needs microversion 2.37 or later");
      }
      if (!n.textValue().equals("none") && !n.textValue().equals("auto")) {
        throw new InvalidInputException(
            "Invalid input for field/attribute networks: must be \"none\", \"auto\" or a list");
      }
      return;
    }
    if (!n.isArray()) {
      throw new InvalidInputException(
          "Invalid input for field/attribute networks: must be a list, not " + ApiJson.describe(n));
    }
    if (!n.isEmpty()) {
      throw new InvalidInputException(
          "Virga has no networking service: request networks \"none\" (or \"auto\", which gives"
              + " no network either) instead of a list of networks or ports");
    }
  }

  private static void securityGroups(ObjectNode s) {
    JsonNode n = s.get("security_groups");
    if (n == null || n.isNull()) {
      return;
    }
    if (!n.isArray()) {
      throw new InvalidInputException("security_groups must be a list");
    }
    for (JsonNode g : n) {
      if (!g.isObject()
          || !g.path("name").isTextual()
          || !g.path("name").textValue().equals("default")) {
        throw new InvalidInputException(
            "Virga has no networking service: only the security group \"default\" is accepted");
      }
    }
  }

  static Map<String, String> metadata(JsonNode n) {
    Map<String, String> m = new LinkedHashMap<>();
    if (n == null || n.isNull()) {
      return m;
    }
    if (!n.isObject()) {
      throw new InvalidInputException("metadata must be an object, not " + ApiJson.describe(n));
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!METADATA_KEY.matcher(e.getKey()).matches()) {
        throw new InvalidInputException(
            "Invalid metadata key '"
                + e.getKey()
                + "': 1 to 255 characters of letters, digits, '-', '_', ':', '.' and space");
      }
      if (!e.getValue().isTextual()) {
        throw new InvalidInputException(
            "Invalid metadata value for key '"
                + e.getKey()
                + "': must be a string, not "
                + ApiJson.describe(e.getValue()));
      }
      if (e.getValue().textValue().length() > 255) {
        throw new InvalidInputException(
            "Invalid metadata value for key '" + e.getKey() + "': longer than 255 characters");
      }
      m.put(e.getKey(), e.getValue().textValue());
    }
    return m;
  }

  static Optional<String> userData(ObjectNode s) {
    Optional<String> ud = ApiJson.optString(s, "user_data");
    if (ud.isEmpty()) {
      return ud;
    }
    if (ud.get().length() > MAX_USER_DATA) {
      throw new InvalidInputException(
          "user_data is " + ud.get().length() + " characters; at most " + MAX_USER_DATA);
    }
    try {
      Base64.getDecoder().decode(ud.get().replaceAll("\\s", ""));
    } catch (IllegalArgumentException e) {
      throw new InvalidInputException("user_data is not valid base64: " + e.getMessage());
    }
    return ud;
  }

  private static boolean configDrive(JsonNode n) {
    if (n == null || n.isNull()) {
      return false;
    }
    if (n.isBoolean()) {
      return n.booleanValue();
    }
    if (n.isTextual()) {
      String v = n.textValue().strip().toLowerCase(java.util.Locale.ROOT);
      return switch (v) {
        case "true", "t", "yes", "y", "on", "1" -> true;
        case "false", "f", "no", "n", "off", "0", "" -> false;
        default ->
            throw new InvalidInputException("config_drive must be a boolean, not '" + v + "'");
      };
    }
    throw new InvalidInputException("config_drive must be a boolean, not " + ApiJson.describe(n));
  }

  private static int count(ObjectNode s, String key) {
    JsonNode n = s.get(key);
    if (n == null || n.isNull()) {
      return 1;
    }
    long v;
    if (n.isIntegralNumber()) {
      v = n.longValue();
    } else if (n.isTextual() && n.textValue().matches("^[0-9]{1,9}$")) {
      v = Long.parseLong(n.textValue());
    } else {
      throw new InvalidInputException(
          key + " must be a positive integer, not " + ApiJson.describe(n));
    }
    if (v < 1 || v > 1000) {
      throw new InvalidInputException(key + " must be between 1 and 1000, not " + v);
    }
    return (int) v;
  }

  private static List<String> tags(JsonNode n) {
    List<String> out = new ArrayList<>();
    if (n == null || n.isNull()) {
      return out;
    }
    if (!n.isArray() || n.size() > 50) {
      throw new InvalidInputException("tags must be a list of at most 50 strings");
    }
    for (JsonNode t : n) {
      if (!t.isTextual() || !TAG.matcher(t.textValue()).matches()) {
        throw new InvalidInputException(
            "Invalid tag " + t + ": 1 to 60 characters without ',' or '/'");
      }
      if (!out.contains(t.textValue())) {
        out.add(t.textValue());
      }
    }
    return out;
  }
}
