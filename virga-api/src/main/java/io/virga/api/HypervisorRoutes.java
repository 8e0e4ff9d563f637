package io.virga.api;

import static io.virga.api.ComputeRoutes.ROOT;
import static io.virga.api.ComputeRoutes.authed;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.router.JavalinDefaultRouting;
import io.virga.core.ConflictException;
import io.virga.core.InvalidInputException;
import io.virga.core.NotFoundException;
import io.virga.db.ComputeNodeRecord;
import io.virga.db.ComputeServiceRecord;
import io.virga.db.HostRepository;
import io.virga.db.InstanceRecord;
import io.virga.db.InstanceRepository;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/** os-hypervisors, os-services and os-availability-zone: what the operator sees of the hosts. */
final class HypervisorRoutes {
  private final ComputeDeps deps;

  HypervisorRoutes(ComputeDeps deps) {
    this.deps = deps;
  }

  void register(JavalinDefaultRouting r) {
    r.get(ROOT + "/os-hypervisors", authed(c -> hypervisors(c, false)));
    r.get(ROOT + "/os-hypervisors/detail", authed(c -> hypervisors(c, true)));
    r.get(ROOT + "/os-hypervisors/statistics", authed(this::statistics));
    r.get(ROOT + "/os-hypervisors/{id}", authed(this::hypervisor));
    r.get(ROOT + "/os-hypervisors/{id}/uptime", authed(this::uptime));
    r.get(ROOT + "/os-aggregates", authed(this::aggregates));
    r.get(ROOT + "/os-hypervisors/{pattern}/search", authed(c -> search(c, false)));
    r.get(ROOT + "/os-hypervisors/{pattern}/servers", authed(c -> search(c, true)));
    r.get(ROOT + "/os-services", authed(this::services));
    r.put(ROOT + "/os-services/{id}", authed(this::updateService));
    r.delete(ROOT + "/os-services/{id}", authed(this::deleteService));
    r.get(ROOT + "/os-availability-zone", authed(c -> zones(c, false)));
    r.get(ROOT + "/os-availability-zone/detail", authed(c -> zones(c, true)));
  }

  private boolean up(ComputeServiceRecord s) {
    return s.isUp(Instant.now(), deps.options().serviceDownTimeSeconds());
  }

  private Map<String, ComputeServiceRecord> servicesByHost() {
    Map<String, ComputeServiceRecord> m = new LinkedHashMap<>();
    for (ComputeServiceRecord s : deps.hosts().services()) {
      m.put(s.host(), s);
    }
    return m;
  }

  private Map<String, Object> hypervisor(
      ComputeRoutes.Call c, ComputeNodeRecord n, ComputeServiceRecord s, boolean detail) {
    boolean uuids = c.version().atLeast(2, 53);
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", uuids ? n.uuid() : n.id());
    m.put("hypervisor_hostname", n.hypervisorHostname());
    m.put("state", s != null && up(s) ? "up" : "down");
    m.put("status", s != null && s.disabled() ? "disabled" : "enabled");
    if (!detail) {
      return m;
    }
    Allocated a = allocated(n);
    m.put("vcpus", n.vcpus());
    m.put("memory_mb", n.memoryMb());
    m.put("local_gb", n.localGb());
    m.put("vcpus_used", a.vcpus());
    m.put("memory_mb_used", a.memoryMb());
    m.put("local_gb_used", a.localGb());
    m.put("hypervisor_type", n.hypervisorType());
    m.put("hypervisor_version", n.hypervisorVersion());
    m.put("free_ram_mb", n.memoryMb() - a.memoryMb());
    m.put("free_disk_gb", n.localGb() - a.localGb());
    m.put("current_workload", workload(n.host()));
    m.put("running_vms", a.instances());
    m.put("cpu_info", c.version().atLeast(2, 28) ? cpuInfo(n.cpuInfoJson()) : n.cpuInfoJson());
    m.put("disk_available_least", n.diskAvailableLeastGb());
    m.put("host_ip", n.hostIp());
    Map<String, Object> svc = new LinkedHashMap<>();
    svc.put("host", n.host());
    svc.put("id", s == null ? null : uuids ? s.uuid() : s.id());
    svc.put("disabled_reason", s == null ? null : s.disabledReason().orElse(null));
    m.put("service", svc);
    return m;
  }

  /** What Nova's resource tracker reports as used: the reservations plus the instances' flavors. */
  record Allocated(int instances, long vcpus, long memoryMb, long localGb) {}

  Allocated allocated(ComputeNodeRecord n) {
    InstanceRepository.Usage u = deps.hosts().usage(n.host());
    SchedulerOptions o = deps.options();
    return new Allocated(
        u.instances(),
        u.cores(),
        o.reservedHostMemoryMb() + u.ramMb(),
        o.reservedHostDiskMb() / 1024 + u.diskGb());
  }

  private int workload(String host) {
    int n = 0;
    for (InstanceRecord r : deps.instances().onHost(host)) {
      if (r.taskState().isPresent()) {
        n++;
      }
    }
    return n;
  }

  private static Object cpuInfo(String json) {
    try {
      return ApiJson.MAPPER.readTree(json);
    } catch (JsonProcessingException e) {
      return Map.of();
    }
  }

  private void hypervisors(ComputeRoutes.Call c, boolean detail) {
    Policy.requireAdmin(c.auth(), "os_compute_api:os-hypervisors:list");
    Map<String, ComputeServiceRecord> svcs = servicesByHost();
    Optional<String> pattern =
        c.version().atLeast(2, 53)
            ? Optional.ofNullable(c.ctx().queryParam("hypervisor_hostname_pattern"))
            : Optional.empty();
    boolean withServers =
        c.version().atLeast(2, 53)
            && ServerRoutes.truthy(c.ctx().queryParam("with_servers"))
            && c.ctx().queryParam("with_servers") != null;
    List<ComputeNodeRecord> nodes = deps.hosts().nodes();
    if (c.version().atLeast(2, 33)) {
      nodes =
          ComputePaging.page(
              c.ctx(), nodes, n -> m -> m.equals(n.uuid()) || m.equals(Long.toString(n.id())));
    }
    List<Map<String, Object>> out = new ArrayList<>();
    for (ComputeNodeRecord n : nodes) {
      if (pattern.isPresent() && !n.hypervisorHostname().contains(pattern.get())) {
        continue;
      }
      Map<String, Object> m = hypervisor(c, n, svcs.get(n.host()), detail);
      if (withServers) {
        m.put("servers", servers(n.host()));
      }
      out.add(m);
    }
    if (pattern.isPresent() && out.isEmpty()) {
      throw new NotFoundException("Hypervisor " + pattern.get() + " could not be found.");
    }
    c.ctx().json(Map.of("hypervisors", out));
  }

  private List<Map<String, Object>> servers(String host) {
    List<Map<String, Object>> l = new ArrayList<>();
    for (InstanceRecord r : deps.instances().onHost(host)) {
      l.add(Map.of("uuid", r.uuid(), "name", r.domainName()));
    }
    return l;
  }

  private ComputeNodeRecord node(ComputeRoutes.Call c, String id) {
    for (ComputeNodeRecord n : deps.hosts().nodes()) {
      if (c.version().atLeast(2, 53) ? n.uuid().equals(id) : Long.toString(n.id()).equals(id)) {
        return n;
      }
    }
    throw new NotFoundException("Hypervisor " + id + " could not be found.");
  }

  private void hypervisor(ComputeRoutes.Call c) {
    Policy.requireAdmin(c.auth(), "os_compute_api:os-hypervisors:show");
    ComputeNodeRecord n = node(c, c.path("id"));
    Map<String, Object> m = hypervisor(c, n, servicesByHost().get(n.host()), true);
    if (c.version().atLeast(2, 53)
        && ServerRoutes.truthy(c.ctx().queryParam("with_servers"))
        && c.ctx().queryParam("with_servers") != null) {
      m.put("servers", servers(n.host()));
    }
    c.ctx().json(Map.of("hypervisor", m));
  }

  /** The host's uptime line, asked of its agent (Nova's get_host_uptime); 409 when it is down. */
  private void uptime(ComputeRoutes.Call c) {
    Policy.requireAdmin(c.auth(), "os_compute_api:os-hypervisors:uptime");
    ComputeNodeRecord n = node(c, c.path("id"));
    ComputeServiceRecord s = servicesByHost().get(n.host());
    if (s == null || !up(s)) {
      throw new ConflictException(
          "Compute service of " + n.host() + " is unavailable at this time.");
    }
    Map<String, Object> m = hypervisor(c, n, s, false);
    m.put("uptime", deps.agents().forHost(n.host()).getHostUptime());
    c.ctx().json(Map.of("hypervisor", m));
  }

  /** Virga has no host aggregates; the list is empty (clients such as hypervisor show ask). */
  private void aggregates(ComputeRoutes.Call c) {
    Policy.requireAdmin(c.auth(), "os_compute_api:os-aggregates:index");
    c.ctx().json(Map.of("aggregates", List.of()));
  }

  private void search(ComputeRoutes.Call c, boolean withServers) {
    Policy.requireAdmin(c.auth(), "os_compute_api:os-hypervisors:search");
    if (c.version().atLeast(2, 53)) {
      throw new NotFoundException(
          "This API is replaced by the hypervisor_hostname_pattern query at 2.53");
    }
    String pattern = c.path("pattern");
    Map<String, ComputeServiceRecord> svcs = servicesByHost();
    List<Map<String, Object>> out = new ArrayList<>();
    for (ComputeNodeRecord n : deps.hosts().nodes()) {
      if (n.hypervisorHostname().contains(pattern)) {
        Map<String, Object> m = hypervisor(c, n, svcs.get(n.host()), false);
        if (withServers) {
          m.put("servers", servers(n.host()));
        }
        out.add(m);
      }
    }
    if (out.isEmpty()) {
      throw new NotFoundException("No hypervisor matching '" + pattern + "' could be found.");
    }
    c.ctx().json(Map.of("hypervisors", out));
  }

  private void statistics(ComputeRoutes.Call c) {
    Policy.requireAdmin(c.auth(), "os_compute_api:os-hypervisors:statistics");
    long count = 0;
    long vcpus = 0;
    long mem = 0;
    long disk = 0;
    long vcpusUsed = 0;
    long memUsed = 0;
    long diskUsed = 0;
    long workload = 0;
    long running = 0;
    long least = 0;
    for (ComputeNodeRecord n : deps.hosts().nodes()) {
      Allocated a = allocated(n);
      count++;
      vcpus += n.vcpus();
      mem += n.memoryMb();
      disk += n.localGb();
      vcpusUsed += a.vcpus();
      memUsed += a.memoryMb();
      diskUsed += a.localGb();
      workload += workload(n.host());
      running += a.instances();
      least += n.diskAvailableLeastGb();
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("count", count);
    m.put("vcpus", vcpus);
    m.put("memory_mb", mem);
    m.put("local_gb", disk);
    m.put("vcpus_used", vcpusUsed);
    m.put("memory_mb_used", memUsed);
    m.put("local_gb_used", diskUsed);
    m.put("free_ram_mb", mem - memUsed);
    m.put("free_disk_gb", disk - diskUsed);
    m.put("current_workload", workload);
    m.put("running_vms", running);
    m.put("disk_available_least", least);
    c.ctx().json(Map.of("hypervisor_statistics", m));
  }

  private Map<String, Object> service(ComputeRoutes.Call c, ComputeServiceRecord s) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", c.version().atLeast(2, 53) ? s.uuid() : s.id());
    m.put("binary", s.binary());
    m.put("disabled_reason", s.disabledReason().orElse(null));
    m.put("host", s.host());
    m.put("state", up(s) ? "up" : "down");
    m.put("status", s.disabled() ? "disabled" : "enabled");
    m.put("updated_at", s.lastSeenUp().map(ComputeTime::micros).orElse(null));
    m.put("zone", s.availabilityZone());
    if (c.version().atLeast(2, 11)) {
      m.put("forced_down", s.forcedDown());
    }
    return m;
  }

  private void services(ComputeRoutes.Call c) {
    Policy.requireAdmin(c.auth(), "os_compute_api:os-services:list");
    String host = c.ctx().queryParam("host");
    String binary = c.ctx().queryParam("binary");
    List<Map<String, Object>> out = new ArrayList<>();
    for (ComputeServiceRecord s : deps.hosts().services()) {
      if ((host == null || host.equals(s.host()))
          && (binary == null || binary.equals(s.binary()))) {
        out.add(service(c, s));
      }
    }
    c.ctx().json(Map.of("services", out));
  }

  private void updateService(ComputeRoutes.Call c) {
    Policy.requireAdmin(c.auth(), "os_compute_api:os-services:update");
    String id = c.path("id");
    ObjectNode body = ApiJson.object(c.ctx());
    if (c.version().atLeast(2, 53)) {
      ComputeServiceRecord s = serviceById(c, id);
      Optional<String> status = ApiJson.optString(body, "status");
      Optional<String> reason = ApiJson.optString(body, "disabled_reason");
      Optional<Boolean> forced = NovaParams.looseBoolean(body, "forced_down");
      if (status.isEmpty() && forced.isEmpty()) {
        throw new InvalidInputException("Either 'status' or 'forced_down' must be specified.");
      }
      if (reason.isPresent() && !status.equals(Optional.of("disabled"))) {
        throw new InvalidInputException(
            "Specifying 'disabled_reason' with status other than 'disabled' is invalid.");
      }
      if (status.isPresent()) {
        if (!status.get().equals("enabled") && !status.get().equals("disabled")) {
          throw new InvalidInputException("status must be 'enabled' or 'disabled'");
        }
        s = deps.hosts().setDisabled(s.host(), status.get().equals("disabled"), reason);
      }
      if (forced.isPresent()) {
        s = deps.hosts().setForcedDown(s.host(), forced.get());
      }
      c.ctx().json(Map.of("service", service(c, s)));
      return;
    }
    String host = ApiJson.requireString(body, "host");
    String binary = ApiJson.requireString(body, "binary");
    if (!binary.equals(HostRepository.COMPUTE_BINARY)) {
      throw new NotFoundException(
          "Service " + binary + " on host " + host + " could not be found.");
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("host", host);
    out.put("binary", binary);
    switch (id) {
      case "enable" -> {
        deps.hosts().setDisabled(host, false, Optional.empty());
        out.put("status", "enabled");
      }
      case "disable" -> {
        deps.hosts().setDisabled(host, true, Optional.empty());
        out.put("status", "disabled");
      }
      case "disable-log-reason" -> {
        String reason = ApiJson.requireString(body, "disabled_reason");
        deps.hosts().setDisabled(host, true, Optional.of(reason));
        out.put("status", "disabled");
        out.put("disabled_reason", reason);
      }
      case "force-down" -> {
        if (!c.version().atLeast(2, 11)) {
          throw new NotFoundException("force-down needs microversion 2.11 or later");
        }
        boolean forced =
            NovaParams.looseBoolean(body, "forced_down")
                .orElseThrow(
                    () -> new InvalidInputException("'forced_down' is a required property"));
        deps.hosts().setForcedDown(host, forced);
        out.put("forced_down", forced);
      }
      default -> throw new NotFoundException("Unknown action " + id);
    }
    c.ctx().json(Map.of("service", out));
  }

  private ComputeServiceRecord serviceById(ComputeRoutes.Call c, String id) {
    for (ComputeServiceRecord s : deps.hosts().services()) {
      if (c.version().atLeast(2, 53) ? s.uuid().equals(id) : Long.toString(s.id()).equals(id)) {
        return s;
      }
    }
    throw new NotFoundException("Service " + id + " could not be found.");
  }

  private void deleteService(ComputeRoutes.Call c) {
    Policy.requireAdmin(c.auth(), "os_compute_api:os-services:delete");
    ComputeServiceRecord s = serviceById(c, c.path("id"));
    if (!deps.instances().onHost(s.host()).isEmpty()) {
      throw new ConflictException(
          "Unable to delete compute service that is hosting instances. Migrate or delete the"
              + " instances first.");
    }
    deps.hosts().deleteService(s.host());
    c.ctx().status(204);
  }

  private void zones(ComputeRoutes.Call c, boolean detail) {
    if (detail) {
      Policy.requireAdmin(c.auth(), "os_compute_api:os-availability-zone:detail");
    }
    Map<String, Map<String, Object>> zones = new TreeMap<>();
    Map<String, Boolean> available = new TreeMap<>();
    for (ComputeServiceRecord s : deps.hosts().services()) {
      boolean ok = !s.disabled() && up(s);
      available.merge(s.availabilityZone(), ok, Boolean::logicalOr);
      Map<String, Object> hosts = zones.computeIfAbsent(s.availabilityZone(), z -> new TreeMap<>());
      Map<String, Object> state = new LinkedHashMap<>();
      state.put("available", !s.disabled());
      state.put("active", up(s));
      state.put("updated_at", s.lastSeenUp().map(ComputeTime::micros).orElse(null));
      hosts.put(s.host(), Map.of(s.binary(), state));
    }
    List<Map<String, Object>> out = new ArrayList<>();
    for (Map.Entry<String, Map<String, Object>> z : zones.entrySet()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("zoneName", z.getKey());
      m.put("zoneState", Map.of("available", available.get(z.getKey())));
      m.put("hosts", detail ? z.getValue() : null);
      out.add(m);
    }
    c.ctx().json(Map.of("availabilityZoneInfo", out));
  }
}
