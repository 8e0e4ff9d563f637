package io.virga.db;

import io.virga.core.ConflictException;
import io.virga.core.NotFoundException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * Host aggregates (Nova's os-aggregates). Every change that can move a host between availability
 * zones rewrites that host's {@code compute_services.availability_zone} in the same transaction:
 * the zone of its aggregates' {@code availability_zone} metadata, else the default zone.
 */
public final class AggregateRepository {
  public static final String AZ_KEY = "availability_zone";

  private final Jdbi jdbi;
  private final String defaultAvailabilityZone;

  AggregateRepository(Jdbi jdbi, String defaultAvailabilityZone) {
    this.jdbi = jdbi;
    this.defaultAvailabilityZone = defaultAvailabilityZone;
  }

  /** One aggregate with its hosts (sorted) and metadata. */
  public record Aggregate(
      long id,
      String uuid,
      String name,
      List<String> hosts,
      Map<String, String> metadata,
      Instant createdAt,
      Instant updatedAt) {
    public Optional<String> availabilityZone() {
      return Optional.ofNullable(metadata.get(AZ_KEY));
    }
  }

  public List<Aggregate> list() {
    return jdbi.withHandle(
        h -> {
          List<Aggregate> out = new ArrayList<>();
          for (long id :
              h.createQuery("SELECT id FROM aggregates ORDER BY id").mapTo(Long.class).list()) {
            out.add(get(h, id));
          }
          return out;
        });
  }

  public Aggregate get(long id) {
    return jdbi.withHandle(h -> get(h, id));
  }

  /** A new aggregate; 409 when the name is taken. */
  public Aggregate create(String name, Optional<String> availabilityZone) {
    return jdbi.inTransaction(
        h -> {
          requireFreeName(h, name, -1);
          long id = ComputeIds.next(h, "aggregates");
          long now = Times.now();
          h.createUpdate(
                  "INSERT INTO aggregates (id, uuid, name, created_at, updated_at)"
                      + " VALUES (:id, :uuid, :name, :now, :now)")
              .bind("id", id)
              .bind("uuid", UUID.randomUUID().toString())
              .bind("name", name)
              .bind("now", now)
              .execute();
          availabilityZone.ifPresent(az -> putMeta(h, id, AZ_KEY, az));
          return get(h, id);
        });
  }

  /** Renames and/or re-zones it; a zone change moves its hosts. */
  public Aggregate update(long id, Optional<String> name, Optional<Optional<String>> zone) {
    return jdbi.inTransaction(
        h -> {
          Aggregate a = get(h, id);
          if (name.isPresent()) {
            requireFreeName(h, name.get(), id);
            h.createUpdate("UPDATE aggregates SET name = :n, updated_at = :now WHERE id = :id")
                .bind("n", name.get())
                .bind("now", Times.now())
                .bind("id", id)
                .execute();
          }
          if (zone.isPresent()) {
            deleteMeta(h, id, AZ_KEY);
            zone.get().ifPresent(z -> putMeta(h, id, AZ_KEY, z));
            a.hosts().forEach(host -> rezone(h, host));
          }
          return get(h, id);
        });
  }

  /** Sets (value) or removes (empty) metadata keys; the zone key moves hosts. */
  public Aggregate setMetadata(long id, Map<String, Optional<String>> changes) {
    return jdbi.inTransaction(
        h -> {
          Aggregate a = get(h, id);
          changes.forEach(
              (k, v) -> {
                deleteMeta(h, id, k);
                v.ifPresent(value -> putMeta(h, id, k, value));
              });
          if (changes.containsKey(AZ_KEY)) {
            a.hosts().forEach(host -> rezone(h, host));
          }
          touch(h, id);
          return get(h, id);
        });
  }

  /** Deletes an aggregate that has no hosts left (Nova refuses otherwise). */
  public void delete(long id) {
    jdbi.useTransaction(
        h -> {
          Aggregate a = get(h, id);
          if (!a.hosts().isEmpty()) {
            throw new io.virga.core.InvalidInputException(
                "Cannot delete aggregate " + id + ": it still has hosts " + a.hosts());
          }
          h.createUpdate("DELETE FROM aggregate_metadata WHERE aggregate_id = :id")
              .bind("id", id)
              .execute();
          h.createUpdate("DELETE FROM aggregates WHERE id = :id").bind("id", id).execute();
        });
  }

  /**
   * Adds a compute host: 404 when no such compute service, 409 when it is already a member, 400
   * when it would sit in two zones at once.
   */
  public Aggregate addHost(long id, String host) {
    return jdbi.inTransaction(
        h -> {
          Aggregate a = get(h, id);
          requireService(h, host);
          if (a.hosts().contains(host)) {
            throw new ConflictException("Aggregate " + id + " already has host " + host + ".");
          }
          Optional<String> zone = a.availabilityZone();
          Optional<String> other = zoneOf(h, host);
          if (zone.isPresent() && other.isPresent() && !other.get().equals(zone.get())) {
            throw new io.virga.core.InvalidInputException(
                "Cannot add host "
                    + host
                    + " to aggregate "
                    + id
                    + ": it is already in availability zone "
                    + other.get());
          }
          h.createUpdate("INSERT INTO aggregate_hosts (aggregate_id, host) VALUES (:id, :host)")
              .bind("id", id)
              .bind("host", host)
              .execute();
          rezone(h, host);
          touch(h, id);
          return get(h, id);
        });
  }

  public Aggregate removeHost(long id, String host) {
    return jdbi.inTransaction(
        h -> {
          Aggregate a = get(h, id);
          if (!a.hosts().contains(host)) {
            throw new NotFoundException(
                "Cannot remove host " + host + " in aggregate " + id + ": not found");
          }
          h.createUpdate("DELETE FROM aggregate_hosts WHERE aggregate_id = :id AND host = :host")
              .bind("id", id)
              .bind("host", host)
              .execute();
          rezone(h, host);
          touch(h, id);
          return get(h, id);
        });
  }

  /** The zone a host's aggregates give it, if any. */
  private static Optional<String> zoneOf(Handle h, String host) {
    return h.createQuery(
            "SELECT m.meta_value FROM aggregate_metadata m JOIN aggregate_hosts ah"
                + " ON ah.aggregate_id = m.aggregate_id WHERE ah.host = :host AND m.meta_key = :k"
                + " ORDER BY m.aggregate_id")
        .bind("host", host)
        .bind("k", AZ_KEY)
        .mapTo(String.class)
        .findFirst();
  }

  private void rezone(Handle h, String host) {
    h.createUpdate(
            "UPDATE compute_services SET availability_zone = :az, updated_at = :now"
                + " WHERE host = :host")
        .bind("az", zoneOf(h, host).orElse(defaultAvailabilityZone))
        .bind("now", Times.now())
        .bind("host", host)
        .execute();
  }

  private static void requireService(Handle h, String host) {
    int n =
        h.createQuery("SELECT COUNT(*) FROM compute_services WHERE host = :host")
            .bind("host", host)
            .mapTo(Integer.class)
            .one();
    if (n == 0) {
      throw new NotFoundException("Compute host " + host + " could not be found.");
    }
  }

  private static void requireFreeName(Handle h, String name, long self) {
    int n =
        h.createQuery("SELECT COUNT(*) FROM aggregates WHERE name = :n AND id <> :id")
            .bind("n", name)
            .bind("id", self)
            .mapTo(Integer.class)
            .one();
    if (n > 0) {
      throw new ConflictException("Aggregate " + name + " already exists.");
    }
  }

  private static void touch(Handle h, long id) {
    h.createUpdate("UPDATE aggregates SET updated_at = :now WHERE id = :id")
        .bind("now", Times.now())
        .bind("id", id)
        .execute();
  }

  private static void putMeta(Handle h, long id, String k, String v) {
    h.createUpdate(
            "INSERT INTO aggregate_metadata (aggregate_id, meta_key, meta_value)"
                + " VALUES (:id, :k, :v)")
        .bind("id", id)
        .bind("k", k)
        .bind("v", v)
        .execute();
  }

  private static void deleteMeta(Handle h, long id, String k) {
    h.createUpdate("DELETE FROM aggregate_metadata WHERE aggregate_id = :id AND meta_key = :k")
        .bind("id", id)
        .bind("k", k)
        .execute();
  }

  private static Aggregate get(Handle h, long id) {
    var row =
        h.createQuery("SELECT * FROM aggregates WHERE id = :id")
            .bind("id", id)
            .map(
                (rs, ctx) ->
                    new Object[] {
                      rs.getString("uuid"),
                      rs.getString("name"),
                      Times.of(rs, "created_at"),
                      Times.of(rs, "updated_at")
                    })
            .findOne()
            .orElseThrow(() -> new NotFoundException("Aggregate " + id + " could not be found."));
    List<String> hosts =
        new ArrayList<>(
            new TreeSet<>(
                h.createQuery("SELECT host FROM aggregate_hosts WHERE aggregate_id = :id")
                    .bind("id", id)
                    .mapTo(String.class)
                    .list()));
    Map<String, String> meta = new TreeMap<>();
    h.createQuery("SELECT meta_key, meta_value FROM aggregate_metadata WHERE aggregate_id = :id")
        .bind("id", id)
        .map((rs, ctx) -> Map.entry(rs.getString(1), rs.getString(2)))
        .forEach(e -> meta.put(e.getKey(), e.getValue()));
    return new Aggregate(
        id,
        (String) row[0],
        (String) row[1],
        List.copyOf(hosts),
        Map.copyOf(meta),
        (Instant) row[2],
        (Instant) row[3]);
  }
}
