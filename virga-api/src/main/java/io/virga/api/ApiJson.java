package io.virga.api;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.javalin.http.Context;
import io.virga.core.InvalidInputException;
import io.virga.core.PayloadTooLargeException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Optional;

/**
 * Reading request bodies: bounded by {@code max_request_body_bytes} (413 beyond, chunked bodies
 * included), malformed JSON and wrongly typed fields are 400 with a message that names the field.
 */
public final class ApiJson {
  /** The mapper used for every request and response body. */
  public static final ObjectMapper MAPPER =
      JsonMapper.builder()
          .addModule(new JavaTimeModule())
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
          .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
          .build();

  private ApiJson() {}

  /** The raw body, at most {@code limit} bytes (limit from the server's configuration). */
  public static byte[] bytes(Context ctx) {
    long limit = ApiServer.maxBodyBytes(ctx);
    long declared = ctx.req().getContentLengthLong();
    if (declared > limit) {
      throw tooLarge(limit);
    }
    try (InputStream in = ctx.bodyInputStream()) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      byte[] buf = new byte[8192];
      int n;
      while ((n = in.read(buf)) >= 0) {
        if (out.size() + (long) n > limit) {
          throw tooLarge(limit);
        }
        out.write(buf, 0, n);
      }
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the request body", e);
    }
  }

  private static PayloadTooLargeException tooLarge(long limit) {
    return new PayloadTooLargeException("Request is too large: the limit is " + limit + " bytes");
  }

  /** The body as a JSON object; 400 when it is empty, malformed or not an object. */
  public static ObjectNode object(Context ctx) {
    byte[] body = bytes(ctx);
    if (body.length == 0) {
      throw new InvalidInputException("The request body is empty; a JSON object is required");
    }
    JsonNode node;
    try {
      node = MAPPER.readTree(body);
    } catch (JsonProcessingException e) {
      throw new InvalidInputException("Malformed request body: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    if (node == null || !node.isObject()) {
      throw new InvalidInputException("The request body must be a JSON object");
    }
    return (ObjectNode) node;
  }

  /** The body bound to a type; binding errors name the offending field. */
  public static <T> T read(Context ctx, Class<T> type) {
    ObjectNode node = object(ctx);
    try {
      return MAPPER.treeToValue(node, type);
    } catch (JsonProcessingException e) {
      throw new InvalidInputException("Invalid request body: " + e.getOriginalMessage());
    }
  }

  /** The member {@code key} of {@code parent}, which must be a JSON object. */
  public static ObjectNode requireObject(JsonNode parent, String key) {
    JsonNode n = parent.get(key);
    if (n == null || n.isNull()) {
      throw new InvalidInputException("'" + key + "' is a required property");
    }
    if (!n.isObject()) {
      throw new InvalidInputException("'" + key + "' must be an object");
    }
    return (ObjectNode) n;
  }

  /** An optional string member; 400 when present with another type. */
  public static Optional<String> optString(JsonNode parent, String key) {
    JsonNode n = parent.get(key);
    if (n == null || n.isNull()) {
      return Optional.empty();
    }
    if (!n.isTextual()) {
      throw new InvalidInputException("'" + key + "' must be a string, not " + describe(n));
    }
    return Optional.of(n.textValue());
  }

  public static String requireString(JsonNode parent, String key) {
    return optString(parent, key)
        .orElseThrow(() -> new InvalidInputException("'" + key + "' is a required property"));
  }

  /** An optional integer member; strings of digits are refused as Nova's schemas do for bodies. */
  public static Optional<Long> optInteger(JsonNode parent, String key) {
    JsonNode n = parent.get(key);
    if (n == null || n.isNull()) {
      return Optional.empty();
    }
    if (!n.isIntegralNumber()) {
      throw new InvalidInputException("'" + key + "' must be an integer, not " + describe(n));
    }
    return Optional.of(n.longValue());
  }

  public static Optional<Boolean> optBoolean(JsonNode parent, String key) {
    JsonNode n = parent.get(key);
    if (n == null || n.isNull()) {
      return Optional.empty();
    }
    if (!n.isBoolean()) {
      throw new InvalidInputException("'" + key + "' must be a boolean, not " + describe(n));
    }
    return Optional.of(n.booleanValue());
  }

  static String describe(JsonNode n) {
    return switch (n.getNodeType()) {
      case STRING -> "the string '" + n.textValue() + "'";
      case NUMBER -> "the number " + n.asText();
      case BOOLEAN -> n.asText();
      case ARRAY -> "an array";
      case OBJECT -> "an object";
      default -> n.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
    };
  }
}
