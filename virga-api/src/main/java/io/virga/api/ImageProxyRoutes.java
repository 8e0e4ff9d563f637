package io.virga.api;

import static io.virga.api.ComputeRoutes.ROOT;
import static io.virga.api.ComputeRoutes.authed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.router.JavalinDefaultRouting;
import io.virga.core.ForbiddenException;
import io.virga.core.InvalidInputException;
import io.virga.core.NotFoundException;
import io.virga.db.ImageRecord;
import io.virga.image.ImageService;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The compute API's image proxy (removed at 2.36): images and their metadata (Glance's extra
 * properties) through {@code /compute/v2.1/images}, as novaclient used it before the image API.
 */
final class ImageProxyRoutes {
  private static final Map<String, String> STATUS =
      Map.of(
          "active", "ACTIVE",
          "queued", "SAVING",
          "saving", "SAVING",
          "deleted", "DELETED",
          "pending_delete", "DELETED",
          "killed", "ERROR");
  private static final Map<String, Integer> PROGRESS =
      Map.of("queued", 25, "saving", 50, "active", 100);

  private final ComputeDeps deps;

  ImageProxyRoutes(ComputeDeps deps) {
    this.deps = deps;
  }

  void register(JavalinDefaultRouting r) {
    String images = ROOT + "/images";
    r.get(images, authed(c -> list(c, false)));
    r.get(images + "/detail", authed(c -> list(c, true)));
    r.get(images + "/{id}", authed(this::show));
    r.delete(images + "/{id}", authed(this::delete));
    r.get(images + "/{id}/metadata", authed(this::metadata));
    r.put(images + "/{id}/metadata", authed(c -> setMetadata(c, true)));
    r.post(images + "/{id}/metadata", authed(c -> setMetadata(c, false)));
    r.get(images + "/{id}/metadata/{key}", authed(this::item));
    r.put(images + "/{id}/metadata/{key}", authed(this::putItem));
    r.delete(images + "/{id}/metadata/{key}", authed(this::deleteItem));
  }

  private ImageService images(ComputeRoutes.Call c) {
    if (c.version().atLeast(2, 36)) {
      throw new NotFoundException("The resource could not be found.");
    }
    return deps.images()
        .service()
        .orElseThrow(() -> new NotFoundException("This cloud has no image service."));
  }

  private static ImageService.Caller caller(ComputeRoutes.Call c) {
    return new ImageService.Caller(c.auth().project(), c.auth().isAdmin());
  }

  private ImageRecord image(ComputeRoutes.Call c) {
    String id = c.path("id");
    return images(c)
        .find(caller(c), id)
        .orElseThrow(() -> new NotFoundException("Image not found."));
  }

  private Map<String, Object> view(ComputeRoutes.Call c, ImageRecord r, boolean detail) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", r.id());
    m.put("name", r.name().orElse(null));
    if (detail) {
      m.put("minRam", r.minRam());
      m.put("minDisk", r.minDisk());
      m.put("metadata", r.properties());
      m.put("created", ComputeTime.iso(Instant.ofEpochMilli(r.createdAt())));
      m.put("updated", ComputeTime.iso(Instant.ofEpochMilli(r.updatedAt())));
      m.put("status", STATUS.getOrDefault(r.status(), "UNKNOWN"));
      m.put("progress", PROGRESS.getOrDefault(r.status(), 0));
      m.put("OS-EXT-IMG-SIZE:size", r.size().orElse(null));
      String server = r.properties().get("instance_uuid");
      if (server != null) {
        m.put("server", Map.of("id", server, "links", c.view().links("servers", server)));
      }
    }
    List<Map<String, Object>> links = new ArrayList<>(c.view().links("images", r.id()));
    Map<String, Object> alternate = new LinkedHashMap<>();
    alternate.put("rel", "alternate");
    alternate.put("type", "application/vnd.openstack.image");
    alternate.put("href", c.base() + "/image/images/" + r.id());
    links.add(alternate);
    m.put("links", links);
    return m;
  }

  private boolean matches(ComputeRoutes.Call c, ImageRecord r) {
    var q = c.ctx();
    return Optional.ofNullable(q.queryParam("name"))
            .map(n -> r.name().orElse("").equals(n))
            .orElse(true)
        && Optional.ofNullable(q.queryParam("status"))
            .map(s -> STATUS.getOrDefault(r.status(), "UNKNOWN").equalsIgnoreCase(s))
            .orElse(true)
        && Optional.ofNullable(q.queryParam("server"))
            .map(s -> s.endsWith(r.properties().getOrDefault("instance_uuid", "\0")))
            .orElse(true)
        && Optional.ofNullable(q.queryParam("type"))
            .map(t -> t.equals(r.properties().getOrDefault("image_type", "")))
            .orElse(true)
        && Optional.ofNullable(q.queryParam("minRam"))
            .map(v -> r.minRam() >= number(v))
            .orElse(true)
        && Optional.ofNullable(q.queryParam("minDisk"))
            .map(v -> r.minDisk() >= number(v))
            .orElse(true);
  }

  private static int number(String v) {
    try {
      return Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw new InvalidInputException("Invalid filter value: '" + v + "' is not an integer");
    }
  }

  private void list(ComputeRoutes.Call c, boolean detail) {
    ImageService images = images(c);
    List<ImageRecord> all =
        images.list(
            caller(c),
            Map.of(),
            List.of(),
            Optional.empty(),
            List.of(),
            Optional.empty(),
            images.listLimitMax());
    List<ImageRecord> matched = all.stream().filter(r -> matches(c, r)).toList();
    List<ImageRecord> page = ComputePaging.page(c.ctx(), matched, r -> r.id()::equals);
    List<Map<String, Object>> out = new ArrayList<>();
    page.forEach(r -> out.add(view(c, r, detail)));
    c.ctx().json(Map.of("images", out));
  }

  private void show(ComputeRoutes.Call c) {
    c.ctx().json(Map.of("image", view(c, image(c), true)));
  }

  private void delete(ComputeRoutes.Call c) {
    ImageRecord r = image(c);
    images(c).delete(caller(c), r.id());
    c.ctx().status(204);
  }

  private void metadata(ComputeRoutes.Call c) {
    c.ctx().json(Map.of("metadata", image(c).properties()));
  }

  /** Properties as a JSON patch on the image (Glance checks ownership and reserved names). */
  private ImageRecord patch(
      ComputeRoutes.Call c, ImageRecord r, Map<String, String> set, List<String> remove) {
    long limit = deps.quotas().limits(c.auth().project()).getOrDefault("metadata_items", 128L);
    Map<String, String> after = new LinkedHashMap<>(r.properties());
    remove.forEach(after::remove);
    after.putAll(set);
    if (limit >= 0 && after.size() > limit) {
      throw new ForbiddenException("Quota exceeded for metadata_items: the limit is " + limit);
    }
    ArrayNode ops = ApiJson.MAPPER.createArrayNode();
    for (String k : remove) {
      ops.addObject().put("op", "remove").put("path", "/" + pointer(k));
    }
    set.forEach(
        (k, v) ->
            ops.addObject()
                .put("op", r.properties().containsKey(k) && !remove.contains(k) ? "replace" : "add")
                .put("path", "/" + pointer(k))
                .put("value", v));
    List<JsonNode> list = new ArrayList<>();
    ops.forEach(list::add);
    return images(c).update(caller(c), r.id(), list);
  }

  private static String pointer(String key) {
    return key.replace("~", "~0").replace("/", "~1");
  }

  private static Map<String, String> strings(ObjectNode o) {
    Map<String, String> m = new LinkedHashMap<>();
    o.fields()
        .forEachRemaining(
            e -> {
              if (!e.getValue().isTextual()) {
                throw new InvalidInputException(
                    "Invalid input for field/attribute " + e.getKey() + ": must be a string");
              }
              if (e.getKey().isEmpty() || e.getKey().length() > 255) {
                throw new InvalidInputException("metadata keys are 1 to 255 characters");
              }
              m.put(e.getKey(), e.getValue().textValue());
            });
    return m;
  }

  private void setMetadata(ComputeRoutes.Call c, boolean replace) {
    ImageRecord r = image(c);
    Map<String, String> given = strings(ApiJson.requireObject(ApiJson.object(c.ctx()), "metadata"));
    List<String> remove =
        replace
            ? r.properties().keySet().stream().filter(k -> !given.containsKey(k)).toList()
            : List.of();
    c.ctx().json(Map.of("metadata", patch(c, r, given, remove).properties()));
  }

  private void item(ComputeRoutes.Call c) {
    String key = c.path("key");
    String v = image(c).properties().get(key);
    if (v == null) {
      throw new NotFoundException("Image metadata item " + key + " not found.");
    }
    c.ctx().json(Map.of("meta", Map.of(key, v)));
  }

  private void putItem(ComputeRoutes.Call c) {
    ImageRecord r = image(c);
    String key = c.path("key");
    Map<String, String> meta = strings(ApiJson.requireObject(ApiJson.object(c.ctx()), "meta"));
    if (meta.size() != 1 || !meta.containsKey(key)) {
      throw new InvalidInputException("Request body and URI mismatch");
    }
    patch(c, r, meta, List.of());
    c.ctx().json(Map.of("meta", meta));
  }

  private void deleteItem(ComputeRoutes.Call c) {
    ImageRecord r = image(c);
    String key = c.path("key");
    if (!r.properties().containsKey(key)) {
      throw new NotFoundException("Image metadata item " + key + " not found.");
    }
    patch(c, r, Map.of(), List.of(key));
    c.ctx().status(204);
  }
}
