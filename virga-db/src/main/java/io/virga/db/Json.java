package io.virga.db;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.virga.core.Flavor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** JSON columns: the flavor copied onto an instance and string maps (metadata). */
final class Json {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final TypeReference<LinkedHashMap<String, String>> STRING_MAP =
      new TypeReference<>() {};

  private static final TypeReference<List<String>> STRING_LIST = new TypeReference<>() {};

  private Json() {}

  record StoredFlavor(
      String id,
      String name,
      int memoryMb,
      int vcpus,
      int rootGb,
      int ephemeralGb,
      int swapMb,
      Map<String, String> extraSpecs) {}

  static String flavor(Flavor f) {
    return write(
        new StoredFlavor(
            f.id(),
            f.name(),
            f.memoryMb(),
            f.vcpus(),
            f.rootGb(),
            f.ephemeralGb(),
            f.swapMb(),
            f.extraSpecs()));
  }

  /**
   * Parsed flavors by their JSON: the instances of a page share a few flavors, so a list of 1,000
   * parses a handful (bounded: cleared past 1,024 distinct ones).
   */
  private static final Map<String, Flavor> FLAVORS = new java.util.concurrent.ConcurrentHashMap<>();

  static Flavor flavor(String json) {
    Flavor known = FLAVORS.get(json);
    if (known != null) {
      return known;
    }
    Flavor parsed = parseFlavor(json);
    if (FLAVORS.size() >= 1024) {
      FLAVORS.clear();
    }
    FLAVORS.put(json, parsed);
    return parsed;
  }

  private static Flavor parseFlavor(String json) {
    try {
      StoredFlavor s = MAPPER.readValue(json, StoredFlavor.class);
      return new Flavor(
          s.id(),
          s.name(),
          s.memoryMb(),
          s.vcpus(),
          s.rootGb(),
          s.ephemeralGb(),
          s.swapMb(),
          s.extraSpecs() == null
              ? Map.of()
              : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(s.extraSpecs())));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("corrupt flavor_json column: " + e.getMessage(), e);
    }
  }

  static String map(Map<String, String> m) {
    return write(new LinkedHashMap<>(m));
  }

  static Map<String, String> map(String json) {
    if (json.equals("{}")) {
      return new LinkedHashMap<>(); // most instances: no parser for nothing
    }
    try {
      return MAPPER.readValue(json, STRING_MAP);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("corrupt JSON map column: " + e.getMessage(), e);
    }
  }

  static String list(List<String> l) {
    return write(List.copyOf(l));
  }

  static List<String> list(String json) {
    if (json.equals("[]")) {
      return new java.util.ArrayList<>();
    }
    try {
      return MAPPER.readValue(json, STRING_LIST);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("corrupt JSON list column: " + e.getMessage(), e);
    }
  }

  private static String write(Object o) {
    try {
      return MAPPER.writeValueAsString(o);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
