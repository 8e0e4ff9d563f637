package io.virga.api;

import static io.virga.api.ComputeRoutes.ROOT;
import static io.virga.api.ComputeRoutes.authed;

import io.javalin.router.JavalinDefaultRouting;
import io.virga.core.ConflictException;
import io.virga.core.InstanceDiagnostics;
import io.virga.db.InstanceRecord;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code GET /servers/{id}/diagnostics} (admin): asked of the server's host. Below 2.48 the libvirt
 * driver's own keys ({@code cpu0_time}, {@code memory}, {@code vda_read}, …); from 2.48 Nova's
 * standard form. A server on no host is 409, as in Nova.
 */
final class ServerDiagnosticsRoutes {
  private final ComputeDeps deps;
  private final ServerOperations ops;

  ServerDiagnosticsRoutes(ComputeDeps deps, ServerOperations ops) {
    this.deps = deps;
    this.ops = ops;
  }

  void register(JavalinDefaultRouting r) {
    r.get(ROOT + "/servers/{id}/diagnostics", authed(this::show));
  }

  private void show(ComputeRoutes.Call c) {
    Policy.requireAdmin(c.auth(), "os_compute_api:os-server-diagnostics");
    InstanceRecord r = ops.visible(c.auth(), c.path("id"));
    if (r.host().isEmpty()) {
      throw new ConflictException(
          "Cannot 'get_diagnostics' instance " + r.uuid() + " while it is on no host");
    }
    InstanceDiagnostics d = deps.agents().forHost(r.host().get()).getInstanceDiagnostics(r.uuid());
    c.ctx().json(c.version().atLeast(2, 48) ? standard(r, d) : legacy(d));
  }

  /** The libvirt driver's pre-2.48 keys. */
  static Map<String, Object> legacy(InstanceDiagnostics d) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (InstanceDiagnostics.Cpu cpu : d.cpus()) {
      m.put("cpu" + cpu.id() + "_time", cpu.timeNs());
    }
    m.put("memory", d.memoryMaxKib());
    d.memoryStats().forEach((k, v) -> m.put("memory-" + k, v));
    for (InstanceDiagnostics.Disk disk : d.disks()) {
      m.put(disk.device() + "_read", disk.readBytes());
      m.put(disk.device() + "_read_req", disk.readRequests());
      m.put(disk.device() + "_write", disk.writeBytes());
      m.put(disk.device() + "_write_req", disk.writeRequests());
      m.put(disk.device() + "_errors", disk.errors());
    }
    return m;
  }

  /** Nova's standard diagnostics (2.48); uptime counts from the server's launch. */
  static Map<String, Object> standard(InstanceRecord r, InstanceDiagnostics d) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("config_drive", d.configDrive());
    List<Map<String, Object>> cpus = new ArrayList<>();
    for (InstanceDiagnostics.Cpu cpu : d.cpus()) {
      Map<String, Object> x = new LinkedHashMap<>();
      x.put("id", cpu.id());
      x.put("time", cpu.timeNs());
      x.put("utilisation", null);
      cpus.add(x);
    }
    m.put("cpu_details", cpus);
    List<Map<String, Object>> disks = new ArrayList<>();
    for (InstanceDiagnostics.Disk disk : d.disks()) {
      Map<String, Object> x = new LinkedHashMap<>();
      x.put("errors_count", disk.errors());
      x.put("read_bytes", disk.readBytes());
      x.put("read_requests", disk.readRequests());
      x.put("write_bytes", disk.writeBytes());
      x.put("write_requests", disk.writeRequests());
      disks.add(x);
    }
    m.put("disk_details", disks);
    m.put("driver", d.driver());
    m.put("hypervisor", d.hypervisor());
    m.put("hypervisor_os", "linux");
    m.put(
        "memory_details",
        Map.of("maximum", d.memoryMaxKib() / 1024, "used", d.memoryUsedKib() / 1024));
    m.put("nic_details", List.of());
    m.put("num_cpus", d.cpus().size());
    m.put("num_disks", d.disks().size());
    m.put("num_nics", 0);
    m.put("state", d.state());
    m.put(
        "uptime",
        r.launchedAt().map(t -> Duration.between(t, Instant.now()).toSeconds()).orElse(null));
    return m;
  }
}
