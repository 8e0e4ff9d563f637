package io.virga.api;

import io.virga.core.Flavor;
import io.virga.db.InstanceFault;
import io.virga.db.InstanceRecord;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Server bodies as Nova's views/servers.py shapes them. Keys a microversion introduces appear only
 * from that microversion on; admin-only keys only for admins.
 */
final class ServerView {
  private static final Set<String> PROGRESS_STATUSES =
      Set.of("ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING");

  private final String base;
  private final Microversion version;
  private final boolean admin;

  /**
   * @param base the public URL of the API server (no trailing slash)
   */
  ServerView(String base, Microversion version, boolean admin) {
    this.base = base;
    this.version = version;
    this.admin = admin;
  }

  List<Map<String, Object>> links(String collection, String id) {
    return List.of(
        link("self", base + "/compute/v2.1/" + collection + "/" + id),
        link("bookmark", base + "/compute/" + collection + "/" + id));
  }

  static Map<String, Object> link(String rel, String href) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("rel", rel);
    m.put("href", href);
    return m;
  }

  /** The short form of GET /servers. */
  Map<String, Object> basic(InstanceRecord r) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", r.uuid());
    m.put("name", r.displayName());
    m.put("links", links("servers", r.uuid()));
    return m;
  }

  /**
   * The full form (show, detail).
   *
   * @param hostStatus Nova's host_status (UP, DOWN, MAINTENANCE, UNKNOWN or "") for 2.16+ admins
   */
  Map<String, Object> detail(
      InstanceRecord r, Optional<InstanceFault> fault, Optional<String> hostStatus) {
    String status = ServerStatus.of(r.vmState(), r.taskState());
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", r.uuid());
    m.put("name", r.displayName());
    m.put("status", status);
    m.put("tenant_id", r.projectId());
    m.put("user_id", r.userId());
    m.put("metadata", r.metadata());
    m.put("hostId", hostId(r.projectId(), r.host()));
    m.put("image", image(r.imageRef()));
    m.put("flavor", flavor(r.flavor()));
    m.put("created", ComputeTime.iso(r.createdAt()));
    m.put("updated", ComputeTime.iso(r.updatedAt()));
    m.put("addresses", Map.of());
    m.put("accessIPv4", r.accessIpV4().orElse(""));
    m.put("accessIPv6", r.accessIpV6().orElse(""));
    m.put("links", links("servers", r.uuid()));
    m.put("OS-DCF:diskConfig", "MANUAL");
    if (PROGRESS_STATUSES.contains(status)) {
      m.put("progress", r.progress());
    }
    m.put("OS-EXT-AZ:availability_zone", r.availabilityZone().orElse(""));
    m.put("config_drive", r.configDrive() ? "True" : "");
    m.put("key_name", r.keyName().orElse(null));
    m.put("OS-SRV-USG:launched_at", ComputeTime.microsOrNull(r.launchedAt()));
    m.put("OS-SRV-USG:terminated_at", ComputeTime.microsOrNull(r.terminatedAt()));
    if (admin) {
      m.put("OS-EXT-SRV-ATTR:host", r.host().orElse(null));
      m.put("OS-EXT-SRV-ATTR:instance_name", r.domainName());
      m.put("OS-EXT-SRV-ATTR:hypervisor_hostname", r.node().orElse(null));
      if (version.atLeast(2, 3)) {
        m.put("OS-EXT-SRV-ATTR:reservation_id", r.reservationId());
        m.put("OS-EXT-SRV-ATTR:launch_index", r.launchIndex());
        m.put("OS-EXT-SRV-ATTR:hostname", r.hostname());
        m.put("OS-EXT-SRV-ATTR:kernel_id", "");
        m.put("OS-EXT-SRV-ATTR:ramdisk_id", "");
        m.put("OS-EXT-SRV-ATTR:root_device_name", "/dev/vda");
        m.put("OS-EXT-SRV-ATTR:user_data", r.userData().orElse(null));
      }
    }
    m.put("OS-EXT-STS:task_state", r.taskState().map(t -> t.value()).orElse(null));
    m.put("OS-EXT-STS:vm_state", r.vmState().value());
    m.put("OS-EXT-STS:power_state", r.powerState().code());
    m.put("os-extended-volumes:volumes_attached", List.of());
    if (version.atLeast(2, 9)) {
      m.put("locked", r.locked());
    }
    if (version.atLeast(2, 16) && admin) {
      m.put("host_status", hostStatus.orElse(""));
    }
    if (version.atLeast(2, 19)) {
      m.put("description", r.description().orElse(null));
    }
    if (version.atLeast(2, 26)) {
      m.put("tags", r.tags());
    }
    if (version.atLeast(2, 63)) {
      // no image signature verification: never any trusted certificates
      m.put("trusted_image_certificates", null);
    }
    if (version.atLeast(2, 73)) {
      m.put("locked_reason", null);
    }
    if ((status.equals("ERROR") || status.equals("DELETED")) && fault.isPresent()) {
      m.put("fault", fault(fault.get()));
    }
    return m;
  }

  /** The extended attributes (extensions merged into 2.1) that update answers only from 2.75. */
  private static final List<String> EXTENDED_PREFIXES =
      List.of(
          "OS-EXT-AZ:", "OS-SRV-USG:", "OS-EXT-STS:", "OS-EXT-SRV-ATTR:", "os-extended-volumes:");

  private static final Set<String> EXTENDED_KEYS =
      Set.of("config_drive", "key_name", "security_groups", "host_status");

  /** A detail view reduced to the base attributes (Nova's update response before 2.75). */
  static Map<String, Object> baseOnly(Map<String, Object> detail) {
    Map<String, Object> m = new LinkedHashMap<>(detail);
    m.keySet()
        .removeIf(
            k -> EXTENDED_KEYS.contains(k) || EXTENDED_PREFIXES.stream().anyMatch(k::startsWith));
    return m;
  }

  private Map<String, Object> fault(InstanceFault f) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("code", f.code());
    m.put("created", ComputeTime.iso(f.createdAt()));
    m.put("message", f.message());
    if (f.details().isPresent() && (admin || f.code() != 500)) {
      m.put("details", f.details().get());
    }
    return m;
  }

  private Object image(String imageRef) {
    if (imageRef.isEmpty()) {
      return "";
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", imageRef);
    m.put("links", List.of(link("bookmark", base + "/compute/images/" + imageRef)));
    return m;
  }

  private Map<String, Object> flavor(Flavor f) {
    Map<String, Object> m = new LinkedHashMap<>();
    if (version.atLeast(2, 47)) {
      m.put("vcpus", f.vcpus());
      m.put("ram", f.memoryMb());
      m.put("disk", f.rootGb());
      m.put("ephemeral", f.ephemeralGb());
      m.put("swap", f.swapMb());
      m.put("original_name", f.name());
      m.put("extra_specs", f.extraSpecs());
    } else {
      m.put("id", f.id());
      m.put("links", List.of(link("bookmark", base + "/compute/flavors/" + f.id())));
    }
    return m;
  }

  /** sha224 of project id + host, as Nova computes hostId; empty without a host. */
  static String hostId(String projectId, Optional<String> host) {
    if (host.isEmpty()) {
      return "";
    }
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-224");
      return HexFormat.of()
          .formatHex(md.digest((projectId + host.get()).getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
