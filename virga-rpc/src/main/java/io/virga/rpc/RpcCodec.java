package io.virga.rpc;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.virga.core.InstanceUpdate;
import io.virga.core.PowerState;
import io.virga.core.TaskState;
import io.virga.core.VirgaException;
import io.virga.core.VmState;
import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Type;
import java.util.Optional;

/**
 * The wire format: JSON envelopes, the same in-process and over a broker.
 *
 * <pre>
 * request {"v":1, "method":"stopInstance", "cast":true, "args":[...], "ctx":{"request_id":"req-…"}}
 * reply   {"result": …} | {"error": {"type": "io.virga.core.NotFoundException", "message": …, "status": 404}}
 * </pre>
 */
final class RpcCodec {
  static final int VERSION = 1;
  static final ObjectMapper MAPPER = newMapper();

  private RpcCodec() {}

  static ObjectMapper newMapper() {
    SimpleModule contracts = new SimpleModule("virga-contracts");
    contracts.addSerializer(InstanceUpdate.class, new UpdateSerializer());
    contracts.addDeserializer(InstanceUpdate.class, new UpdateDeserializer());
    return new ObjectMapper()
        .registerModule(new Jdk8Module())
        .registerModule(new JavaTimeModule())
        .registerModule(contracts)
        .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
        .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
  }

  record Request(String method, JsonNode args, Optional<String> requestId, boolean cast) {}

  static byte[] request(String method, Object[] args, Optional<String> requestId, boolean cast) {
    ObjectNode root = MAPPER.createObjectNode();
    root.put("v", VERSION);
    root.put("method", method);
    root.put("cast", cast);
    ArrayNode a = root.putArray("args");
    if (args != null) {
      for (Object arg : args) {
        JsonNode n = MAPPER.valueToTree(arg);
        a.add(n == null ? MAPPER.nullNode() : n);
      }
    }
    ObjectNode ctx = root.putObject("ctx");
    requestId.ifPresent(r -> ctx.put("request_id", r));
    return write(root);
  }

  static Request readRequest(byte[] bytes) {
    JsonNode root = read(bytes);
    JsonNode rid = root.path("ctx").path("request_id");
    return new Request(
        root.path("method").asText(),
        root.path("args"),
        rid.isTextual() ? Optional.of(rid.asText()) : Optional.empty(),
        root.path("cast").asBoolean(false));
  }

  static Object convert(JsonNode node, Type type) {
    JavaType t = MAPPER.getTypeFactory().constructType(type);
    try {
      return MAPPER.readerFor(t).readValue(node == null ? MAPPER.nullNode() : node);
    } catch (IOException e) {
      throw new VirgaException("rpc: cannot decode a " + t + ": " + e.getMessage(), e);
    }
  }

  static byte[] result(Object value) {
    ObjectNode root = MAPPER.createObjectNode();
    JsonNode v = MAPPER.valueToTree(value);
    root.set("result", v == null ? MAPPER.nullNode() : v);
    return write(root);
  }

  static byte[] error(Throwable t) {
    ObjectNode root = MAPPER.createObjectNode();
    ObjectNode e = root.putObject("error");
    e.put("type", t.getClass().getName());
    e.put("message", String.valueOf(t.getMessage()));
    e.put("status", t instanceof VirgaException v ? v.httpStatus() : 500);
    return write(root);
  }

  /** The reply's result node, or throws the remote error recreated with its type and status. */
  static JsonNode readReply(byte[] bytes, ClassLoader loader) {
    JsonNode root = read(bytes);
    JsonNode err = root.get("error");
    if (err != null && !err.isNull()) {
      throw recreate(
          err.path("type").asText(),
          err.path("message").asText(),
          err.path("status").asInt(500),
          loader);
    }
    return root.get("result");
  }

  static RuntimeException recreate(String type, String message, int status, ClassLoader loader) {
    try {
      Class<?> c = Class.forName(type, false, loader);
      if (VirgaException.class.isAssignableFrom(c)) {
        Constructor<?> k = c.getConstructor(String.class);
        VirgaException e = (VirgaException) k.newInstance(message);
        if (e.httpStatus() == status) {
          return e;
        }
      }
    } catch (ReflectiveOperationException | LinkageError e) {
      // not recreatable here: fall through to the generic form
    }
    return new RemoteException(type, message, status);
  }

  private static byte[] write(JsonNode node) {
    try {
      return MAPPER.writeValueAsBytes(node);
    } catch (IOException e) {
      throw new VirgaException("rpc: cannot encode message: " + e.getMessage(), e);
    }
  }

  private static JsonNode read(byte[] bytes) {
    try {
      return MAPPER.readTree(bytes);
    } catch (IOException e) {
      throw new VirgaException("rpc: malformed message: " + e.getMessage(), e);
    }
  }

  /**
   * InstanceUpdate's {@code Optional<Optional<TaskState>>} does not survive Jackson's Optional
   * handling ("clear the task" would read back as "leave it"), so it is written explicitly.
   */
  private static final class UpdateSerializer extends JsonSerializer<InstanceUpdate> {
    @Override
    public void serialize(InstanceUpdate u, JsonGenerator g, SerializerProvider p)
        throws IOException {
      g.writeStartObject();
      if (u.vmState().isPresent()) {
        g.writeStringField("vmState", u.vmState().get().name());
      }
      if (u.taskState().isPresent()) {
        g.writeObjectFieldStart("taskState");
        g.writeStringField("value", u.taskState().get().map(TaskState::name).orElse(null));
        g.writeEndObject();
      }
      if (u.powerState().isPresent()) {
        g.writeStringField("powerState", u.powerState().get().name());
      }
      if (u.host().isPresent()) {
        g.writeStringField("host", u.host().get());
      }
      if (u.progress().isPresent()) {
        g.writeNumberField("progress", u.progress().get());
      }
      g.writeBooleanField("markLaunched", u.markLaunched());
      g.writeEndObject();
    }
  }

  private static final class UpdateDeserializer extends JsonDeserializer<InstanceUpdate> {
    @Override
    public InstanceUpdate deserialize(JsonParser parser, DeserializationContext ctx)
        throws IOException {
      JsonNode n = parser.readValueAsTree();
      InstanceUpdate u = InstanceUpdate.none();
      if (n.hasNonNull("vmState")) {
        u = u.vm(VmState.valueOf(n.get("vmState").asText()));
      }
      if (n.has("taskState")) {
        JsonNode v = n.get("taskState").get("value");
        u = v == null || v.isNull() ? u.clearTask() : u.task(TaskState.valueOf(v.asText()));
      }
      if (n.hasNonNull("powerState")) {
        u = u.power(PowerState.valueOf(n.get("powerState").asText()));
      }
      if (n.hasNonNull("host")) {
        u = u.onHost(n.get("host").asText());
      }
      if (n.hasNonNull("progress")) {
        u = u.progress(n.get("progress").asInt());
      }
      if (n.path("markLaunched").asBoolean(false)) {
        u = u.launched();
      }
      return u;
    }
  }
}
