package io.virga.db;

import java.util.LinkedHashMap;
import java.util.Map;
import org.jdbi.v3.core.Jdbi;

/** Quota limits: defaults for every project, overridden per project. -1 means unlimited. */
public final class QuotaRepository {
  private final Jdbi jdbi;

  public QuotaRepository(Jdbi jdbi) {
    this.jdbi = jdbi;
  }

  public Map<String, Long> defaults() {
    Map<String, Long> m = new LinkedHashMap<>();
    jdbi.useHandle(
        h ->
            h.createQuery("SELECT resource, hard_limit FROM quota_defaults ORDER BY resource")
                .map((rs, ctx) -> Map.entry(rs.getString(1), rs.getLong(2)))
                .forEach(e -> m.put(e.getKey(), e.getValue())));
    return m;
  }

  /** The effective limits of a project (defaults overlaid with its own). */
  public Map<String, Long> limits(String projectId) {
    Map<String, Long> m = defaults();
    jdbi.useHandle(
        h ->
            h.createQuery("SELECT resource, hard_limit FROM quotas WHERE project_id = :p")
                .bind("p", projectId)
                .map((rs, ctx) -> Map.entry(rs.getString(1), rs.getLong(2)))
                .forEach(e -> m.put(e.getKey(), e.getValue())));
    return m;
  }

  public void set(String projectId, Map<String, Long> limits) {
    jdbi.useTransaction(
        h -> {
          for (Map.Entry<String, Long> e : limits.entrySet()) {
            h.createUpdate("DELETE FROM quotas WHERE project_id = :p AND resource = :r")
                .bind("p", projectId)
                .bind("r", e.getKey())
                .execute();
            h.createUpdate(
                    "INSERT INTO quotas (project_id, resource, hard_limit) VALUES (:p, :r, :l)")
                .bind("p", projectId)
                .bind("r", e.getKey())
                .bind("l", e.getValue())
                .execute();
          }
        });
  }

  public void reset(String projectId) {
    jdbi.useHandle(
        h ->
            h.createUpdate("DELETE FROM quotas WHERE project_id = :p")
                .bind("p", projectId)
                .execute());
  }

  public void setDefaults(Map<String, Long> limits) {
    jdbi.useTransaction(
        h -> {
          for (Map.Entry<String, Long> e : limits.entrySet()) {
            h.createUpdate("UPDATE quota_defaults SET hard_limit = :l WHERE resource = :r")
                .bind("l", e.getValue())
                .bind("r", e.getKey())
                .execute();
          }
        });
  }
}
