package io.virga.api;

import static io.virga.api.ComputeRoutes.ROOT;
import static io.virga.api.ComputeRoutes.authed;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.router.JavalinDefaultRouting;
import io.virga.core.InvalidInputException;
import io.virga.core.NotFoundException;
import io.virga.db.InstanceActionRecord;
import io.virga.db.InstanceRecord;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** What hangs off one server: /servers/{id}/metadata and /servers/{id}/os-instance-actions. */
final class ServerMetadataRoutes {
  private final ComputeDeps deps;
  private final ServerOperations ops;

  ServerMetadataRoutes(ComputeDeps deps, ServerOperations ops) {
    this.deps = deps;
    this.ops = ops;
  }

  void register(JavalinDefaultRouting r) {
    r.get(ROOT + "/servers/{id}/metadata", authed(this::metadata));
    r.put(ROOT + "/servers/{id}/metadata", authed(c -> setMetadata(c, true)));
    r.post(ROOT + "/servers/{id}/metadata", authed(c -> setMetadata(c, false)));
    r.get(ROOT + "/servers/{id}/metadata/{key}", authed(this::metadataItem));
    r.put(ROOT + "/servers/{id}/metadata/{key}", authed(this::putMetadataItem));
    r.delete(ROOT + "/servers/{id}/metadata/{key}", authed(this::deleteMetadataItem));
    r.get(ROOT + "/servers/{id}/os-instance-actions", authed(this::actions));
    r.get(ROOT + "/servers/{id}/os-instance-actions/{rid}", authed(this::actionShow));
  }

  private void metadata(ComputeRoutes.Call c) {
    c.ctx().json(Map.of("metadata", ops.visible(c.auth(), c.path("id")).metadata()));
  }

  private void setMetadata(ComputeRoutes.Call c, boolean replace) {
    InstanceRecord r = ops.visible(c.auth(), c.path("id"));
    ObjectNode body = ApiJson.object(c.ctx());
    Map<String, String> given =
        ServerCreateRequest.metadata(ApiJson.requireObject(body, "metadata"));
    Map<String, String> m = replace ? new LinkedHashMap<>() : new LinkedHashMap<>(r.metadata());
    m.putAll(given);
    checkMetadataQuota(r, m);
    deps.instances().setMetadata(r.uuid(), m);
    c.ctx().json(Map.of("metadata", m));
  }

  private void checkMetadataQuota(InstanceRecord r, Map<String, String> m) {
    long limit = deps.quotas().limits(r.projectId()).getOrDefault("metadata_items", 128L);
    if (limit >= 0 && m.size() > limit) {
      throw new io.virga.core.QuotaExceededException(
          "Quota exceeded for metadata_items: Requested "
              + m.size()
              + ", but the limit is "
              + limit);
    }
  }

  private void metadataItem(ComputeRoutes.Call c) {
    InstanceRecord r = ops.visible(c.auth(), c.path("id"));
    String key = c.path("key");
    String v = r.metadata().get(key);
    if (v == null) {
      throw new NotFoundException("Metadata item was not found");
    }
    c.ctx().json(Map.of("meta", Map.of(key, v)));
  }

  private void putMetadataItem(ComputeRoutes.Call c) {
    InstanceRecord r = ops.visible(c.auth(), c.path("id"));
    String key = c.path("key");
    ObjectNode body = ApiJson.object(c.ctx());
    Map<String, String> meta = ServerCreateRequest.metadata(ApiJson.requireObject(body, "meta"));
    if (meta.size() != 1 || !meta.containsKey(key)) {
      throw new InvalidInputException("Request body and URI mismatch");
    }
    Map<String, String> m = new LinkedHashMap<>(r.metadata());
    m.putAll(meta);
    checkMetadataQuota(r, m);
    deps.instances().setMetadata(r.uuid(), m);
    c.ctx().json(Map.of("meta", meta));
  }

  private void deleteMetadataItem(ComputeRoutes.Call c) {
    InstanceRecord r = ops.visible(c.auth(), c.path("id"));
    String key = c.path("key");
    if (!r.metadata().containsKey(key)) {
      throw new NotFoundException("Metadata item was not found");
    }
    Map<String, String> m = new LinkedHashMap<>(r.metadata());
    m.remove(key);
    deps.instances().setMetadata(r.uuid(), m);
    c.ctx().status(204);
  }

  /** From 2.21 the actions of a deleted server stay readable (Nova reads them read_deleted). */
  private InstanceRecord actionsOf(ComputeRoutes.Call c) {
    if (!c.version().atLeast(2, 21)) {
      return ops.visible(c.auth(), c.path("id"));
    }
    String uuid = c.path("id");
    return deps.instances()
        .find(uuid)
        .filter(r -> Policy.mayAccess(c.auth(), r.projectId()))
        .orElseThrow(() -> new NotFoundException("Instance " + uuid + " could not be found."));
  }

  private void actions(ComputeRoutes.Call c) {
    InstanceRecord r = actionsOf(c);
    List<InstanceActionRecord> all = deps.actions().list(r.uuid());
    // 2.58: changes-since, limit and marker (a request id); 2.66: changes-before
    if (c.version().atLeast(2, 58)) {
      Optional<java.time.Instant> since =
          Optional.ofNullable(c.ctx().queryParam("changes-since")).map(MigrationRoutes::time);
      Optional<java.time.Instant> before =
          c.version().atLeast(2, 66)
              ? Optional.ofNullable(c.ctx().queryParam("changes-before")).map(MigrationRoutes::time)
              : Optional.empty();
      all =
          all.stream()
              .filter(a -> since.map(t -> !a.updatedAt().isBefore(t)).orElse(true))
              .filter(a -> before.map(t -> !a.updatedAt().isAfter(t)).orElse(true))
              .toList();
      all = ComputePaging.page(c.ctx(), all, a -> rid -> a.requestId().equals(rid));
    }
    List<Map<String, Object>> out = new ArrayList<>();
    for (InstanceActionRecord a : all) {
      out.add(action(a));
    }
    c.ctx().json(Map.of("instanceActions", out));
  }

  private void actionShow(ComputeRoutes.Call c) {
    InstanceRecord r = actionsOf(c);
    InstanceActionRecord a =
        deps.actions()
            .get(r.uuid(), c.path("rid"))
            .orElseThrow(
                () -> new NotFoundException("Action " + c.path("rid") + " could not be found."));
    Map<String, Object> m = action(a);
    boolean admin = c.auth().isAdmin();
    if (admin || c.version().atLeast(2, 51)) {
      List<Map<String, Object>> events = new ArrayList<>();
      for (InstanceActionRecord.Event e : a.events()) {
        Map<String, Object> em = new LinkedHashMap<>();
        em.put("event", e.event());
        em.put("start_time", ComputeTime.micros(e.startTime()));
        em.put("finish_time", ComputeTime.microsOrNull(e.finishTime()));
        em.put("result", e.result().orElse(null));
        if (admin) {
          em.put("traceback", e.traceback().orElse(null));
        }
        if (c.version().atLeast(2, 62)) {
          if (admin) {
            em.put("host", e.host().orElse(""));
          }
          em.put("hostId", ServerView.hostId(r.projectId(), e.host()));
        }
        events.add(em);
      }
      m.put("events", events);
    }
    c.ctx().json(Map.of("instanceAction", m));
  }

  private static Map<String, Object> action(InstanceActionRecord a) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("action", a.action());
    m.put("instance_uuid", a.instanceUuid());
    m.put("message", a.message().orElse(null));
    m.put("project_id", a.projectId());
    m.put("request_id", a.requestId());
    m.put("start_time", ComputeTime.micros(a.startTime()));
    m.put("user_id", a.userId());
    return m;
  }
}
