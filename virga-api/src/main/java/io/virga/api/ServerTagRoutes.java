package io.virga.api;

import static io.virga.api.ComputeRoutes.ROOT;
import static io.virga.api.ComputeRoutes.authed;

import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.router.JavalinDefaultRouting;
import io.virga.core.ConflictException;
import io.virga.core.InvalidInputException;
import io.virga.core.NotFoundException;
import io.virga.core.VmState;
import io.virga.db.InstanceRecord;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Nova's server tags (2.26): list, replace all, delete all, check one, add one, delete one. Tags
 * change only while the server is in a steady state (Nova's list of vm states), and a server has at
 * most 50; each tag is 1 to 60 characters without ',' or '/'.
 */
final class ServerTagRoutes {
  static final int MAX_TAGS = 50;
  private static final Set<VmState> TAGGABLE =
      Set.of(
          VmState.ACTIVE,
          VmState.PAUSED,
          VmState.SUSPENDED,
          VmState.STOPPED,
          VmState.SHELVED,
          VmState.SHELVED_OFFLOADED);

  private final ComputeDeps deps;
  private final ServerOperations ops;

  ServerTagRoutes(ComputeDeps deps, ServerOperations ops) {
    this.deps = deps;
    this.ops = ops;
  }

  void register(JavalinDefaultRouting r) {
    String tags = ROOT + "/servers/{id}/tags";
    r.get(tags, authed(this::list));
    r.put(tags, authed(this::replace));
    r.delete(tags, authed(this::deleteAll));
    r.get(tags + "/{tag}", authed(this::check));
    r.put(tags + "/{tag}", authed(this::add));
    r.delete(tags + "/{tag}", authed(this::delete));
  }

  private InstanceRecord server(ComputeRoutes.Call c, boolean change) {
    if (!c.version().atLeast(2, 26)) {
      throw new NotFoundException("The resource could not be found.");
    }
    InstanceRecord r = ops.visible(c.auth(), c.path("id"));
    if (change && (!TAGGABLE.contains(r.vmState()) || r.taskState().isPresent())) {
      throw new ConflictException(
          "Cannot 'update tags' instance "
              + r.uuid()
              + " while it is in vm_state "
              + r.vmState().value()
              + (r.taskState().map(t -> " and task_state " + t.value()).orElse("")));
    }
    return r;
  }

  static String tag(String t) {
    if (t.isEmpty() || t.length() > 60 || t.contains(",") || t.contains("/")) {
      throw new InvalidInputException(
          "Invalid input for field/attribute tag. Value: "
              + t
              + ". Tags are 1 to 60 characters without ',' or '/'");
    }
    return t;
  }

  private void save(InstanceRecord r, List<String> tags) {
    if (tags.size() > MAX_TAGS) {
      throw new InvalidInputException(
          "The number of tags exceeded the per-server limit " + MAX_TAGS);
    }
    deps.instances().setTags(r.uuid(), tags);
  }

  private void list(ComputeRoutes.Call c) {
    c.ctx().json(Map.of("tags", server(c, false).tags()));
  }

  private void replace(ComputeRoutes.Call c) {
    InstanceRecord r = server(c, true);
    JsonNode tags = ApiJson.object(c.ctx()).get("tags");
    if (tags == null || !tags.isArray()) {
      throw new InvalidInputException("'tags' is a required property and must be a list");
    }
    Set<String> out = new LinkedHashSet<>();
    for (JsonNode t : tags) {
      if (!t.isTextual()) {
        throw new InvalidInputException("Each tag must be a string, not " + ApiJson.describe(t));
      }
      out.add(tag(t.textValue()));
    }
    save(r, new ArrayList<>(out));
    c.ctx().json(Map.of("tags", new ArrayList<>(out)));
  }

  private void deleteAll(ComputeRoutes.Call c) {
    save(server(c, true), List.of());
    c.ctx().status(204);
  }

  private void check(ComputeRoutes.Call c) {
    if (!server(c, false).tags().contains(c.path("tag"))) {
      throw new NotFoundException(
          "Tag " + c.path("tag") + " could not be found for instance " + c.path("id") + ".");
    }
    c.ctx().status(204);
  }

  private void add(ComputeRoutes.Call c) {
    InstanceRecord r = server(c, true);
    String t = tag(c.path("tag"));
    if (r.tags().contains(t)) {
      c.ctx().status(204);
      return;
    }
    List<String> tags = new ArrayList<>(r.tags());
    tags.add(t);
    save(r, tags);
    c.ctx().header("Location", c.base() + ROOT + "/servers/" + r.uuid() + "/tags/" + t);
    c.ctx().status(201);
  }

  private void delete(ComputeRoutes.Call c) {
    InstanceRecord r = server(c, true);
    if (!r.tags().contains(c.path("tag"))) {
      throw new NotFoundException(
          "Tag " + c.path("tag") + " could not be found for instance " + r.uuid() + ".");
    }
    List<String> tags = new ArrayList<>(r.tags());
    tags.remove(c.path("tag"));
    save(r, tags);
    c.ctx().status(204);
  }
}
