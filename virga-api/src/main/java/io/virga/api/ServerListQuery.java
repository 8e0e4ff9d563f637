package io.virga.api;

import io.javalin.http.Context;
import io.virga.core.InvalidInputException;
import io.virga.db.InstanceRecord;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.temporal.TemporalAccessor;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * The time and sort parameters of {@code GET /servers[/detail]} as Nova's query schema takes them:
 * {@code changes-since} (and {@code changes-before} from 2.66) are ISO 8601 date-times, {@code
 * sort_key} one of Nova's server columns (some of which Nova accepts and ignores), {@code sort_dir}
 * asc or desc; anything else is 400.
 */
record ServerListQuery(
    Optional<Instant> changesSince,
    Optional<Instant> changesBefore,
    Optional<Comparator<InstanceRecord>> order,
    Map<String, Set<String>> tagFilters) {

  /** Keys Nova sorts by, with the value Virga keeps for each (empty where it keeps none). */
  private static final Map<String, Function<InstanceRecord, Comparable<?>>> SORTABLE =
      Map.ofEntries(
          Map.entry("access_ip_v4", r -> r.accessIpV4().orElse("")),
          Map.entry("access_ip_v6", r -> r.accessIpV6().orElse("")),
          Map.entry("auto_disk_config", r -> ""),
          Map.entry("availability_zone", r -> r.availabilityZone().orElse("")),
          Map.entry("config_drive", r -> r.configDrive()),
          Map.entry("created_at", InstanceRecord::createdAt),
          Map.entry("display_description", r -> r.description().orElse("")),
          Map.entry("display_name", InstanceRecord::displayName),
          Map.entry("host", r -> r.host().orElse("")),
          Map.entry("hostname", InstanceRecord::hostname),
          Map.entry("image_ref", InstanceRecord::imageRef),
          Map.entry("instance_type_id", r -> r.flavor().id()),
          Map.entry("kernel_id", r -> ""),
          Map.entry("key_name", r -> r.keyName().orElse("")),
          Map.entry("launch_index", InstanceRecord::launchIndex),
          Map.entry("launched_at", r -> r.launchedAt().orElse(Instant.EPOCH)),
          Map.entry("locked_by", r -> ""),
          Map.entry("node", r -> r.node().orElse("")),
          Map.entry("power_state", r -> r.powerState().code()),
          Map.entry("progress", InstanceRecord::progress),
          Map.entry("project_id", InstanceRecord::projectId),
          Map.entry("ramdisk_id", r -> ""),
          Map.entry("root_device_name", r -> ""),
          Map.entry("task_state", r -> r.taskState().map(t -> t.value()).orElse("")),
          Map.entry("terminated_at", r -> r.terminatedAt().orElse(Instant.EPOCH)),
          Map.entry("updated_at", InstanceRecord::updatedAt),
          Map.entry("user_id", InstanceRecord::userId),
          Map.entry("uuid", InstanceRecord::uuid),
          Map.entry("vm_state", r -> r.vmState().value()));

  /** Keys Nova's schema accepts but drops from the sort (SERVER_LIST_IGNORE_SORT_KEY). */
  private static final Set<String> IGNORED =
      Set.of(
          "architecture",
          "cell_name",
          "cleaned",
          "default_ephemeral_device",
          "default_swap_device",
          "deleted",
          "deleted_at",
          "disable_terminate",
          "ephemeral_gb",
          "ephemeral_key_uuid",
          "id",
          "key_data",
          "launched_on",
          "locked",
          "memory_mb",
          "os_type",
          "reservation_id",
          "root_gb",
          "shutdown_terminate",
          "user_data",
          "vcpus",
          "vm_mode");

  static ServerListQuery parse(Context ctx, Microversion v) {
    Optional<Instant> since = time(ctx, "changes-since");
    Optional<Instant> before = v.atLeast(2, 66) ? time(ctx, "changes-before") : Optional.empty();
    if (since.isPresent() && before.isPresent() && since.get().isAfter(before.get())) {
      throw new InvalidInputException(
          "The value of changes-since must be less than or equal to changes-before.");
    }
    List<String> keys = ctx.queryParams("sort_key");
    List<String> dirs = ctx.queryParams("sort_dir");
    for (String d : dirs) {
      if (!d.equals("asc") && !d.equals("desc")) {
        throw new InvalidInputException(
            "Invalid input for query parameters sort_dir. Value: "
                + d
                + ". '"
                + d
                + "' is not one of ['asc', 'desc']");
      }
    }
    Comparator<InstanceRecord> order = null;
    List<String> used = new ArrayList<>();
    for (int i = 0; i < keys.size(); i++) {
      String k = keys.get(i);
      if (!SORTABLE.containsKey(k) && !IGNORED.contains(k)) {
        throw new InvalidInputException(
            "Invalid input for query parameters sort_key. Value: "
                + k
                + ". '"
                + k
                + "' is not a valid sort key");
      }
      if (IGNORED.contains(k)) {
        continue;
      }
      boolean desc = (i < dirs.size() ? dirs.get(i) : "desc").equals("desc");
      Comparator<InstanceRecord> c = comparator(SORTABLE.get(k));
      c = desc ? c.reversed() : c;
      order = order == null ? c : order.thenComparing(c);
      used.add(k);
    }
    Map<String, Set<String>> tagFilters = new java.util.HashMap<>();
    if (v.atLeast(2, 26)) {
      for (String k : List.of("tags", "tags-any", "not-tags", "not-tags-any")) {
        String q = ctx.queryParam(k);
        if (q != null) {
          tagFilters.put(k, new java.util.LinkedHashSet<>(List.of(q.split(","))));
        }
      }
    }
    return new ServerListQuery(since, before, Optional.ofNullable(order), tagFilters);
  }

  /**
   * Nova's tag filters: all of tags, any of tags-any, not all of not-tags, none of not-tags-any.
   */
  private boolean tagsMatch(InstanceRecord r) {
    List<String> t = r.tags();
    return tagFilters.getOrDefault("tags", Set.of()).stream().allMatch(t::contains)
        && (!tagFilters.containsKey("tags-any")
            || tagFilters.get("tags-any").stream().anyMatch(t::contains))
        && (!tagFilters.containsKey("not-tags")
            || !tagFilters.get("not-tags").stream().allMatch(t::contains))
        && tagFilters.getOrDefault("not-tags-any", Set.of()).stream().noneMatch(t::contains);
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static Comparator<InstanceRecord> comparator(Function<InstanceRecord, Comparable<?>> f) {
    return (a, b) -> ((Comparable) f.apply(a)).compareTo(f.apply(b));
  }

  /** Nova's date-time format check: ISO 8601 with a date and a time, zone optional (UTC). */
  static Optional<Instant> time(Context ctx, String key) {
    String v = ctx.queryParam(key);
    if (v == null) {
      return Optional.empty();
    }
    try {
      TemporalAccessor t =
          DateTimeFormatter.ISO_DATE_TIME.parseBest(
              v.replace(' ', 'T'), OffsetDateTime::from, java.time.LocalDateTime::from);
      return Optional.of(
          t instanceof OffsetDateTime o
              ? o.toInstant()
              : ((java.time.LocalDateTime) t).toInstant(ZoneOffset.UTC));
    } catch (DateTimeParseException e) {
      throw new InvalidInputException(
          "Invalid input for query parameters "
              + key
              + ". Value: "
              + v
              + ". '"
              + v
              + "' is not a 'date-time'");
    }
  }

  /** Whether the row passes the time filters (Nova compares updated_at). */
  boolean matches(InstanceRecord r) {
    return changesSince.map(t -> !r.updatedAt().isBefore(t)).orElse(true)
        && changesBefore.map(t -> !r.updatedAt().isAfter(t)).orElse(true)
        && tagsMatch(r);
  }

  /** changes-since/changes-before lists include deleted servers, as Nova's do. */
  boolean includesDeleted() {
    return changesSince.isPresent() || changesBefore.isPresent();
  }
}
