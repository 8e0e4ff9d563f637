package io.virga.api;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.router.JavalinDefaultRouting;
import io.virga.core.ForbiddenException;
import io.virga.core.InvalidInputException;
import io.virga.db.InstanceRecord;
import io.virga.db.UsageRepository;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Nova's os-simple-tenant-usage: per project, the hours its instances ran during a period and the
 * vCPU, RAM (MB) and disk (GB) hours that makes, from the instances' launched and terminated times
 * (deleted instances included). Listing every project is the admin's; a project reader shows its
 * own. From 2.40 both page over instances ({@code limit}, {@code marker}).
 */
final class UsageRoutes {
  private static final String PATH = ComputeRoutes.ROOT + "/os-simple-tenant-usage";
  private static final List<DateTimeFormatter> FORMATS =
      List.of(
          DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss"),
          DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSS"),
          DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS"));

  private final UsageRepository usage;

  UsageRoutes(UsageRepository usage) {
    this.usage = usage;
  }

  void register(JavalinDefaultRouting r) {
    r.get(PATH, ComputeRoutes.authed(this::list));
    r.get(PATH + "/{tenant}", ComputeRoutes.authed(this::show));
  }

  record Period(Instant start, Instant stop) {}

  /** Nova's three accepted formats; absent means now; start after end is 400. */
  static Period period(Optional<String> start, Optional<String> end, Instant now) {
    Instant s = start.map(v -> parse(v, "start")).orElse(now);
    Instant e = end.map(v -> parse(v, "end")).orElse(now);
    if (s.isAfter(e)) {
      throw new InvalidInputException(
          "Invalid start time. The start time cannot occur after the end time.");
    }
    return new Period(s, e);
  }

  private static Instant parse(String v, String field) {
    for (DateTimeFormatter f : FORMATS) {
      try {
        return LocalDateTime.parse(v, f).toInstant(ZoneOffset.UTC);
      } catch (DateTimeParseException e) {
        // try the next format
      }
    }
    throw new InvalidInputException(
        "Invalid " + field + " time '" + v + "': use %Y-%m-%dT%H:%M:%S[.%f] (UTC)");
  }

  /** Hours of the instance within the period (Nova's {@code _hours_for}). */
  static double hours(InstanceRecord i, Period p) {
    Instant launched = i.launchedAt().orElse(null);
    Optional<Instant> terminated = i.terminatedAt();
    if (launched == null
        || launched.isAfter(p.stop())
        || terminated.map(t -> t.isBefore(p.start())).orElse(false)) {
      return 0;
    }
    Instant from = launched.isAfter(p.start()) ? launched : p.start();
    Instant to = terminated.filter(t -> t.isBefore(p.stop())).orElse(p.stop());
    return Duration.between(from, to).toNanos() / 3.6e12;
  }

  private Period period(ComputeRoutes.Call c) {
    return period(
        Optional.ofNullable(c.ctx().queryParam("start")),
        Optional.ofNullable(c.ctx().queryParam("end")),
        Instant.now());
  }

  private List<InstanceRecord> instances(ComputeRoutes.Call c, Optional<String> project, Period p) {
    boolean paged = c.version().atLeast(2, 40);
    Optional<String> marker =
        paged ? Optional.ofNullable(c.ctx().queryParam("marker")) : Optional.empty();
    marker.ifPresent(
        m -> {
          if (!usage.exists(m)) {
            throw new InvalidInputException("marker [" + m + "] not found");
          }
        });
    int limit =
        paged
            ? Optional.ofNullable(c.ctx().queryParam("limit"))
                .map(ComputePaging::limit)
                .orElse(1000)
            : 0;
    return usage.activeInWindow(
        project, p.start().toEpochMilli(), p.stop().toEpochMilli(), marker, limit);
  }

  private void list(ComputeRoutes.Call c) {
    Policy.requireAdmin(c.auth(), "os_compute_api:os-simple-tenant-usage:list");
    boolean detailed = "1".equals(c.ctx().queryParam("detailed"));
    Period p = period(c);
    List<InstanceRecord> rows = instances(c, Optional.empty(), p);
    Map<String, ObjectNode> byTenant = new LinkedHashMap<>();
    Instant now = Instant.now();
    for (InstanceRecord i : rows) {
      ObjectNode t = byTenant.computeIfAbsent(i.projectId(), id -> tenant(id, p));
      add(t, i, p, now, detailed);
    }
    ObjectNode root = ApiJson.MAPPER.createObjectNode();
    ArrayNode arr = root.putArray("tenant_usages");
    byTenant.values().forEach(arr::add);
    links(c, root, "tenant_usages_links", rows);
    c.ctx().json(root);
  }

  private void show(ComputeRoutes.Call c) {
    String tenant = c.path("tenant");
    if (!Policy.mayAccess(c.auth(), tenant)) {
      throw new ForbiddenException(
          "Policy doesn't allow os_compute_api:os-simple-tenant-usage:show to be performed.");
    }
    Period p = period(c);
    List<InstanceRecord> rows = instances(c, Optional.of(tenant), p);
    ObjectNode root = ApiJson.MAPPER.createObjectNode();
    ObjectNode t = root.putObject("tenant_usage");
    if (!rows.isEmpty()) {
      t.setAll(tenant(tenant, p));
      Instant now = Instant.now();
      rows.forEach(i -> add(t, i, p, now, true));
    }
    links(c, root, "tenant_usage_links", rows);
    c.ctx().json(root);
  }

  private static ObjectNode tenant(String id, Period p) {
    ObjectNode t = ApiJson.MAPPER.createObjectNode();
    t.put("tenant_id", id);
    t.put("total_local_gb_usage", 0.0);
    t.put("total_vcpus_usage", 0.0);
    t.put("total_memory_mb_usage", 0.0);
    t.put("total_hours", 0.0);
    t.put("start", ComputeTime.micros(p.start()));
    t.put("stop", ComputeTime.micros(p.stop()));
    return t;
  }

  private static void add(ObjectNode t, InstanceRecord i, Period p, Instant now, boolean detailed) {
    double h = hours(i, p);
    int localGb = i.flavor().rootGb() + i.flavor().ephemeralGb();
    t.put("total_hours", t.get("total_hours").asDouble() + h);
    t.put("total_local_gb_usage", t.get("total_local_gb_usage").asDouble() + h * localGb);
    t.put("total_vcpus_usage", t.get("total_vcpus_usage").asDouble() + h * i.flavor().vcpus());
    t.put(
        "total_memory_mb_usage",
        t.get("total_memory_mb_usage").asDouble() + h * i.flavor().memoryMb());
    if (!detailed) {
      return;
    }
    ArrayNode servers =
        t.has("server_usages") ? (ArrayNode) t.get("server_usages") : t.putArray("server_usages");
    ObjectNode s = servers.addObject();
    s.put("instance_id", i.uuid());
    s.put("name", i.displayName());
    s.put("hours", h);
    s.put("memory_mb", i.flavor().memoryMb());
    s.put("local_gb", localGb);
    s.put("vcpus", i.flavor().vcpus());
    s.put("tenant_id", i.projectId());
    s.put("flavor", i.flavor().name());
    Instant started = i.launchedAt().orElseThrow();
    s.put("started_at", ComputeTime.micros(started));
    s.put("ended_at", ComputeTime.microsOrNull(i.terminatedAt()));
    s.put("state", i.terminatedAt().isPresent() ? "terminated" : i.vmState().value());
    s.put("uptime", Duration.between(started, i.terminatedAt().orElse(now)).toSeconds());
  }

  /** From 2.40, a next link when the page was full (Nova's behaviour). */
  private static void links(
      ComputeRoutes.Call c, ObjectNode root, String key, List<InstanceRecord> rows) {
    if (!c.version().atLeast(2, 40) || rows.isEmpty()) {
      return;
    }
    int limit =
        Optional.ofNullable(c.ctx().queryParam("limit")).map(ComputePaging::limit).orElse(1000);
    if (rows.size() < limit) {
      return;
    }
    StringBuilder href = new StringBuilder(c.base() + c.ctx().path() + "?");
    c.ctx()
        .queryParamMap()
        .forEach(
            (k, vs) -> {
              if (!k.equals("marker")) {
                vs.forEach(
                    v ->
                        href.append(k)
                            .append('=')
                            .append(
                                java.net.URLEncoder.encode(
                                    v, java.nio.charset.StandardCharsets.UTF_8))
                            .append('&'));
              }
            });
    href.append("marker=").append(rows.get(rows.size() - 1).uuid());
    root.putArray(key).addObject().put("href", href.toString()).put("rel", "next");
  }
}
