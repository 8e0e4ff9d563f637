package io.virga.db;

import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.Jdbi;

/**
 * The instances that ran during a period, deleted ones included, for os-simple-tenant-usage (Nova's
 * {@code instance_get_active_by_window_joined}): launched before the period's end and not
 * terminated before its start. Instances that never launched used nothing.
 */
public final class UsageRepository {
  private final Jdbi jdbi;

  public UsageRepository(InstanceRepository instances) {
    this.jdbi = instances.jdbi;
  }

  /**
   * Oldest first (created_at, then id), after the instance {@code marker} when given, at most
   * {@code limit} (0 = no limit).
   */
  public List<InstanceRecord> activeInWindow(
      Optional<String> projectId, long start, long end, Optional<String> marker, int limit) {
    StringBuilder sql =
        new StringBuilder(
            "SELECT * FROM instances WHERE launched_at IS NOT NULL AND launched_at < :end"
                + " AND (terminated_at IS NULL OR terminated_at > :start)");
    projectId.ifPresent(p -> sql.append(" AND project_id = :project"));
    marker.ifPresent(
        m ->
            sql.append(
                " AND (created_at > (SELECT created_at FROM instances WHERE uuid = :marker)"
                    + " OR (created_at = (SELECT created_at FROM instances WHERE uuid = :marker)"
                    + " AND id > (SELECT id FROM instances WHERE uuid = :marker)))"));
    sql.append(" ORDER BY created_at, id");
    if (limit > 0) {
      sql.append(" LIMIT :limit");
    }
    return jdbi.withHandle(
        h -> {
          var q = h.createQuery(sql.toString()).bind("start", start).bind("end", end);
          projectId.ifPresent(p -> q.bind("project", p));
          marker.ifPresent(m -> q.bind("marker", m));
          if (limit > 0) {
            q.bind("limit", limit);
          }
          return q.map((rs, ctx) -> InstanceRepository.row(rs)).list();
        });
  }

  public boolean exists(String uuid) {
    return jdbi.withHandle(
        h ->
            h.createQuery("SELECT COUNT(*) FROM instances WHERE uuid = :u")
                    .bind("u", uuid)
                    .mapTo(Integer.class)
                    .one()
                > 0);
  }
}
