package io.virga.api;

import io.virga.core.Migration;
import io.virga.core.MigrationStatus;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Migration bodies as Nova's os-migrations and server-migrations views shape them. */
final class MigrationView {
  /** Nova's in-progress statuses of a live migration (GET /servers/{id}/migrations). */
  static final Set<MigrationStatus> LIVE_IN_PROGRESS =
      Set.of(
          MigrationStatus.ACCEPTED,
          MigrationStatus.QUEUED,
          MigrationStatus.PREPARING,
          MigrationStatus.RUNNING,
          MigrationStatus.CANCELLING,
          MigrationStatus.POST_MIGRATING);

  private final ComputeRoutes.Call call;
  private final Map<String, String> hostIps;

  MigrationView(ComputeRoutes.Call call, Map<String, String> hostIps) {
    this.call = call;
    this.hostIps = hostIps;
  }

  /** An os-migrations entry. */
  Map<String, Object> migration(Migration m) {
    Microversion v = call.version();
    Map<String, Object> out = common(m);
    out.put("instance_uuid", m.instanceUuid());
    out.put("new_instance_type_id", m.newInstanceTypeId());
    out.put("old_instance_type_id", m.oldInstanceTypeId());
    if (v.atLeast(2, 23)) {
      out.put("migration_type", m.type().value());
      if (m.live() && LIVE_IN_PROGRESS.contains(m.status())) {
        String path = "/servers/" + m.instanceUuid() + "/migrations/" + m.id();
        out.put(
            "links",
            List.of(
                ServerView.link("self", call.base() + ComputeRoutes.ROOT + path),
                ServerView.link("bookmark", call.base() + "/compute" + path)));
      }
    }
    tail(m, out);
    return out;
  }

  /** A GET /servers/{id}/migrations entry: with the memory and disk bytes. */
  Map<String, Object> serverMigration(Migration m) {
    Map<String, Object> out = common(m);
    Migration.Progress p = m.progress();
    out.put("disk_processed_bytes", p.diskProcessed());
    out.put("disk_remaining_bytes", p.diskRemaining());
    out.put("disk_total_bytes", p.diskTotal());
    out.put("memory_processed_bytes", p.memoryProcessed());
    out.put("memory_remaining_bytes", p.memoryRemaining());
    out.put("memory_total_bytes", p.memoryTotal());
    out.put("server_uuid", m.instanceUuid());
    tail(m, out);
    return out;
  }

  private Map<String, Object> common(Migration m) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("id", m.id());
    out.put("created_at", ComputeTime.micros(m.createdAt()));
    out.put("updated_at", ComputeTime.micros(m.updatedAt()));
    out.put("dest_compute", m.destCompute());
    out.put("dest_host", hostIps.getOrDefault(m.destCompute(), m.destCompute()));
    out.put("dest_node", m.destNode());
    out.put("source_compute", m.sourceCompute());
    out.put("source_node", m.sourceNode());
    out.put("status", m.status().value());
    return out;
  }

  private void tail(Migration m, Map<String, Object> out) {
    Microversion v = call.version();
    if (v.atLeast(2, 59)) {
      out.put("uuid", m.uuid());
    }
    if (v.atLeast(2, 80)) {
      out.put("user_id", m.userId());
      out.put("project_id", m.projectId());
    }
  }
}
