package io.virga.db;

import io.virga.core.Flavor;
import io.virga.core.Migration;
import io.virga.core.MigrationStatus;
import io.virga.core.MigrationType;
import io.virga.core.NotFoundException;
import io.virga.core.VmState;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.StringJoiner;
import java.util.function.Function;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * Migration records (resize, cold and live migration) and the resources they hold: a migration in
 * progress claims its new flavor on the destination until the instance moves there, and keeps its
 * old flavor on the source afterwards until confirm or revert (Nova's migration-based allocations).
 */
public final class MigrationRepository {
  private final Jdbi jdbi;

  public MigrationRepository(Jdbi jdbi) {
    this.jdbi = jdbi;
  }

  /**
   * Claims {@code dest} for the migration and creates its record in one transaction, under the
   * node's row lock as {@link HostRepository#claim} does: {@code refusal} sees the host's usage
   * including every other claim. Returns empty when created, else why the node was refused.
   */
  public Optional<String> claim(
      NewMigration n,
      ComputeNodeRecord dest,
      Function<InstanceRepository.Usage, Optional<String>> refusal) {
    return jdbi.inTransaction(
        h -> {
          h.createUpdate("UPDATE compute_nodes SET claim_seq = claim_seq + 1 WHERE id = :id")
              .bind("id", dest.id())
              .execute();
          Optional<String> refused = refusal.apply(InstanceRepository.hostUsage(h, dest.host()));
          if (refused.isEmpty()) {
            insert(h, n, dest.host(), dest.hypervisorHostname());
          }
          return refused;
        });
  }

  private static void insert(Handle h, NewMigration n, String destHost, String destNode) {
    long now = Times.now();
    h.createUpdate(
            "INSERT INTO migrations (id, uuid, instance_uuid, migration_type, status,"
                + " source_compute, source_node, dest_compute, dest_node, dest_host,"
                + " old_flavor_json, new_flavor_json, old_instance_type_id, new_instance_type_id,"
                + " old_vm_state, user_id, project_id, memory_total, memory_processed,"
                + " memory_remaining, disk_total, disk_processed, disk_remaining, created_at,"
                + " updated_at) VALUES (:id, :uuid, :inst, :type, :status, :sc, :sn, :dc, :dn,"
                + " :dc, :oldf, :newf, :oldid, :newid, :oldvm, :user, :project, 0, 0, 0, 0, 0, 0,"
                + " :now, :now)")
        .bind("id", ComputeIds.next(h, "migrations"))
        .bind("uuid", n.uuid())
        .bind("inst", n.instanceUuid())
        .bind("type", n.type().value())
        .bind("status", n.status().value())
        .bind("sc", n.sourceCompute())
        .bind("sn", n.sourceNode())
        .bind("dc", destHost)
        .bind("dn", destNode)
        .bind("oldf", Json.flavor(n.oldFlavor()))
        .bind("newf", Json.flavor(n.newFlavor()))
        .bind("oldid", n.oldInstanceTypeId())
        .bind("newid", n.newInstanceTypeId())
        .bind("oldvm", n.oldVmState().value())
        .bind("user", n.userId())
        .bind("project", n.projectId())
        .bind("now", now)
        .execute();
  }

  public Optional<Migration> find(String uuid) {
    return jdbi.withHandle(
        h ->
            h.createQuery("SELECT * FROM migrations WHERE uuid = :uuid")
                .bind("uuid", uuid)
                .map((rs, ctx) -> row(rs))
                .findOne());
  }

  public Migration get(String uuid) {
    return find(uuid)
        .orElseThrow(() -> new NotFoundException("Migration " + uuid + " could not be found."));
  }

  /** By the numeric id the API shows. */
  public Optional<Migration> findById(long id) {
    return jdbi.withHandle(
        h ->
            h.createQuery("SELECT * FROM migrations WHERE id = :id")
                .bind("id", id)
                .map((rs, ctx) -> row(rs))
                .findOne());
  }

  /** Compare-and-swap on status ({@code expected} empty: any); empty when it lost. */
  public Optional<Migration> updateStatus(
      String uuid,
      List<MigrationStatus> expected,
      MigrationStatus status,
      Optional<String> errorStep) {
    return jdbi.inTransaction(
        h -> {
          StringBuilder sql =
              new StringBuilder(
                  "UPDATE migrations SET status = :status, updated_at = :now,"
                      + " error_step = COALESCE(:step, error_step) WHERE uuid = :uuid");
          Map<String, Object> binds = new HashMap<>();
          if (!expected.isEmpty()) {
            StringJoiner in = new StringJoiner(", ", " AND status IN (", ")");
            for (int i = 0; i < expected.size(); i++) {
              in.add(":e" + i);
              binds.put("e" + i, expected.get(i).value());
            }
            sql.append(in);
          }
          var u =
              h.createUpdate(sql.toString())
                  .bind("status", status.value())
                  .bind("now", Times.now())
                  .bind("uuid", uuid)
                  .bindMap(binds);
          if (errorStep.isPresent()) {
            u.bind("step", errorStep.get());
          } else {
            u.bindNull("step", java.sql.Types.VARCHAR);
          }
          if (u.execute() == 0) {
            return Optional.<Migration>empty();
          }
          return h.createQuery("SELECT * FROM migrations WHERE uuid = :uuid")
              .bind("uuid", uuid)
              .map((rs, ctx) -> row(rs))
              .findOne();
        });
  }

  /** Progress bytes on the migration and the percentage on its instance. */
  public void progress(String uuid, Migration.Progress p, int percent) {
    jdbi.useTransaction(
        h -> {
          h.createUpdate(
                  "UPDATE migrations SET memory_total = :mt, memory_processed = :mp,"
                      + " memory_remaining = :mr, disk_total = :dt, disk_processed = :dp,"
                      + " disk_remaining = :dr, updated_at = :now WHERE uuid = :uuid")
              .bind("mt", p.memoryTotal())
              .bind("mp", p.memoryProcessed())
              .bind("mr", p.memoryRemaining())
              .bind("dt", p.diskTotal())
              .bind("dp", p.diskProcessed())
              .bind("dr", p.diskRemaining())
              .bind("now", Times.now())
              .bind("uuid", uuid)
              .execute();
          h.createUpdate(
                  "UPDATE instances SET progress = :p WHERE uuid ="
                      + " (SELECT instance_uuid FROM migrations WHERE uuid = :uuid)")
              .bind("p", percent)
              .bind("uuid", uuid)
              .execute();
        });
  }

  /**
   * Moves the instance to the destination with the new flavor, keeping the old one ({@code
   * toDest}), or back to the source with the old flavor (and forgets both copies).
   */
  public InstanceRecord apply(String instanceUuid, Migration m, boolean toDest) {
    return jdbi.inTransaction(
        h -> {
          h.createUpdate(
                  "UPDATE instances SET host = :host, node = :node, flavor_json = :flavor,"
                      + " old_flavor_json = :old, new_flavor_json = :new, progress = 0,"
                      + " updated_at = :now WHERE uuid = :uuid")
              .bind("host", toDest ? m.destCompute() : m.sourceCompute())
              .bind("node", toDest ? m.destNode() : m.sourceNode())
              .bind("flavor", Json.flavor(toDest ? m.newFlavor() : m.oldFlavor()))
              .bind("old", toDest ? Json.flavor(m.oldFlavor()) : null)
              .bind("new", toDest ? Json.flavor(m.newFlavor()) : null)
              .bind("now", Times.now())
              .bind("uuid", instanceUuid)
              .execute();
          return InstanceRepository.find(h, instanceUuid)
              .orElseThrow(() -> InstanceRepository.notFound(instanceUuid));
        });
  }

  /** Clears the instance's old/new flavor copies (after confirm). */
  public void dropOldFlavor(String instanceUuid) {
    jdbi.useHandle(
        h ->
            h.createUpdate(
                    "UPDATE instances SET old_flavor_json = NULL, new_flavor_json = NULL"
                        + " WHERE uuid = :uuid")
                .bind("uuid", instanceUuid)
                .execute());
  }

  /** Newest first (Nova: created_at desc, id desc). */
  public List<Migration> list(MigrationFilter f) {
    StringBuilder sql = new StringBuilder("SELECT * FROM migrations WHERE 1 = 1");
    Map<String, Object> b = new HashMap<>();
    f.instanceUuid().ifPresent(v -> add(sql, b, " AND instance_uuid = :inst", "inst", v));
    f.host()
        .ifPresent(
            v -> add(sql, b, " AND (source_compute = :host OR dest_compute = :host)", "host", v));
    f.sourceCompute().ifPresent(v -> add(sql, b, " AND source_compute = :sc", "sc", v));
    f.status().ifPresent(v -> add(sql, b, " AND status = :status", "status", v.value()));
    f.type().ifPresent(v -> add(sql, b, " AND migration_type = :type", "type", v.value()));
    f.changesSince()
        .ifPresent(v -> add(sql, b, " AND updated_at >= :since", "since", v.toEpochMilli()));
    f.changesBefore()
        .ifPresent(v -> add(sql, b, " AND updated_at <= :before", "before", v.toEpochMilli()));
    f.userId().ifPresent(v -> add(sql, b, " AND user_id = :user", "user", v));
    f.projectId().ifPresent(v -> add(sql, b, " AND project_id = :project", "project", v));
    sql.append(" ORDER BY created_at DESC, id DESC");
    return jdbi.withHandle(
        h -> h.createQuery(sql.toString()).bindMap(b).map((rs, ctx) -> row(rs)).list());
  }

  private static void add(
      StringBuilder sql, Map<String, Object> b, String where, String k, Object v) {
    sql.append(where);
    b.put(k, v);
  }

  /** In-progress migrations from or to {@code host}. */
  public List<Migration> inProgress(String host) {
    StringJoiner in = new StringJoiner(", ", "(", ")");
    Map<String, Object> b = new HashMap<>();
    int i = 0;
    for (MigrationStatus s : Migration.IN_PROGRESS) {
      in.add(":s" + i);
      b.put("s" + i++, s.value());
    }
    return jdbi.withHandle(
        h ->
            h.createQuery(
                    "SELECT * FROM migrations WHERE status IN "
                        + in
                        + " AND (source_compute = :host OR dest_compute = :host)"
                        + " ORDER BY created_at DESC, id DESC")
                .bind("host", host)
                .bindMap(b)
                .map((rs, ctx) -> row(rs))
                .list());
  }

  /** Resizes waiting for confirmation (status finished) since before {@code cutoff}. */
  public List<Migration> unconfirmedBefore(Instant cutoff) {
    return jdbi.withHandle(
        h ->
            h.createQuery(
                    "SELECT * FROM migrations WHERE status = :s AND updated_at < :cutoff"
                        + " ORDER BY id")
                .bind("s", MigrationStatus.FINISHED.value())
                .bind("cutoff", cutoff.toEpochMilli())
                .map((rs, ctx) -> row(rs))
                .list());
  }

  /**
   * The flavors migrations in progress hold on {@code host} besides the instances assigned to it:
   * the new flavor on a destination the instance has not reached yet, the old flavor on a source it
   * has left (until confirm or revert); on the same host, whichever flavor the row does not show.
   */
  static List<Flavor> claimedOn(Handle h, String host) {
    List<Flavor> out = new ArrayList<>();
    inProgressQuery(h, " AND (m.source_compute = :host OR m.dest_compute = :host)")
        .bind("host", host)
        .map((rs, ctx) -> heldOn(row(rs), rs.getString("instance_host"), host))
        .forEach(
            f -> {
              if (f != null) {
                out.add(f);
              }
            });
    return out;
  }

  /** {@link #claimedOn} for every host at once (one query): host → flavors held there. */
  static Map<String, List<Flavor>> claimedByHost(Handle h) {
    Map<String, List<Flavor>> out = new HashMap<>();
    inProgressQuery(h, "")
        .map(
            (rs, ctx) -> {
              Migration m = row(rs);
              String at = rs.getString("instance_host");
              java.util.Set<String> hosts = new java.util.LinkedHashSet<>();
              hosts.add(m.sourceCompute());
              hosts.add(m.destCompute());
              hosts.remove(null);
              for (String host : hosts) {
                Flavor f = heldOn(m, at, host);
                if (f != null) {
                  out.computeIfAbsent(host, k -> new ArrayList<>()).add(f);
                }
              }
              return 0;
            })
        .list();
    return out;
  }

  private static org.jdbi.v3.core.statement.Query inProgressQuery(Handle h, String where) {
    StringJoiner in = new StringJoiner(", ", "(", ")");
    Map<String, Object> b = new HashMap<>();
    int i = 0;
    for (MigrationStatus s : Migration.IN_PROGRESS) {
      in.add(":s" + i);
      b.put("s" + i++, s.value());
    }
    return h.createQuery(
            "SELECT m.*, i.host AS instance_host FROM migrations m JOIN instances i ON i.uuid ="
                + " m.instance_uuid WHERE i.deleted = :d AND m.status IN "
                + in
                + where)
        .bind("d", false)
        .bindMap(b);
  }

  /** The flavor migration {@code m} holds on {@code host} (instance now at {@code at}), or null. */
  private static Flavor heldOn(Migration m, String at, String host) {
    if (m.sameHost()) {
      boolean moved = !EnumSetHolder.BEFORE_FINISH.contains(m.status());
      return moved ? m.oldFlavor() : m.newFlavor();
    }
    if (host.equals(at)) {
      return null;
    }
    return host.equals(m.destCompute()) ? m.newFlavor() : m.oldFlavor();
  }

  private static final class EnumSetHolder {
    static final java.util.Set<MigrationStatus> BEFORE_FINISH =
        java.util.EnumSet.of(
            MigrationStatus.PRE_MIGRATING,
            MigrationStatus.MIGRATING,
            MigrationStatus.POST_MIGRATING,
            MigrationStatus.ACCEPTED,
            MigrationStatus.QUEUED,
            MigrationStatus.PREPARING,
            MigrationStatus.RUNNING,
            MigrationStatus.CANCELLING);
  }

  static Migration row(ResultSet rs) throws SQLException {
    String oldVm = rs.getString("old_vm_state");
    return new Migration(
        rs.getLong("id"),
        rs.getString("uuid"),
        rs.getString("instance_uuid"),
        MigrationType.of(rs.getString("migration_type")),
        MigrationStatus.of(rs.getString("status")),
        rs.getString("source_compute"),
        rs.getString("source_node"),
        rs.getString("dest_compute"),
        rs.getString("dest_node"),
        Json.flavor(rs.getString("old_flavor_json")),
        Json.flavor(rs.getString("new_flavor_json")),
        rs.getLong("old_instance_type_id"),
        rs.getLong("new_instance_type_id"),
        oldVm == null ? Optional.empty() : Optional.of(VmState.of(oldVm)),
        Optional.ofNullable(rs.getString("user_id")).orElse(""),
        Optional.ofNullable(rs.getString("project_id")).orElse(""),
        new Migration.Progress(
            rs.getLong("memory_total"),
            rs.getLong("memory_processed"),
            rs.getLong("memory_remaining"),
            rs.getLong("disk_total"),
            rs.getLong("disk_processed"),
            rs.getLong("disk_remaining")),
        Optional.ofNullable(rs.getString("error_step")),
        Times.of(rs, "created_at"),
        Times.of(rs, "updated_at"));
  }
}
