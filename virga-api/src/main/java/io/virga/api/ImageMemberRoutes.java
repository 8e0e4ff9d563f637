package io.virga.api;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import io.javalin.router.JavalinDefaultRouting;
import io.virga.db.ImageMemberRepository.Member;
import io.virga.image.ImageMembers;
import io.virga.image.ImageService;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * Glance v2 image members ({@code openstack image add project}, {@code image set --accept}, {@code
 * image member list}) and the deactivate/reactivate actions.
 */
final class ImageMemberRoutes implements ApiServer.RouteGroup {
  private static final DateTimeFormatter GLANCE_TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss'Z'").withZone(ZoneOffset.UTC);
  private static final String MEMBERS = "/image/v2/images/{id}/members";

  private final ImageService images;
  private final ImageMembers members;

  ImageMemberRoutes(ImageService images) {
    this.images = images;
    this.members = images.sharing();
  }

  @Override
  public void register(JavalinDefaultRouting r) {
    r.get(MEMBERS, this::list);
    r.post(MEMBERS, this::add);
    r.get(MEMBERS + "/{member}", this::show);
    r.put(MEMBERS + "/{member}", this::update);
    r.delete(MEMBERS + "/{member}", this::remove);
    r.post("/image/v2/images/{id}/actions/deactivate", ctx -> setActive(ctx, false));
    r.post("/image/v2/images/{id}/actions/reactivate", ctx -> setActive(ctx, true));
    r.get("/image/v2/schemas/member", ctx -> ctx.json(ImageSchemas.member()));
    r.get("/image/v2/schemas/members", ctx -> ctx.json(ImageSchemas.members()));
  }

  private static ImageService.Caller caller(Context ctx) {
    AuthContext auth = AuthContext.of(ctx);
    return new ImageService.Caller(auth.project(), auth.isAdmin());
  }

  static ObjectNode json(Member m) {
    ObjectNode n = ApiJson.MAPPER.createObjectNode();
    n.put("created_at", GLANCE_TIME.format(Instant.ofEpochMilli(m.createdAt())));
    n.put("image_id", m.imageId());
    n.put("member_id", m.memberId());
    n.put("schema", "/v2/schemas/member");
    n.put("status", m.status());
    n.put("updated_at", GLANCE_TIME.format(Instant.ofEpochMilli(m.updatedAt())));
    return n;
  }

  private void list(Context ctx) {
    ObjectNode root = ApiJson.MAPPER.createObjectNode();
    ArrayNode arr = root.putArray("members");
    members.list(caller(ctx), ctx.pathParam("id")).forEach(m -> arr.add(json(m)));
    root.put("schema", "/v2/schemas/members");
    ctx.json(root);
  }

  private void add(Context ctx) {
    String member = ApiJson.requireString(ApiJson.object(ctx), "member");
    ctx.json(json(members.add(caller(ctx), ctx.pathParam("id"), member)));
  }

  private void show(Context ctx) {
    ctx.json(json(members.show(caller(ctx), ctx.pathParam("id"), ctx.pathParam("member"))));
  }

  private void update(Context ctx) {
    String status = ApiJson.requireString(ApiJson.object(ctx), "status");
    ctx.json(
        json(members.setStatus(caller(ctx), ctx.pathParam("id"), ctx.pathParam("member"), status)));
  }

  private void remove(Context ctx) {
    members.remove(caller(ctx), ctx.pathParam("id"), ctx.pathParam("member"));
    ctx.status(204);
  }

  private void setActive(Context ctx, boolean active) {
    images.setActive(caller(ctx), ctx.pathParam("id"), active);
    ctx.status(204);
  }
}
