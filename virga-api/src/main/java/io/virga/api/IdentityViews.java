package io.virga.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import io.virga.core.InvalidInputException;
import io.virga.db.IdentityAdminRepository.UserDetails;
import io.virga.db.IdentityRepository.Project;
import io.virga.db.IdentityRepository.Role;
import io.virga.db.IdentityRepository.User;
import java.util.Optional;

/** Keystone v3 resource bodies and the checks its JSON schemas make on names and flags. */
final class IdentityViews {
  private IdentityViews() {}

  static String base(Context ctx) {
    return ApiServer.publicUrl(ctx) + "/identity/v3";
  }

  static ObjectNode project(Context ctx, Project p) {
    ObjectNode n = ApiJson.MAPPER.createObjectNode();
    n.put("id", p.id());
    n.put("name", p.name());
    n.put("domain_id", p.domainId());
    n.put("description", p.description() == null ? "" : p.description());
    n.put("enabled", p.enabled());
    n.put("is_domain", false);
    n.put("parent_id", p.domainId()); // a top-level project's parent is its domain
    n.putArray("tags");
    n.putObject("options");
    n.putObject("links").put("self", base(ctx) + "/projects/" + p.id());
    return n;
  }

  static ObjectNode user(Context ctx, User u, UserDetails details) {
    ObjectNode n = ApiJson.MAPPER.createObjectNode();
    n.put("id", u.id());
    n.put("name", u.name());
    n.put("domain_id", u.domainId());
    n.put("enabled", u.enabled());
    u.defaultProjectId().ifPresent(p -> n.put("default_project_id", p));
    details.description().ifPresent(d -> n.put("description", d));
    details.email().ifPresent(e -> n.put("email", e));
    n.putNull("password_expires_at");
    n.putObject("options");
    n.putObject("links").put("self", base(ctx) + "/users/" + u.id());
    return n;
  }

  static ObjectNode role(Context ctx, Role r) {
    ObjectNode n = ApiJson.MAPPER.createObjectNode();
    n.put("id", r.id());
    n.put("name", r.name());
    n.putNull("domain_id");
    n.putNull("description");
    n.putObject("options");
    n.putObject("links").put("self", base(ctx) + "/roles/" + r.id());
    return n;
  }

  static ObjectNode domain(Context ctx) {
    ObjectNode n = ApiJson.MAPPER.createObjectNode();
    n.put("id", IdentityService.DEFAULT_DOMAIN_ID);
    n.put("name", IdentityService.DEFAULT_DOMAIN_NAME);
    n.put("description", "The default domain");
    n.put("enabled", true);
    n.putArray("tags");
    n.putObject("options");
    n.putObject("links").put("self", base(ctx) + "/domains/" + IdentityService.DEFAULT_DOMAIN_ID);
    return n;
  }

  /** {@code {"<key>": [...], "links": {...}}} as Keystone lists answer. */
  static ObjectNode list(Context ctx, String key, ArrayNode items) {
    ObjectNode root = ApiJson.MAPPER.createObjectNode();
    root.set(key, items);
    ObjectNode links = root.putObject("links");
    links.put("self", ApiServer.publicUrl(ctx) + ctx.path());
    links.putNull("previous");
    links.putNull("next");
    return root;
  }

  static ObjectNode wrap(String key, JsonNode value) {
    ObjectNode root = ApiJson.MAPPER.createObjectNode();
    root.set(key, value);
    return root;
  }

  /** Keystone's name type: 1..max characters with at least one that is not whitespace. */
  static String name(String value, int max) {
    if (value.isBlank()) {
      throw new InvalidInputException("Invalid input for field 'name': it must not be blank.");
    }
    if (value.codePointCount(0, value.length()) > max) {
      throw new InvalidInputException(
          "Invalid input for field 'name': longer than " + max + " characters.");
    }
    if (value.codePoints().anyMatch(Character::isISOControl)) {
      throw new InvalidInputException(
          "Invalid input for field 'name': control characters are not allowed.");
    }
    return value;
  }

  static Optional<String> optName(JsonNode body, int max) {
    return ApiJson.optString(body, "name").map(n -> name(n, max));
  }

  /** The domain of a new project or user: only {@code default} exists. */
  static String domainId(JsonNode body) {
    String d = ApiJson.optString(body, "domain_id").orElse(IdentityService.DEFAULT_DOMAIN_ID);
    if (!d.equals(IdentityService.DEFAULT_DOMAIN_ID)) {
      throw new InvalidInputException(
          "Could not find domain: " + d + " (the one domain is 'default')");
    }
    return d;
  }
}
