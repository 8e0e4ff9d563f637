package io.virga.api;

import static io.virga.api.ComputeRoutes.ROOT;
import static io.virga.api.ComputeRoutes.authed;

import io.javalin.router.JavalinDefaultRouting;
import io.virga.core.InvalidInputException;
import io.virga.db.ComputeServiceRecord;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Nova's os-instance_usage_audit_log (admin): the state of the monthly instance usage audit for the
 * last completed period (or the one before a timestamp). Virga's agents do not run that audit
 * (Nova's {@code instance_usage_audit} option, off by default), so, as in Nova with the option off,
 * every compute host is listed as not run and no instances are counted.
 */
final class UsageAuditRoutes {
  private static final DateTimeFormatter NOVA = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");
  private static final List<DateTimeFormatter> TIMESTAMPS =
      List.of(
          DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss"),
          DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS"));
  private static final String PATH = ROOT + "/os-instance_usage_audit_log";

  private final ComputeDeps deps;

  UsageAuditRoutes(ComputeDeps deps) {
    this.deps = deps;
  }

  void register(JavalinDefaultRouting r) {
    r.get(
        PATH,
        authed(c -> respond(c, "instance_usage_audit_logs", LocalDateTime.now(ZoneOffset.UTC))));
    r.get(
        PATH + "/{before}",
        authed(c -> respond(c, "instance_usage_audit_log", parse(c.path("before")))));
  }

  static LocalDateTime parse(String v) {
    for (DateTimeFormatter f : TIMESTAMPS) {
      try {
        return LocalDateTime.parse(v, f);
      } catch (DateTimeParseException e) {
        // next format
      }
    }
    throw new InvalidInputException(
        "Invalid timestamp for date " + v + ": use %Y-%m-%d %H:%M:%S[.%f]");
  }

  /** The last whole month ending at or before {@code before} (Nova's default audit period). */
  static LocalDateTime[] period(LocalDateTime before) {
    LocalDateTime end = before.withDayOfMonth(1).truncatedTo(ChronoUnit.DAYS);
    return new LocalDateTime[] {end.minusMonths(1), end};
  }

  private void respond(ComputeRoutes.Call c, String key, LocalDateTime before) {
    Policy.requireAdmin(c.auth(), "os_compute_api:os-instance-usage-audit-log:list");
    LocalDateTime[] p = period(before);
    List<String> hosts = deps.hosts().services().stream().map(ComputeServiceRecord::host).toList();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("hosts_not_run", hosts);
    m.put("log", Map.of());
    m.put("num_hosts", hosts.size());
    m.put("num_hosts_done", 0);
    m.put("num_hosts_not_run", hosts.size());
    m.put("num_hosts_running", 0);
    m.put("overall_status", "0 of " + hosts.size() + " hosts done. 0 errors.");
    m.put("period_beginning", NOVA.format(p[0]));
    m.put("period_ending", NOVA.format(p[1]));
    m.put("total_errors", 0);
    m.put("total_instances", 0);
    c.ctx().json(Map.of(key, m));
  }
}
