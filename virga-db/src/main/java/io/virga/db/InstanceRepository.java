package io.virga.db;

import io.virga.core.Flavor;
import io.virga.core.InstanceUpdate;
import io.virga.core.NotFoundException;
import io.virga.core.PowerState;
import io.virga.core.TaskState;
import io.virga.core.VmState;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.StringJoiner;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.Query;

/**
 * Instances and their faults. Every task_state change goes through {@link #compareAndSwap}: the
 * UPDATE carries the expected task_state in its WHERE clause, so of two racing requests exactly one
 * wins and the other sees an empty result.
 */
public final class InstanceRepository {
  final Jdbi jdbi; // package-private: UsageRepository reads the same table

  public InstanceRepository(Jdbi jdbi) {
    this.jdbi = jdbi;
  }

  /** The lock, system metadata and rebuild fields of the same instances (issue 16's flows). */
  public InstanceLifecycleRepository lifecycle() {
    return new InstanceLifecycleRepository(jdbi);
  }

  public InstanceRecord create(NewInstance n) {
    return jdbi.inTransaction(h -> create(h, n));
  }

  /** Creates several instances in one transaction (a multi-create is all or nothing). */
  public List<InstanceRecord> createAll(List<NewInstance> all) {
    return jdbi.inTransaction(
        h -> {
          List<InstanceRecord> out = new ArrayList<>();
          for (NewInstance n : all) {
            out.add(create(h, n));
          }
          return out;
        });
  }

  /**
   * Creates the instances {@code rows} decides on from the project's current usage, in one
   * transaction that holds the project's quota lock (a PostgreSQL advisory lock; on SQLite the
   * transaction's write lock), so concurrent creates in any number of API processes see each
   * other's rows and a quota holds across them. {@code rows} may throw to refuse.
   */
  public List<InstanceRecord> createWithinQuota(
      String projectId, java.util.function.Function<Usage, List<NewInstance>> rows) {
    return createWithinQuota(projectId, Optional.empty(), rows);
  }

  /**
   * {@link #createWithinQuota}, the builds owned by the API process whose scheduling lease is
   * {@code schedulingOwner} ({@link #renewSchedulingLease}) until they get a host.
   */
  public List<InstanceRecord> createWithinQuota(
      String projectId,
      Optional<String> schedulingOwner,
      java.util.function.Function<Usage, List<NewInstance>> rows) {
    return jdbi.inTransaction(
        h -> {
          lockProjectQuota(h, projectId);
          Usage used = projectUsage(h, projectId);
          List<InstanceRecord> out = new ArrayList<>();
          for (NewInstance n : rows.apply(used)) {
            out.add(create(h, n, schedulingOwner));
          }
          return out;
        });
  }

  private static void lockProjectQuota(Handle h, String projectId) {
    try {
      if (h.getConnection().getMetaData().getDatabaseProductName().equals("PostgreSQL")) {
        // namespace 0x5649 ("VI") keeps these keys apart from any other advisory lock
        h.createQuery("SELECT pg_advisory_xact_lock(:ns, :key)")
            .bind("ns", 0x5649)
            .bind("key", projectId.hashCode())
            .mapTo(String.class)
            .findFirst();
      }
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException("cannot take the quota lock of project " + projectId, e);
    }
  }

  private static InstanceRecord create(Handle h, NewInstance n) {
    return create(h, n, Optional.empty());
  }

  private static InstanceRecord create(Handle h, NewInstance n, Optional<String> owner) {
    long id = ComputeIds.next(h, "instances");
    long now = Times.now();
    return h.createQuery(
            "INSERT INTO instances (id, uuid, display_name, description, hostname, project_id,"
                + " user_id, flavor_json, image_ref, vm_state, task_state, power_state, host, node,"
                + " availability_zone, metadata_json, tags_json, user_data, key_name, key_data, config_drive,"
                + " launch_index, reservation_id, progress, locked, created_at, updated_at,"
                + " deleted, access_ip_v4, access_ip_v6, scheduling_owner) VALUES (:id, :uuid, :display_name, :description, :hostname,"
                + " :project_id, :user_id, :flavor_json, :image_ref, :vm_state, :task_state,"
                + " :power_state, NULL, NULL, :az, :metadata_json, :tags_json, :user_data, :key_name,"
                + " :key_data, :config_drive, :launch_index, :reservation_id, 0, :locked, :now,"
                + " :now, :deleted, :access_ip_v4, :access_ip_v6, :owner) RETURNING *")
        .bind("id", id)
        .bind("uuid", n.uuid())
        .bind("display_name", n.displayName())
        .bind("description", n.description().orElse(null))
        .bind("hostname", n.hostname())
        .bind("project_id", n.projectId())
        .bind("user_id", n.userId())
        .bind("flavor_json", Json.flavor(n.flavor()))
        .bind("image_ref", n.imageRef())
        .bind("vm_state", VmState.BUILDING.value())
        .bind("task_state", TaskState.SCHEDULING.value())
        .bind("power_state", PowerState.NOSTATE.code())
        .bind("az", n.availabilityZone().orElse(null))
        .bind("metadata_json", Json.map(n.metadata()))
        .bind("tags_json", Json.list(n.tags()))
        .bind("user_data", n.userData().orElse(null))
        .bind("key_name", n.keyName().orElse(null))
        .bind("key_data", n.keyData().orElse(null))
        .bind("config_drive", n.configDrive())
        .bind("launch_index", n.launchIndex())
        .bind("reservation_id", n.reservationId())
        .bind("locked", false)
        .bind("now", now)
        .bind("deleted", false)
        .bind("access_ip_v4", n.accessIpV4().orElse(null))
        .bind("access_ip_v6", n.accessIpV6().orElse(null))
        .bind("owner", owner.orElse(null))
        .map((rs, ctx) -> row(rs))
        .one();
  }

  /** The row, deleted or not. */
  public Optional<InstanceRecord> find(String uuid) {
    return jdbi.withHandle(h -> find(h, uuid));
  }

  /** A live (not deleted) instance, or NotFoundException with Nova's message. */
  public InstanceRecord get(String uuid) {
    return find(uuid).filter(r -> !r.deleted()).orElseThrow(() -> notFound(uuid));
  }

  static NotFoundException notFound(String uuid) {
    return new NotFoundException("Instance " + uuid + " could not be found.");
  }

  static Optional<InstanceRecord> find(Handle h, String uuid) {
    return h.createQuery("SELECT * FROM instances WHERE uuid = :uuid")
        .bind("uuid", uuid)
        .map((rs, ctx) -> row(rs))
        .findOne();
  }

  /** Newest first (Nova's default sort: created_at desc, then id desc). */
  public List<InstanceRecord> list(InstanceFilter f) {
    Map<String, Object> binds = new HashMap<>();
    StringBuilder sql = where(f, binds);
    if (sql == null) {
      return List.of();
    }
    sql.append(" ORDER BY created_at DESC, id DESC");
    return jdbi.withHandle(
        h -> h.createQuery(sql.toString()).bindMap(binds).map((rs, ctx) -> row(rs)).list());
  }

  /**
   * One page of {@link #list}, in the same order: at most {@code limit} rows after the instance
   * {@code marker} (keyset paging on created_at, id — served by the (deleted, created_at, id)
   * indexes, no full read); empty when the marker names no instance.
   */
  public Optional<List<InstanceRecord>> listPage(
      InstanceFilter f, Optional<String> marker, int limit) {
    return jdbi.withHandle(
        h -> {
          Map<String, Object> binds = new HashMap<>();
          StringBuilder sql = where(f, binds);
          if (marker.isPresent()) {
            Optional<InstanceRecord> m = find(h, marker.get());
            if (m.isEmpty()) {
              return Optional.empty();
            }
            if (sql != null) {
              sql.append(" AND (created_at < :mc OR (created_at = :mc AND id < :mid))");
              binds.put("mc", m.get().createdAt().toEpochMilli());
              binds.put("mid", m.get().id());
            }
          }
          if (sql == null || limit == 0) {
            return Optional.of(List.of());
          }
          sql.append(" ORDER BY created_at DESC, id DESC LIMIT :lim");
          binds.put("lim", limit);
          return Optional.of(
              h.createQuery(sql.toString()).bindMap(binds).map((rs, ctx) -> row(rs)).list());
        });
  }

  /** The filter's WHERE clause, or null when it matches nothing (an empty vm_state set). */
  private static StringBuilder where(InstanceFilter f, Map<String, Object> binds) {
    StringBuilder sql = new StringBuilder("SELECT * FROM instances WHERE 1 = 1");
    if (!f.includeDeleted()) {
      sql.append(" AND deleted = :deleted");
      binds.put("deleted", false);
    }
    f.projectId().ifPresent(p -> sql.append(" AND project_id = :project_id"));
    f.projectId().ifPresent(p -> binds.put("project_id", p));
    f.host().ifPresent(p -> sql.append(" AND host = :host"));
    f.host().ifPresent(p -> binds.put("host", p));
    f.imageRef().ifPresent(p -> sql.append(" AND image_ref = :image_ref"));
    f.imageRef().ifPresent(p -> binds.put("image_ref", p));
    if (f.vmStates().isPresent()) {
      if (f.vmStates().get().isEmpty()) {
        return null;
      }
      StringJoiner in = new StringJoiner(", ", " AND vm_state IN (", ")");
      int i = 0;
      for (VmState s : f.vmStates().get()) {
        in.add(":vm" + i);
        binds.put("vm" + i, s.value());
        i++;
      }
      sql.append(in);
    }
    return sql;
  }

  /** Live instances assigned to a host. */
  public List<InstanceRecord> onHost(String host) {
    return jdbi.withHandle(h -> onHost(h, host));
  }

  static List<InstanceRecord> onHost(Handle h, String host) {
    return h.createQuery(
            "SELECT * FROM instances WHERE host = :host AND deleted = :deleted ORDER BY id")
        .bind("host", host)
        .bind("deleted", false)
        .map((rs, ctx) -> row(rs))
        .list();
  }

  /**
   * Writes {@code update} if the instance is live and its task_state is one of {@code expected} (an
   * empty Optional in the set meaning "no task"); {@code expected} null means unconditional.
   * Returns the new row, or empty when the compare-and-swap lost.
   */
  public Optional<InstanceRecord> compareAndSwap(
      String uuid, InstanceUpdate update, Collection<Optional<TaskState>> expected) {
    // one statement (UPDATE … RETURNING): atomic without a transaction of its own, one round trip
    return jdbi.withHandle(h -> compareAndSwap(h, uuid, update, expected));
  }

  static Optional<InstanceRecord> compareAndSwap(
      Handle h, String uuid, InstanceUpdate u, Collection<Optional<TaskState>> expected) {
    StringJoiner set = new StringJoiner(", ");
    Map<String, Object> binds = new HashMap<>();
    set.add("updated_at = :now");
    binds.put("now", Times.now());
    u.vmState().ifPresent(v -> set.add("vm_state = :vm_state"));
    u.vmState().ifPresent(v -> binds.put("vm_state", v.value()));
    if (u.taskState().isPresent()) {
      set.add("task_state = :task_state");
      binds.put("task_state", u.taskState().get().map(TaskState::value).orElse(null));
    }
    u.powerState().ifPresent(v -> set.add("power_state = :power_state"));
    u.powerState().ifPresent(v -> binds.put("power_state", v.code()));
    u.host().ifPresent(v -> set.add("host = :host"));
    u.host().ifPresent(v -> binds.put("host", v));
    u.progress().ifPresent(v -> set.add("progress = :progress"));
    u.progress().ifPresent(v -> binds.put("progress", v));
    if (u.markLaunched()) {
      set.add("launched_at = :now");
    }
    StringBuilder sql =
        new StringBuilder("UPDATE instances SET ")
            .append(set)
            .append(" WHERE uuid = :uuid AND deleted = :deleted");
    binds.put("uuid", uuid);
    binds.put("deleted", false);
    if (expected != null) {
      if (expected.isEmpty()) {
        return Optional.empty();
      }
      StringJoiner or = new StringJoiner(" OR ", " AND (", ")");
      int i = 0;
      for (Optional<TaskState> t : expected) {
        if (t.isEmpty()) {
          or.add("task_state IS NULL");
        } else {
          or.add("task_state = :exp" + i);
          binds.put("exp" + i, t.get().value());
        }
        i++;
      }
      sql.append(or);
    }
    // the row as the update left it, in the same statement (PostgreSQL; SQLite since 3.35)
    sql.append(" RETURNING *");
    Query stmt = h.createQuery(sql.toString());
    binds.forEach(
        (k, v) -> {
          if (v == null) {
            stmt.bindNull(k, java.sql.Types.VARCHAR);
          } else {
            stmt.bind(k, v);
          }
        });
    return stmt.map((rs, ctx) -> row(rs)).findOne();
  }

  /**
   * Sets host, node and the availability zone: the host's, as Nova sets the instance's zone on
   * every scheduling (a requested zone is kept by the filter, not by this column); returns the row
   * as assigned, in the same statement.
   */
  static Optional<InstanceRecord> assignHost(
      Handle h, String uuid, String host, String node, String az) {
    return h.createQuery(
            "UPDATE instances SET host = :host, node = :node, availability_zone = :az,"
                + " updated_at = :now WHERE uuid = :uuid RETURNING *")
        .bind("host", host)
        .bind("node", node)
        .bind("az", az)
        .bind("now", Times.now())
        .bind("uuid", uuid)
        .map((rs, ctx) -> row(rs))
        .findOne();
  }

  public void setMetadata(String uuid, Map<String, String> metadata) {
    update(uuid, "metadata_json", Json.map(metadata));
  }

  public void setDisplayName(String uuid, String name, String hostname) {
    jdbi.useHandle(
        h ->
            h.createUpdate(
                    "UPDATE instances SET display_name = :n, hostname = :hn, updated_at = :now"
                        + " WHERE uuid = :uuid AND deleted = :deleted")
                .bind("n", name)
                .bind("hn", hostname)
                .bind("now", Times.now())
                .bind("uuid", uuid)
                .bind("deleted", false)
                .execute());
  }

  public void setDescription(String uuid, Optional<String> description) {
    update(uuid, "description", description.orElse(null));
  }

  /** The server's tags (Nova's server tags, 2.26), in the order given. */
  public void setTags(String uuid, List<String> tags) {
    update(uuid, "tags_json", Json.list(tags));
  }

  /** accessIPv4/accessIPv6 as the user set them (empty clears). */
  public void setAccessIp(String uuid, boolean v6, Optional<String> address) {
    update(uuid, v6 ? "access_ip_v6" : "access_ip_v4", address.orElse(null));
  }

  private void update(String uuid, String column, String value) {
    // column names are constants of this class, never user input
    jdbi.useHandle(
        h ->
            h.createUpdate(
                    "UPDATE instances SET "
                        + column
                        + " = :v, updated_at = :now WHERE uuid = :uuid AND deleted = :deleted")
                .bind("v", value)
                .bind("now", Times.now())
                .bind("uuid", uuid)
                .bind("deleted", false)
                .execute());
  }

  /** Soft-deletes the row: vm_state deleted, no task, terminated; its resources are released. */
  public void markDeleted(String uuid) {
    long now = Times.now();
    jdbi.useHandle(
        h ->
            h.createUpdate(
                    "UPDATE instances SET vm_state = :vm, task_state = NULL, power_state = :ps,"
                        + " deleted = :deleted, deleted_at = :now, terminated_at = :now,"
                        + " updated_at = :now WHERE uuid = :uuid AND deleted = :notdeleted")
                .bind("vm", VmState.DELETED.value())
                .bind("ps", PowerState.NOSTATE.code())
                .bind("deleted", true)
                .bind("notdeleted", false)
                .bind("now", now)
                .bind("uuid", uuid)
                .execute());
  }

  /** What a project's live instances use: count, vCPUs, RAM (MB). */
  public record Usage(int instances, int cores, long ramMb, long diskGb) {
    public static final Usage NONE = new Usage(0, 0, 0, 0);

    /** This usage plus {@code n} instances of {@code f}. */
    public Usage plus(Flavor f, int n) {
      return new Usage(
          instances + n,
          cores + f.vcpus() * n,
          ramMb + (long) f.memoryMb() * n,
          diskGb + flavorDiskGb(f) * n);
    }

    static Usage sum(Usage a, Usage b) {
      return new Usage(
          a.instances + b.instances, a.cores + b.cores, a.ramMb + b.ramMb, a.diskGb + b.diskGb);
    }
  }

  /**
   * Renews the scheduling lease of {@code owner} (an API process): the builds it accepted and has
   * not yet given a host stay its own for recovery in every API process. One row, however many
   * builds wait.
   */
  public void renewSchedulingLease(String owner) {
    jdbi.useHandle(
        h ->
            h.createUpdate(
                    "INSERT INTO scheduling_leases (owner, renewed_at) VALUES (:o, :now)"
                        + " ON CONFLICT (owner) DO UPDATE SET renewed_at = excluded.renewed_at")
                .bind("o", owner)
                .bind("now", Times.now())
                .execute());
  }

  /**
   * A waiting build's lease ran out: it has no owner, is {@code :self}'s (judged by the caller
   * against its queue), or its owner has not renewed since {@code :before}.
   */
  private static final String LEASE_RAN_OUT =
      " AND (scheduling_owner IS NULL OR scheduling_owner = :self OR NOT EXISTS (SELECT 1 FROM"
          + " scheduling_leases l WHERE l.owner = instances.scheduling_owner"
          + " AND l.renewed_at > :before))";

  /**
   * Puts builds that still wait for a host, unchanged since {@code before}, and lost into ERROR
   * with the fault {@code message} gives for its uuid. Lost: its owner's lease was not renewed
   * since {@code before} (the API process that accepted it stopped), it has no owner, or it is
   * {@code self}'s and no longer in {@code selfQueued} (that process dropped it without a host or
   * an error). Each by one conditional UPDATE that checks the same again, so a build another API
   * process assigns to a host, or whose owner renews its lease, meanwhile is left alone. Leases
   * that ran out are then forgotten. Returns the uuids put into ERROR.
   */
  public List<String> failUnscheduledBuilds(
      java.time.Instant before,
      Optional<String> self,
      Set<String> selfQueued,
      java.util.function.Function<String, String> message) {
    String waiting =
        " deleted = :d AND task_state = :t AND host IS NULL AND updated_at <= :before"
            + LEASE_RAN_OUT;
    List<String> candidates =
        jdbi.withHandle(
            h ->
                h
                    .createQuery("SELECT uuid, scheduling_owner FROM instances WHERE" + waiting)
                    .bind("d", false)
                    .bind("t", TaskState.SCHEDULING.value())
                    .bind("before", before.toEpochMilli())
                    .bind("self", self.orElse(null))
                    .map(
                        (rs, ctx) ->
                            Map.entry(
                                rs.getString("uuid"),
                                Optional.ofNullable(rs.getString("scheduling_owner"))))
                    .list()
                    .stream()
                    // this process's own builds still in its queue are not lost
                    .filter(e -> !(e.getValue().equals(self) && selfQueued.contains(e.getKey())))
                    .map(Map.Entry::getKey)
                    .toList());
    List<String> failed = new ArrayList<>();
    for (String uuid : candidates) {
      boolean won =
          jdbi.inTransaction(
              h -> {
                int n =
                    h.createUpdate(
                            "UPDATE instances SET vm_state = :error, task_state = NULL,"
                                + " updated_at = :now WHERE uuid = :uuid AND"
                                + waiting)
                        .bind("error", VmState.ERROR.value())
                        .bind("now", Times.now())
                        .bind("uuid", uuid)
                        .bind("d", false)
                        .bind("t", TaskState.SCHEDULING.value())
                        .bind("before", before.toEpochMilli())
                        .bind("self", self.orElse(null))
                        .execute();
                if (n == 1) {
                  insertFault(h, uuid, 500, message.apply(uuid));
                }
                return n == 1;
              });
      if (won) {
        failed.add(uuid);
      }
    }
    jdbi.useHandle(
        h ->
            h.createUpdate(
                    "DELETE FROM scheduling_leases WHERE renewed_at <= :before"
                        + " AND owner <> :self")
                .bind("before", before.toEpochMilli())
                .bind("self", self.orElse(""))
                .execute());
    return failed;
  }

  /** Live instances by host ("" when unscheduled) and vm_state: what an operator graphs. */
  public Map<String, Map<String, Integer>> countByHostAndState() {
    Map<String, Map<String, Integer>> out = new java.util.TreeMap<>();
    jdbi.useHandle(
        h ->
            h.createQuery(
                    "SELECT host, vm_state, COUNT(*) AS n FROM instances WHERE deleted = :d"
                        + " GROUP BY host, vm_state")
                .bind("d", false)
                .map(
                    (rs, ctx) -> {
                      String host = rs.getString("host");
                      out.computeIfAbsent(host == null ? "" : host, k -> new java.util.TreeMap<>())
                          .put(rs.getString("vm_state"), rs.getInt("n"));
                      return 0;
                    })
                .list());
    return out;
  }

  public Usage projectUsage(String projectId) {
    return jdbi.withHandle(h -> projectUsage(h, projectId));
  }

  private static Usage projectUsage(Handle h, String projectId) {
    return usageByFlavor(
        h.createQuery(
                "SELECT flavor_json, COUNT(*) AS n FROM instances WHERE project_id = :p"
                    + " AND deleted = :d GROUP BY flavor_json")
            .bind("p", projectId)
            .bind("d", false));
  }

  static Usage hostUsage(Handle h, String host) {
    Usage u =
        usageByFlavor(
            h.createQuery(
                    "SELECT flavor_json, COUNT(*) AS n FROM instances WHERE host = :host"
                        + " AND deleted = :d GROUP BY flavor_json")
                .bind("host", host)
                .bind("d", false));
    // what migrations in progress hold here besides the rows (MigrationRepository.claimedOn)
    for (Flavor f : MigrationRepository.claimedOn(h, host)) {
      u = u.plus(f, 1);
    }
    return u;
  }

  /**
   * {@link #hostUsage} of every host in two queries (instances grouped by host and flavor, then the
   * migrations in progress): what a scheduling pass reads once instead of once per host. Hosts with
   * nothing assigned are absent.
   */
  static Map<String, Usage> usageByHost(Handle h) {
    Map<String, Usage> out = new HashMap<>();
    Map<String, Flavor> parsed = new HashMap<>();
    h.createQuery(
            "SELECT host, flavor_json, COUNT(*) AS n FROM instances WHERE deleted = :d"
                + " AND host IS NOT NULL GROUP BY host, flavor_json")
        .bind("d", false)
        .map(
            (rs, ctx) -> {
              Flavor f = parsed.computeIfAbsent(rs.getString("flavor_json"), Json::flavor);
              out.merge(rs.getString("host"), Usage.NONE.plus(f, rs.getInt("n")), Usage::sum);
              return 0;
            })
        .list();
    MigrationRepository.claimedByHost(h)
        .forEach(
            (host, flavors) -> {
              for (Flavor f : flavors) {
                out.merge(host, Usage.NONE.plus(f, 1), Usage::sum);
              }
            });
    return out;
  }

  /**
   * The usage of a query's {@code flavor_json, n} rows (instances counted by flavor in the
   * database): a project or host of thousands of servers sends a row per distinct flavor, not one
   * per server.
   */
  private static Usage usageByFlavor(org.jdbi.v3.core.statement.Query counted) {
    Usage u = Usage.NONE;
    for (Map.Entry<String, Integer> e :
        counted.map((rs, ctx) -> Map.entry(rs.getString("flavor_json"), rs.getInt("n"))).list()) {
      u = u.plus(Json.flavor(e.getKey()), e.getValue());
    }
    return u;
  }

  private static long flavorDiskGb(Flavor f) {
    return f.rootGb() + f.ephemeralGb() + (f.swapMb() + 1023) / 1024;
  }

  public void recordFault(
      String uuid, int code, String message, Optional<String> details, Optional<String> host) {
    jdbi.useTransaction(h -> insertFault(h, uuid, code, message, details, host));
  }

  private static void insertFault(Handle h, String uuid, int code, String message) {
    insertFault(h, uuid, code, message, Optional.empty(), Optional.empty());
  }

  private static void insertFault(
      Handle h,
      String uuid,
      int code,
      String message,
      Optional<String> details,
      Optional<String> host) {
    long id = ComputeIds.next(h, "instance_faults");
    h.createUpdate(
            "INSERT INTO instance_faults (id, instance_uuid, code, message, details, host,"
                + " created_at) VALUES (:id, :uuid, :code, :message, :details, :host, :now)")
        .bind("id", id)
        .bind("uuid", uuid)
        .bind("code", code)
        .bind("message", message)
        .bind("details", details.orElse(null))
        .bind("host", host.orElse(null))
        .bind("now", Times.now())
        .execute();
  }

  public Optional<InstanceFault> latestFault(String uuid) {
    return jdbi.withHandle(
        h ->
            h.createQuery(
                    "SELECT * FROM instance_faults WHERE instance_uuid = :uuid"
                        + " ORDER BY created_at DESC, id DESC")
                .bind("uuid", uuid)
                .map(
                    (rs, ctx) ->
                        new InstanceFault(
                            rs.getString("instance_uuid"),
                            rs.getInt("code"),
                            rs.getString("message"),
                            Optional.ofNullable(rs.getString("details")),
                            Times.of(rs, "created_at")))
                .findFirst());
  }

  static InstanceRecord row(ResultSet rs) throws SQLException {
    String task = rs.getString("task_state");
    return new InstanceRecord(
        rs.getLong("id"),
        rs.getString("uuid"),
        rs.getString("display_name"),
        Times.string(rs, "description"),
        rs.getString("hostname"),
        rs.getString("project_id"),
        rs.getString("user_id"),
        Json.flavor(rs.getString("flavor_json")),
        rs.getString("image_ref"),
        VmState.of(rs.getString("vm_state")),
        task == null ? Optional.empty() : Optional.of(TaskState.of(task)),
        PowerState.of(rs.getInt("power_state")),
        Times.string(rs, "host"),
        Times.string(rs, "node"),
        Times.string(rs, "availability_zone"),
        Json.map(rs.getString("metadata_json")),
        Json.list(rs.getString("tags_json")),
        Times.string(rs, "user_data"),
        Times.string(rs, "key_name"),
        Times.string(rs, "key_data"),
        rs.getBoolean("config_drive"),
        rs.getInt("launch_index"),
        rs.getString("reservation_id"),
        rs.getInt("progress"),
        rs.getBoolean("locked"),
        Times.of(rs, "created_at"),
        Times.of(rs, "updated_at"),
        Times.optional(rs, "launched_at"),
        Times.optional(rs, "terminated_at"),
        Times.optional(rs, "deleted_at"),
        rs.getBoolean("deleted"),
        Times.string(rs, "access_ip_v4"),
        Times.string(rs, "access_ip_v6"));
  }
}
