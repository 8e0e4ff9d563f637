package io.virga.api;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** The parts of Glance's JSON schemas clients read (property names, types, enums). */
final class ImageSchemas {
  private ImageSchemas() {}

  static ObjectNode image() {
    ObjectNode s = ApiJson.MAPPER.createObjectNode();
    s.put("name", "image");
    ObjectNode p = s.putObject("properties");
    str(p, "id");
    str(p, "name");
    enumOf(
        p,
        "status",
        "queued",
        "saving",
        "active",
        "killed",
        "deleted",
        "pending_delete",
        "deactivated",
        "uploading",
        "importing");
    enumOf(p, "visibility", "public", "private", "shared", "community");
    p.putObject("protected").put("type", "boolean");
    p.putObject("os_hidden").put("type", "boolean");
    str(p, "checksum");
    str(p, "os_hash_algo");
    str(p, "os_hash_value");
    str(p, "owner");
    p.putObject("size").putArray("type").add("null").add("integer");
    p.putObject("virtual_size").putArray("type").add("null").add("integer");
    p.putObject("min_ram").put("type", "integer");
    p.putObject("min_disk").put("type", "integer");
    enumOf(
        p, "container_format", "ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed");
    enumOf(
        p, "disk_format", "ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso");
    str(p, "created_at");
    str(p, "updated_at");
    p.putObject("tags").put("type", "array").putObject("items").put("type", "string");
    str(p, "self");
    str(p, "file");
    str(p, "schema");
    s.putObject("additionalProperties").put("type", "string");
    s.putArray("links");
    return s;
  }

  static ObjectNode images() {
    ObjectNode s = ApiJson.MAPPER.createObjectNode();
    s.put("name", "images");
    ObjectNode p = s.putObject("properties");
    p.putObject("images").put("type", "array").set("items", image());
    str(p, "schema");
    str(p, "first");
    str(p, "next");
    return s;
  }

  static ObjectNode member() {
    ObjectNode s = ApiJson.MAPPER.createObjectNode();
    s.put("name", "member");
    ObjectNode p = s.putObject("properties");
    for (String k : new String[] {"created_at", "image_id", "member_id", "schema", "updated_at"}) {
      p.putObject(k).put("type", "string");
    }
    ObjectNode status = p.putObject("status");
    status.put("type", "string");
    status.putArray("enum").add("pending").add("accepted").add("rejected");
    return s;
  }

  static ObjectNode members() {
    ObjectNode s = ApiJson.MAPPER.createObjectNode();
    s.put("name", "members");
    ObjectNode p = s.putObject("properties");
    p.putObject("members").put("type", "array").set("items", member());
    p.putObject("schema").put("type", "string");
    return s;
  }

  private static void str(ObjectNode p, String name) {
    p.putObject(name).putArray("type").add("null").add("string");
  }

  private static void enumOf(ObjectNode p, String name, String... values) {
    ObjectNode n = p.putObject(name);
    n.putArray("type").add("null").add("string");
    var e = n.putArray("enum");
    e.addNull();
    for (String v : values) {
      e.add(v);
    }
  }
}
