package io.virga.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import io.javalin.router.JavalinDefaultRouting;
import io.virga.core.InvalidInputException;
import io.virga.core.VirgaException;
import io.virga.db.ImageRecord;
import io.virga.image.ImagePatch;
import io.virga.image.ImageService;
import io.virga.image.ImageSpec;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/** Image v2 (Glance subset) at {@code /image}: clients discover {@code /image} and append /v2. */
final class ImageRoutes implements ApiServer.RouteGroup {
  private static final List<String> FILTERS =
      List.of("name", "status", "visibility", "owner", "disk_format", "container_format", "id");

  private final ImageService images;

  ImageRoutes(ImageService images) {
    this.images = images;
  }

  @Override
  public void register(JavalinDefaultRouting r) {
    r.get("/image", this::versions, ApiServer.Access.PUBLIC);
    r.get("/image/v2", this::versions, ApiServer.Access.PUBLIC);
    r.get("/image/v2/images", this::list);
    r.post("/image/v2/images", this::create);
    r.get("/image/v2/images/{id}", this::show);
    r.patch("/image/v2/images/{id}", this::update);
    r.delete("/image/v2/images/{id}", this::delete);
    r.put("/image/v2/images/{id}/file", this::upload);
    r.get("/image/v2/images/{id}/file", this::download);
    r.put("/image/v2/images/{id}/tags/{tag}", this::addTag);
    r.delete("/image/v2/images/{id}/tags/{tag}", this::removeTag);
    r.get("/image/v2/schemas/image", ctx -> ctx.json(ImageSchemas.image()));
    r.get("/image/v2/schemas/images", ctx -> ctx.json(ImageSchemas.images()));
  }

  private static ImageService.Caller caller(Context ctx) {
    AuthContext auth = AuthContext.of(ctx);
    return new ImageService.Caller(auth.project(), auth.isAdmin());
  }

  private void versions(Context ctx) {
    String href = ApiServer.publicUrl(ctx) + "/image/v2/";
    ObjectNode root = ApiJson.MAPPER.createObjectNode();
    ArrayNode versions = root.putArray("versions");
    String[] ids = {"v2.9", "v2.8", "v2.7", "v2.6", "v2.5", "v2.4", "v2.3", "v2.2", "v2.1", "v2.0"};
    for (String id : ids) {
      ObjectNode v = versions.addObject();
      v.put("id", id);
      v.put("status", id.equals("v2.9") ? "CURRENT" : "SUPPORTED");
      v.putArray("links").addObject().put("rel", "self").put("href", href);
    }
    ctx.status(ctx.path().equals("/image") || ctx.path().equals("/image/") ? 300 : 200).json(root);
  }

  // ---- metadata

  private void create(Context ctx) {
    ImageService.Caller c = caller(ctx);
    ObjectNode body = ApiJson.object(ctx);
    Optional<String> owner = Optional.of(c.projectId());
    if (body.has("owner")) {
      JsonNode o = body.remove("owner");
      if (!o.isNull() && !o.isTextual()) {
        throw new InvalidInputException("'owner' must be a string or null");
      }
      owner = o.isNull() ? Optional.empty() : Optional.of(o.textValue());
    }
    ImageRecord r = images.create(c, ImageSpec.fromJson(body, c.admin()), owner);
    ctx.header("Location", ApiServer.publicUrl(ctx) + "/image/v2/images/" + r.id());
    ctx.status(201).json(json(r));
  }

  private void show(Context ctx) {
    ctx.json(json(images.show(caller(ctx), ctx.pathParam("id"))));
  }

  private void update(Context ctx) {
    String type =
        Optional.ofNullable(ctx.contentType())
            .orElse("")
            .split(";")[0]
            .strip()
            .toLowerCase(Locale.ROOT);
    if (!type.equals(ImagePatch.MEDIA_TYPE) && !type.equals(ImagePatch.MEDIA_TYPE_20)) {
      throw new UnsupportedMediaType(
          "Unsupported Content-Type '" + type + "': use " + ImagePatch.MEDIA_TYPE);
    }
    JsonNode doc;
    try {
      doc = ApiJson.MAPPER.readTree(ApiJson.bytes(ctx));
    } catch (IOException e) {
      throw new InvalidInputException("Malformed JSON patch: " + e.getMessage());
    }
    List<JsonNode> ops =
        type.equals(ImagePatch.MEDIA_TYPE_20)
            ? ImagePatch.operations20(doc)
            : ImagePatch.operations(doc);
    ImageRecord r = images.update(caller(ctx), ctx.pathParam("id"), ops);
    ctx.json(json(r));
  }

  private void addTag(Context ctx) {
    ObjectNode op =
        ApiJson.MAPPER
            .createObjectNode()
            .put("op", "add")
            .put("path", "/tags/-")
            .put("value", ctx.pathParam("tag"));
    ImageRecord current = images.show(caller(ctx), ctx.pathParam("id"));
    if (!current.tags().contains(ctx.pathParam("tag"))) {
      images.update(caller(ctx), ctx.pathParam("id"), List.of(op));
    }
    ctx.status(204);
  }

  private void removeTag(Context ctx) {
    ImageRecord current = images.show(caller(ctx), ctx.pathParam("id"));
    int idx = current.tags().indexOf(ctx.pathParam("tag"));
    if (idx < 0) {
      throw new io.virga.core.NotFoundException("Tag " + ctx.pathParam("tag") + " not found");
    }
    ObjectNode op =
        ApiJson.MAPPER.createObjectNode().put("op", "remove").put("path", "/tags/" + idx);
    images.update(caller(ctx), ctx.pathParam("id"), List.of(op));
    ctx.status(204);
  }

  private void delete(Context ctx) {
    images.delete(caller(ctx), ctx.pathParam("id"));
    ctx.status(204);
  }

  private void list(Context ctx) {
    Map<String, String> filters = new LinkedHashMap<>();
    for (String f : FILTERS) {
      String v = ctx.queryParam(f);
      if (v != null) {
        filters.put(f, v);
      }
    }
    int limit = images.listLimitDefault();
    String limitParam = ctx.queryParam("limit");
    if (limitParam != null) {
      try {
        limit = Integer.parseInt(limitParam);
      } catch (NumberFormatException e) {
        throw new InvalidInputException("limit param must be an integer");
      }
      if (limit < 0) {
        throw new InvalidInputException("limit param must be positive");
      }
    }
    limit = Math.min(limit, images.listLimitMax());
    Optional<Boolean> hidden =
        Optional.ofNullable(ctx.queryParam("os_hidden"))
            .map(v -> Boolean.parseBoolean(v.toLowerCase(Locale.ROOT)));
    List<ImageRecord> page =
        images.list(
            caller(ctx),
            filters,
            ctx.queryParams("tag"),
            hidden,
            sort(ctx),
            Optional.ofNullable(ctx.queryParam("marker")),
            limit);
    ObjectNode root = ApiJson.MAPPER.createObjectNode();
    ArrayNode arr = root.putArray("images");
    page.forEach(r -> arr.add(json(r)));
    root.put("first", "/v2/images");
    root.put("schema", "/v2/schemas/images");
    if (limit > 0 && page.size() == limit) {
      root.put("next", nextLink(ctx, page.get(page.size() - 1).id(), limit));
    }
    ctx.json(root);
  }

  /**
   * Glance's sort syntaxes: {@code sort=name:asc,created_at} or {@code sort_key}/{@code sort_dir}.
   */
  private static List<Map.Entry<String, String>> sort(Context ctx) {
    List<Map.Entry<String, String>> out = new ArrayList<>();
    String sort = ctx.queryParam("sort");
    if (sort != null) {
      for (String part : sort.split(",")) {
        String[] kv = part.strip().split(":", 2);
        out.add(Map.entry(kv[0], kv.length > 1 ? kv[1].toLowerCase(Locale.ROOT) : "desc"));
      }
      return out;
    }
    List<String> keys = ctx.queryParams("sort_key");
    List<String> dirs = ctx.queryParams("sort_dir");
    for (int i = 0; i < keys.size(); i++) {
      String dir =
          i < dirs.size() ? dirs.get(i) : dirs.isEmpty() ? "desc" : dirs.get(dirs.size() - 1);
      out.add(Map.entry(keys.get(i), dir.toLowerCase(Locale.ROOT)));
    }
    if (out.isEmpty()) {
      out.add(Map.entry("created_at", "desc"));
    }
    return out;
  }

  private static String nextLink(Context ctx, String lastId, int limit) {
    StringBuilder q = new StringBuilder("/v2/images?");
    for (Map.Entry<String, List<String>> e : ctx.queryParamMap().entrySet()) {
      if (e.getKey().equals("marker") || e.getKey().equals("limit")) {
        continue;
      }
      for (String v : e.getValue()) {
        q.append(enc(e.getKey())).append('=').append(enc(v)).append('&');
      }
    }
    q.append("limit=").append(limit).append("&marker=").append(enc(lastId));
    return q.toString();
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  // ---- data

  private void upload(Context ctx) {
    try (InputStream in = ctx.bodyInputStream()) {
      images.upload(caller(ctx), ctx.pathParam("id"), in);
    } catch (IOException e) {
      throw new InvalidInputException("The upload was interrupted: " + e.getMessage());
    }
    ctx.status(204);
  }

  private void download(Context ctx) {
    ImageService.Caller c = caller(ctx);
    ImageRecord r = images.show(c, ctx.pathParam("id"));
    if (r.status().equals("queued") || r.status().equals("saving")) {
      ctx.status(204); // Glance: no data yet
      return;
    }
    InputStream data = images.openData(c, r.id());
    ctx.contentType("application/octet-stream");
    r.checksum().ifPresent(md5 -> ctx.header("Content-MD5", md5));
    r.size().ifPresent(size -> ctx.header("Content-Length", Long.toString(size)));
    ctx.result(data);
  }

  // ---- representation

  private static final DateTimeFormatter GLANCE_TIME = DateTimeFormatter.ISO_INSTANT;

  static String time(long epochMillis) {
    return GLANCE_TIME.format(Instant.ofEpochMilli(epochMillis).truncatedTo(ChronoUnit.SECONDS));
  }

  /** Glance's image body: core attributes, then extra properties as top-level keys. */
  static ObjectNode json(ImageRecord r) {
    ObjectNode n = ApiJson.MAPPER.createObjectNode();
    for (Map.Entry<String, String> p : r.properties().entrySet()) {
      n.put(p.getKey(), p.getValue());
    }
    n.put("id", r.id());
    putOpt(n, "name", r.name());
    n.put("status", r.status());
    n.put("visibility", r.visibility());
    n.put("protected", r.isProtected());
    n.put("os_hidden", r.osHidden());
    putOpt(n, "checksum", r.checksum());
    putOpt(n, "os_hash_algo", r.osHashAlgo());
    putOpt(n, "os_hash_value", r.osHashValue());
    putOpt(n, "owner", r.owner());
    if (r.size().isPresent()) {
      n.put("size", r.size().get());
    } else {
      n.putNull("size");
    }
    if (r.virtualSize().isPresent()) {
      n.put("virtual_size", r.virtualSize().get());
    } else {
      n.putNull("virtual_size");
    }
    n.put("min_ram", r.minRam());
    n.put("min_disk", r.minDisk());
    putOpt(n, "disk_format", r.diskFormat());
    putOpt(n, "container_format", r.containerFormat());
    n.put("created_at", time(r.createdAt()));
    n.put("updated_at", time(r.updatedAt()));
    ArrayNode tags = n.putArray("tags");
    r.tags().forEach(tags::add);
    n.put("self", "/v2/images/" + r.id());
    n.put("file", "/v2/images/" + r.id() + "/file");
    n.put("schema", "/v2/schemas/image");
    return n;
  }

  private static void putOpt(ObjectNode n, String key, Optional<String> v) {
    if (v.isPresent()) {
      n.put(key, v.get());
    } else {
      n.putNull(key);
    }
  }

  /** 415 for a PATCH without the JSON-patch media type. */
  static final class UnsupportedMediaType extends VirgaException {
    private static final long serialVersionUID = 1L;

    UnsupportedMediaType(String message) {
      super(message);
    }

    @Override
    public int httpStatus() {
      return 415;
    }
  }
}
