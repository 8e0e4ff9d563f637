package io.virga.db;

import io.virga.core.ConflictException;
import io.virga.core.Flavor;
import io.virga.core.NotFoundException;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/** Flavors, their extra specs and (for private flavors) the projects that may use them. */
public final class FlavorRepository {
  private final Jdbi jdbi;

  public FlavorRepository(Jdbi jdbi) {
    this.jdbi = jdbi;
  }

  public FlavorRecord create(
      Flavor f, double rxtxFactor, boolean isPublic, Optional<String> description) {
    return jdbi.inTransaction(
        h -> {
          Integer clash =
              h.createQuery(
                      "SELECT COUNT(*) FROM flavors WHERE flavorid = :flavorid OR name = :name")
                  .bind("flavorid", f.id())
                  .bind("name", f.name())
                  .mapTo(Integer.class)
                  .one();
          if (clash > 0) {
            throw new ConflictException(
                "Flavor with name " + f.name() + " or ID " + f.id() + " already exists.");
          }
          long id = ComputeIds.next(h, "flavors");
          h.createUpdate(
                  "INSERT INTO flavors (id, flavorid, name, memory_mb, vcpus, root_gb,"
                      + " ephemeral_gb, swap_mb, rxtx_factor, is_public, disabled, description,"
                      + " created_at) VALUES (:id, :flavorid, :name, :memory_mb, :vcpus, :root_gb,"
                      + " :ephemeral_gb, :swap_mb, :rxtx, :is_public, :disabled, :description,"
                      + " :created_at)")
              .bind("id", id)
              .bind("flavorid", f.id())
              .bind("name", f.name())
              .bind("memory_mb", f.memoryMb())
              .bind("vcpus", f.vcpus())
              .bind("root_gb", f.rootGb())
              .bind("ephemeral_gb", f.ephemeralGb())
              .bind("swap_mb", f.swapMb())
              .bind("rxtx", rxtxFactor)
              .bind("is_public", isPublic)
              .bind("disabled", false)
              .bind("description", description.orElse(null))
              .bind("created_at", Times.now())
              .execute();
          for (Map.Entry<String, String> e : f.extraSpecs().entrySet()) {
            putSpec(h, id, e.getKey(), e.getValue());
          }
          return byFlavorId(h, f.id()).orElseThrow();
        });
  }

  /** Flavors visible to a project (public ones plus private ones shared with it); all for admin. */
  public List<FlavorRecord> list(Optional<String> projectId, Optional<Boolean> isPublic) {
    return jdbi.withHandle(
        h -> {
          List<FlavorRecord> all =
              h.createQuery("SELECT * FROM flavors ORDER BY memory_mb, flavorid")
                  .map((rs, ctx) -> row(rs, Map.of()))
                  .list();
          Map<Long, Map<String, String>> specs = allSpecs(h);
          List<FlavorRecord> out = new ArrayList<>();
          for (FlavorRecord r : all) {
            if (isPublic.isPresent() && r.isPublic() != isPublic.get()) {
              continue;
            }
            if (projectId.isPresent() && !r.isPublic() && !hasAccess(h, r.id(), projectId.get())) {
              continue;
            }
            out.add(withSpecs(r, specs.getOrDefault(r.id(), Map.of())));
          }
          return out;
        });
  }

  public Optional<FlavorRecord> find(String flavorId) {
    return jdbi.withHandle(h -> byFlavorId(h, flavorId));
  }

  /** The flavor if the project may use it (or any flavor when {@code projectId} is empty). */
  public FlavorRecord get(String flavorId, Optional<String> projectId) {
    return find(flavorId)
        .filter(
            r ->
                r.isPublic()
                    || projectId.isEmpty()
                    || jdbi.withHandle(h -> hasAccess(h, r.id(), projectId.get())))
        .orElseThrow(() -> new NotFoundException("Flavor " + flavorId + " could not be found."));
  }

  public void delete(String flavorId) {
    jdbi.useTransaction(
        h -> {
          FlavorRecord r =
              byFlavorId(h, flavorId)
                  .orElseThrow(
                      () -> new NotFoundException("Flavor " + flavorId + " could not be found."));
          h.createUpdate("DELETE FROM flavor_extra_specs WHERE flavor_id = :id")
              .bind("id", r.id())
              .execute();
          h.createUpdate("DELETE FROM flavor_projects WHERE flavor_id = :id")
              .bind("id", r.id())
              .execute();
          h.createUpdate("DELETE FROM flavors WHERE id = :id").bind("id", r.id()).execute();
        });
  }

  public void updateDescription(String flavorId, Optional<String> description) {
    int n =
        jdbi.withHandle(
            h ->
                h.createUpdate("UPDATE flavors SET description = :d WHERE flavorid = :f")
                    .bind("d", description.orElse(null))
                    .bind("f", flavorId)
                    .execute());
    if (n == 0) {
      throw new NotFoundException("Flavor " + flavorId + " could not be found.");
    }
  }

  /** Adds or replaces extra specs. */
  public Map<String, String> putExtraSpecs(String flavorId, Map<String, String> specs) {
    return jdbi.inTransaction(
        h -> {
          long id = internalId(h, flavorId);
          for (Map.Entry<String, String> e : specs.entrySet()) {
            h.createUpdate("DELETE FROM flavor_extra_specs WHERE flavor_id = :id AND spec_key = :k")
                .bind("id", id)
                .bind("k", e.getKey())
                .execute();
            putSpec(h, id, e.getKey(), e.getValue());
          }
          return specsOf(h, id);
        });
  }

  public void deleteExtraSpec(String flavorId, String key) {
    jdbi.useTransaction(
        h -> {
          long id = internalId(h, flavorId);
          int n =
              h.createUpdate(
                      "DELETE FROM flavor_extra_specs WHERE flavor_id = :id AND spec_key = :k")
                  .bind("id", id)
                  .bind("k", key)
                  .execute();
          if (n == 0) {
            throw new NotFoundException(
                "Flavor " + flavorId + " has no extra specs with key " + key + ".");
          }
        });
  }

  public void addProject(String flavorId, String projectId) {
    jdbi.useTransaction(
        h -> {
          long id = internalId(h, flavorId);
          if (!hasAccess(h, id, projectId)) {
            h.createUpdate("INSERT INTO flavor_projects (flavor_id, project_id) VALUES (:f, :p)")
                .bind("f", id)
                .bind("p", projectId)
                .execute();
          }
        });
  }

  /** Projects a private flavor is shared with. */
  public List<String> projects(String flavorId) {
    return jdbi.withHandle(
        h ->
            h.createQuery(
                    "SELECT project_id FROM flavor_projects WHERE flavor_id = :f ORDER BY"
                        + " project_id")
                .bind("f", internalId(h, flavorId))
                .mapTo(String.class)
                .list());
  }

  private static long internalId(Handle h, String flavorId) {
    return byFlavorId(h, flavorId)
        .orElseThrow(() -> new NotFoundException("Flavor " + flavorId + " could not be found."))
        .id();
  }

  private static void putSpec(Handle h, long id, String key, String value) {
    h.createUpdate(
            "INSERT INTO flavor_extra_specs (flavor_id, spec_key, spec_value) VALUES (:id, :k, :v)")
        .bind("id", id)
        .bind("k", key)
        .bind("v", value)
        .execute();
  }

  private static boolean hasAccess(Handle h, long id, String projectId) {
    return h.createQuery(
                "SELECT COUNT(*) FROM flavor_projects WHERE flavor_id = :f AND project_id = :p")
            .bind("f", id)
            .bind("p", projectId)
            .mapTo(Integer.class)
            .one()
        > 0;
  }

  private static Optional<FlavorRecord> byFlavorId(Handle h, String flavorId) {
    return h.createQuery("SELECT * FROM flavors WHERE flavorid = :f")
        .bind("f", flavorId)
        .map((rs, ctx) -> row(rs, Map.of()))
        .findOne()
        .map(r -> withSpecs(r, specsOf(h, r.id())));
  }

  private static Map<String, String> specsOf(Handle h, long id) {
    Map<String, String> m = new LinkedHashMap<>();
    h.createQuery(
            "SELECT spec_key, spec_value FROM flavor_extra_specs WHERE flavor_id = :id"
                + " ORDER BY spec_key")
        .bind("id", id)
        .map((rs, ctx) -> Map.entry(rs.getString(1), rs.getString(2)))
        .forEach(e -> m.put(e.getKey(), e.getValue()));
    return m;
  }

  private static Map<Long, Map<String, String>> allSpecs(Handle h) {
    Map<Long, Map<String, String>> m = new HashMap<>();
    h.createQuery("SELECT flavor_id, spec_key, spec_value FROM flavor_extra_specs")
        .map((rs, ctx) -> new Object[] {rs.getLong(1), rs.getString(2), rs.getString(3)})
        .forEach(
            r ->
                m.computeIfAbsent((Long) r[0], k -> new LinkedHashMap<>())
                    .put((String) r[1], (String) r[2]));
    return m;
  }

  private static FlavorRecord withSpecs(FlavorRecord r, Map<String, String> specs) {
    Flavor f = r.flavor();
    return new FlavorRecord(
        r.id(),
        new Flavor(
            f.id(),
            f.name(),
            f.memoryMb(),
            f.vcpus(),
            f.rootGb(),
            f.ephemeralGb(),
            f.swapMb(),
            specs),
        r.rxtxFactor(),
        r.isPublic(),
        r.disabled(),
        r.description());
  }

  private static FlavorRecord row(ResultSet rs, Map<String, String> specs) throws SQLException {
    return new FlavorRecord(
        rs.getLong("id"),
        new Flavor(
            rs.getString("flavorid"),
            rs.getString("name"),
            rs.getInt("memory_mb"),
            rs.getInt("vcpus"),
            rs.getInt("root_gb"),
            rs.getInt("ephemeral_gb"),
            rs.getInt("swap_mb"),
            specs),
        rs.getDouble("rxtx_factor"),
        rs.getBoolean("is_public"),
        rs.getBoolean("disabled"),
        Optional.ofNullable(rs.getString("description")));
  }
}
