package io.virga.api;

import static io.virga.api.ComputeRoutes.ROOT;
import static io.virga.api.ComputeRoutes.authed;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.router.JavalinDefaultRouting;
import io.virga.core.InvalidInputException;
import io.virga.core.NotFoundException;
import io.virga.core.NotImplementedException;
import io.virga.db.ComputeNodeRecord;
import io.virga.db.ComputeServiceRecord;
import io.virga.db.InstanceRecord;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Nova's os-hosts (admin, removed at 2.43): compute hosts and their zones, a host's resources
 * ((total), (used_now), (used_max) and per project), enabling or disabling its compute service.
 * Maintenance mode and power actions are 501, as from Nova's libvirt driver.
 */
final class HostRoutes {
  private final ComputeDeps deps;

  HostRoutes(ComputeDeps deps) {
    this.deps = deps;
  }

  void register(JavalinDefaultRouting r) {
    r.get(ROOT + "/os-hosts", authed(this::list));
    r.get(ROOT + "/os-hosts/{host}", authed(this::show));
    r.put(ROOT + "/os-hosts/{host}", authed(this::update));
    for (String action : List.of("reboot", "shutdown", "startup")) {
      r.get(ROOT + "/os-hosts/{host}/" + action, authed(c -> power(c, action)));
    }
  }

  private static void check(ComputeRoutes.Call c, String rule) {
    if (c.version().atLeast(2, 43)) {
      throw new NotFoundException("The resource could not be found.");
    }
    Policy.requireAdmin(c.auth(), "os_compute_api:os-hosts:" + rule);
  }

  private ComputeServiceRecord service(String host) {
    return deps.hosts()
        .service(host)
        .orElseThrow(() -> new NotFoundException("Compute host " + host + " could not be found."));
  }

  private void list(ComputeRoutes.Call c) {
    check(c, "list");
    Optional<String> zone = Optional.ofNullable(c.ctx().queryParam("zone"));
    List<Map<String, Object>> out = new ArrayList<>();
    for (ComputeServiceRecord s : deps.hosts().services()) {
      if (zone.isPresent() && !zone.get().equals(s.availabilityZone())) {
        continue;
      }
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("host_name", s.host());
      m.put("service", "compute");
      m.put("zone", s.availabilityZone());
      out.add(m);
    }
    c.ctx().json(Map.of("hosts", out));
  }

  private static Map<String, Object> resource(
      String host, String project, long cpu, long memoryMb, long diskGb) {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("cpu", cpu);
    r.put("disk_gb", diskGb);
    r.put("host", host);
    r.put("memory_mb", memoryMb);
    r.put("project", project);
    return Map.of("resource", r);
  }

  private void show(ComputeRoutes.Call c) {
    check(c, "show");
    String host = c.path("host");
    service(host);
    ComputeNodeRecord n =
        deps.hosts().nodes().stream()
            .filter(x -> x.host().equals(host))
            .findFirst()
            .orElseThrow(
                () -> new NotFoundException("Compute host " + host + " could not be found."));
    HypervisorRoutes.Allocated used = new HypervisorRoutes(deps).allocated(n);
    List<Map<String, Object>> out = new ArrayList<>();
    out.add(resource(host, "(total)", n.vcpus(), n.memoryMb(), n.localGb()));
    out.add(resource(host, "(used_now)", used.vcpus(), used.memoryMb(), used.localGb()));
    Map<String, long[]> perProject = new TreeMap<>();
    long[] max = new long[3];
    for (InstanceRecord i : deps.instances().onHost(host)) {
      long[] p = perProject.computeIfAbsent(i.projectId(), k -> new long[3]);
      long disk = i.flavor().rootGb() + i.flavor().ephemeralGb();
      for (long[] a : List.of(p, max)) {
        a[0] += i.flavor().vcpus();
        a[1] += i.flavor().memoryMb();
        a[2] += disk;
      }
    }
    out.add(resource(host, "(used_max)", max[0], max[1], max[2]));
    perProject.forEach((p, a) -> out.add(resource(host, p, a[0], a[1], a[2])));
    c.ctx().json(Map.of("host", out));
  }

  private void update(ComputeRoutes.Call c) {
    check(c, "update");
    String host = c.path("host");
    service(host);
    ObjectNode body = ApiJson.object(c.ctx());
    Optional<String> status = ApiJson.optString(body, "status");
    Optional<String> maintenance = ApiJson.optString(body, "maintenance_mode");
    if (status.isEmpty() && maintenance.isEmpty()) {
      throw new InvalidInputException("'status' or 'maintenance_mode' is required");
    }
    for (String k : List.of("status", "maintenance_mode")) {
      ApiJson.optString(body, k)
          .filter(v -> !v.equalsIgnoreCase("enable") && !v.equalsIgnoreCase("disable"))
          .ifPresent(
              v -> {
                throw new InvalidInputException(
                    "Invalid input for field/attribute " + k + ": enable or disable, not " + v);
              });
    }
    if (maintenance.isPresent()) {
      throw new NotImplementedException("Virt driver does not implement host maintenance mode.");
    }
    boolean disable = status.get().equalsIgnoreCase("disable");
    deps.hosts().setDisabled(host, disable, Optional.empty());
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("host", host);
    m.put("status", disable ? "disabled" : "enabled");
    c.ctx().json(m);
  }

  private void power(ComputeRoutes.Call c, String action) {
    check(c, action);
    service(c.path("host"));
    throw new NotImplementedException("Virt driver does not implement host power management.");
  }
}
