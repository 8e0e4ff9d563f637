package io.virga.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.core.InvalidInputException;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Nova's parameter types (nova/api/validation/parameter_types.py) where they are looser or stricter
 * than plain JSON types: its loose boolean, its name rule (printable characters only: no control,
 * format, private-use, surrogate or unassigned code points, no line or paragraph separators), and
 * the ipv4/ipv6 formats of accessIPv4/accessIPv6.
 */
final class NovaParams {
  private NovaParams() {}

  private static final Set<String> TRUE =
      Set.of("True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes");
  private static final Set<String> FALSE =
      Set.of("False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no");
  private static final Pattern IPV4 =
      Pattern.compile(
          "^(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}$");
  private static final Pattern HEX16 = Pattern.compile("^[0-9a-fA-F]{1,4}$");

  /** Nova's {@code parameter_types.boolean}: JSON booleans or their usual spellings as strings. */
  static Optional<Boolean> looseBoolean(JsonNode parent, String key) {
    JsonNode n = parent.get(key);
    if (n == null || n.isNull()) {
      return Optional.empty();
    }
    if (n.isBoolean()) {
      return Optional.of(n.booleanValue());
    }
    if (n.isTextual() && TRUE.contains(n.textValue())) {
      return Optional.of(true);
    }
    if (n.isTextual() && FALSE.contains(n.textValue())) {
      return Optional.of(false);
    }
    throw new InvalidInputException(
        "Invalid input for field/attribute "
            + key
            + ". Value: "
            + n
            + ". "
            + ApiJson.describe(n)
            + " is not one of the boolean values (true/false, 'True'/'False', 'yes'/'no',"
            + " 'on'/'off', '1'/'0')");
  }

  /** Whether Nova counts the code point as printable (letters, marks, numbers, symbols, spaces). */
  static boolean printable(int cp) {
    return switch (Character.getType(cp)) {
      case Character.CONTROL,
          Character.FORMAT,
          Character.PRIVATE_USE,
          Character.SURROGATE,
          Character.UNASSIGNED,
          Character.LINE_SEPARATOR,
          Character.PARAGRAPH_SEPARATOR ->
          false;
      default -> true;
    };
  }

  /**
   * Nova's {@code name} format: 1 to {@code max} printable characters, no leading or trailing
   * whitespace; 400 naming the field otherwise.
   */
  static String name(String field, String value, int max) {
    String problem = null;
    if (value.isEmpty() || value.codePointCount(0, value.length()) > max) {
      problem = "it must be 1 to " + max + " characters";
    } else if (!value.codePoints().allMatch(NovaParams::printable)) {
      problem = "control, format or unassigned characters are not allowed";
    } else if (Character.isWhitespace(value.codePointAt(0))
        || Character.isWhitespace(value.codePointBefore(value.length()))
        || Character.isSpaceChar(value.codePointAt(0))
        || Character.isSpaceChar(value.codePointBefore(value.length()))) {
      problem = "leading or trailing whitespace is not allowed";
    }
    if (problem != null) {
      throw new InvalidInputException(
          "Invalid input for field/attribute " + field + ". Value: " + value + ". " + problem);
    }
    return value;
  }

  static boolean ipv4(String s) {
    return IPV4.matcher(s).matches();
  }

  /** RFC 4291 text forms, with an optional embedded IPv4 tail; no zone ids. */
  static boolean ipv6(String s) {
    if (s.isEmpty() || s.contains(":::") || s.indexOf("::") != s.lastIndexOf("::")) {
      return false;
    }
    String head = s;
    int groups = 0;
    int lastColon = s.lastIndexOf(':');
    if (lastColon < 0) {
      return false;
    }
    String tail = s.substring(lastColon + 1);
    if (tail.contains(".")) {
      if (!ipv4(tail)) {
        return false;
      }
      head = s.substring(0, lastColon + 1);
      if (head.endsWith(":") && !head.endsWith("::")) {
        head = head.substring(0, head.length() - 1);
      }
      groups = 2;
    }
    boolean compressed = head.contains("::");
    String[] sides = compressed ? head.split("::", -1) : new String[] {head};
    for (String side : sides) {
      if (side.isEmpty()) {
        continue;
      }
      for (String g : side.split(":", -1)) {
        if (!HEX16.matcher(g).matches()) {
          return false;
        }
        groups++;
      }
    }
    return compressed ? groups <= 7 : groups == 8;
  }

  static Optional<String> accessIp(JsonNode parent, String key, boolean v6) {
    Optional<String> v = ApiJson.optString(parent, key);
    if (v.isPresent() && !(v6 ? ipv6(v.get()) : ipv4(v.get()))) {
      throw new InvalidInputException(
          "Invalid input for field/attribute "
              + key
              + ". Value: "
              + v.get()
              + ". '"
              + v.get()
              + "' is not a '"
              + (v6 ? "ipv6" : "ipv4")
              + "'");
    }
    return v;
  }
}
