package io.virga.db;

import io.virga.core.HostReport;
import io.virga.core.NotFoundException;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Function;
import org.jdbi.v3.core.Jdbi;

/** Compute services and compute nodes: what hosts report, and the scheduler's claims on them. */
public final class HostRepository {
  public static final String COMPUTE_BINARY = "nova-compute";

  private final Jdbi jdbi;
  private final String defaultAvailabilityZone;

  public HostRepository(Jdbi jdbi, String defaultAvailabilityZone) {
    this.jdbi = jdbi;
    this.defaultAvailabilityZone = defaultAvailabilityZone;
  }

  /** Creates or refreshes the host's service (heartbeat) and compute node. */
  /**
   * A compute service's heartbeat: its {@code last_seen_up} only (no transaction, no node row, so
   * it never waits for a claim's lock on the node). False when the host has no service record.
   */
  public boolean heartbeat(String host) {
    return jdbi.withHandle(h -> markSeen(h, host, Times.now())) > 0;
  }

  /** Moves a compute service's last_seen_up to {@code now}; the rows updated (0: no service). */
  private static int markSeen(org.jdbi.v3.core.Handle h, String host, long now) {
    return h.createUpdate(
            "UPDATE compute_services SET last_seen_up = :now, updated_at = :now"
                + " WHERE host = :host AND service_binary = :b")
        .bind("now", now)
        .bind("host", host)
        .bind("b", COMPUTE_BINARY)
        .execute();
  }

  public void report(HostReport r) {
    jdbi.useTransaction(
        h -> {
          long now = Times.now();
          if (markSeen(h, r.host(), now) == 0) {
            h.createUpdate(
                    "INSERT INTO compute_services (id, uuid, host, service_binary, topic,"
                        + " availability_zone, disabled, forced_down, last_seen_up, created_at,"
                        + " updated_at) VALUES (:id, :uuid, :host, :b, :topic, :az, :f, :f, :now,"
                        + " :now, :now)")
                .bind("id", ComputeIds.next(h, "services"))
                .bind("uuid", UUID.randomUUID().toString())
                .bind("host", r.host())
                .bind("b", COMPUTE_BINARY)
                .bind("topic", "compute")
                .bind("az", defaultAvailabilityZone)
                .bind("f", false)
                .bind("now", now)
                .execute();
          }
          String set =
              " hypervisor_type = :type, hypervisor_version = :version, host_ip = :ip,"
                  + " vcpus = :vcpus, vcpus_used = :vcpus_used, memory_mb = :mem, memory_mb_used"
                  + " = :mem_used, local_gb = :disk, local_gb_used = :disk_used,"
                  + " disk_available_least = :least, running_vms = :running, cpu_info = :cpu,"
                  + " updated_at = :now";
          int m =
              bindNode(
                      h.createUpdate(
                          "UPDATE compute_nodes SET"
                              + set
                              + " WHERE host = :host AND hypervisor_hostname = :hh"),
                      r,
                      now)
                  .execute();
          if (m == 0) {
            bindNode(
                    h.createUpdate(
                        "INSERT INTO compute_nodes (id, uuid, host, hypervisor_hostname,"
                            + " hypervisor_type, hypervisor_version, host_ip, vcpus, vcpus_used,"
                            + " memory_mb, memory_mb_used, local_gb, local_gb_used,"
                            + " disk_available_least, running_vms, cpu_info, claim_seq,"
                            + " created_at, updated_at) VALUES (:id, :uuid, :host, :hh, :type,"
                            + " :version, :ip, :vcpus, :vcpus_used, :mem, :mem_used, :disk,"
                            + " :disk_used, :least, :running, :cpu, 0, :now, :now)"),
                    r,
                    now)
                .bind("id", ComputeIds.next(h, "compute_nodes"))
                .bind("uuid", UUID.randomUUID().toString())
                .execute();
          }
        });
  }

  private static org.jdbi.v3.core.statement.Update bindNode(
      org.jdbi.v3.core.statement.Update u, HostReport r, long now) {
    return u.bind("host", r.host())
        .bind("hh", r.hypervisorHostname())
        .bind("type", r.hypervisorType())
        .bind("version", r.hypervisorVersion())
        .bind("ip", r.hostIp())
        .bind("vcpus", r.vcpus())
        .bind("vcpus_used", r.vcpusUsed())
        .bind("mem", r.memoryMb())
        .bind("mem_used", r.memoryMbUsed())
        .bind("disk", r.localGb())
        .bind("disk_used", r.localGbUsed())
        .bind("least", r.diskAvailableLeastGb())
        .bind("running", r.runningVms())
        .bind("cpu", r.cpuInfoJson())
        .bind("now", now);
  }

  public List<ComputeServiceRecord> services() {
    return jdbi.withHandle(
        h ->
            h.createQuery("SELECT * FROM compute_services ORDER BY id")
                .map((rs, ctx) -> service(rs))
                .list());
  }

  public Optional<ComputeServiceRecord> service(String host) {
    return jdbi.withHandle(
        h ->
            h.createQuery(
                    "SELECT * FROM compute_services WHERE host = :host AND service_binary = :b")
                .bind("host", host)
                .bind("b", COMPUTE_BINARY)
                .map((rs, ctx) -> service(rs))
                .findOne());
  }

  /** Enables or disables a host's compute service; returns the updated service. */
  public ComputeServiceRecord setDisabled(String host, boolean disabled, Optional<String> reason) {
    int n =
        jdbi.withHandle(
            h ->
                h.createUpdate(
                        "UPDATE compute_services SET disabled = :d, disabled_reason = :r,"
                            + " updated_at = :now WHERE host = :host AND service_binary = :b")
                    .bind("d", disabled)
                    .bind("r", disabled ? reason.orElse(null) : null)
                    .bind("now", Times.now())
                    .bind("host", host)
                    .bind("b", COMPUTE_BINARY)
                    .execute());
    if (n == 0) {
      throw new NotFoundException("Compute host " + host + " could not be found.");
    }
    return service(host).orElseThrow();
  }

  public ComputeServiceRecord setForcedDown(String host, boolean forcedDown) {
    jdbi.useHandle(
        h ->
            h.createUpdate(
                    "UPDATE compute_services SET forced_down = :d, updated_at = :now"
                        + " WHERE host = :host AND service_binary = :b")
                .bind("d", forcedDown)
                .bind("now", Times.now())
                .bind("host", host)
                .bind("b", COMPUTE_BINARY)
                .execute());
    return service(host)
        .orElseThrow(() -> new NotFoundException("Compute host " + host + " could not be found."));
  }

  public void deleteService(String host) {
    jdbi.useTransaction(
        h -> {
          h.createUpdate("DELETE FROM compute_nodes WHERE host = :host")
              .bind("host", host)
              .execute();
          h.createUpdate("DELETE FROM compute_services WHERE host = :host")
              .bind("host", host)
              .execute();
        });
  }

  public List<ComputeNodeRecord> nodes() {
    return jdbi.withHandle(
        h ->
            h.createQuery("SELECT * FROM compute_nodes ORDER BY id")
                .map((rs, ctx) -> node(rs))
                .list());
  }

  /** Resources used on a host by the live instances assigned to it (claims included). */
  public InstanceRepository.Usage usage(String host) {
    return jdbi.withHandle(h -> InstanceRepository.hostUsage(h, host));
  }

  /**
   * {@link #usage} of every host in one pass (hosts with nothing assigned are absent): the
   * scheduler reads it once per scheduling pass rather than once per host per boot.
   */
  public java.util.Map<String, InstanceRepository.Usage> usageByHost() {
    return jdbi.withHandle(InstanceRepository::usageByHost);
  }

  /**
   * Claims a node for an instance: under the node's row lock (or SQLite's write lock) the usage of
   * every instance already assigned to the host is summed, {@code refusal} decides (empty = fits),
   * and on success the instance is assigned to the host in the same transaction. Concurrent claims
   * on one node therefore see each other and never oversubscribe it.
   *
   * @return empty when claimed, else why the node was refused
   */
  public Optional<String> claim(
      String instanceUuid,
      ComputeNodeRecord node,
      String availabilityZone,
      Function<InstanceRepository.Usage, Optional<String>> refusal) {
    return claim(instanceUuid, node, availabilityZone, refusal, Optional.empty());
  }

  /**
   * A claim for a server group member: the group's row is locked first, so claims of one group's
   * members run one at a time, and {@code groupRule} judges the group's other members per host
   * (from {@link ServerGroupRepository#memberHosts}) inside the same transaction — two members of
   * an anti-affinity group created at once never land on one host.
   */
  public Optional<String> claim(
      String instanceUuid,
      ComputeNodeRecord node,
      String availabilityZone,
      Function<InstanceRepository.Usage, Optional<String>> refusal,
      Optional<GroupRule> groupRule) {
    return claimFor(instanceUuid, node, availabilityZone, refusal, groupRule).refusal();
  }

  /** A claim's outcome: why the node was refused, or the instance's row as the claim left it. */
  public record Claim(Optional<String> refusal, Optional<InstanceRecord> assigned) {}

  /** {@link #claim}, answering the assigned row too (no second read of it). */
  public Claim claimFor(
      String instanceUuid,
      ComputeNodeRecord node,
      String availabilityZone,
      Function<InstanceRepository.Usage, Optional<String>> refusal,
      Optional<GroupRule> groupRule) {
    return jdbi.inTransaction(
        h -> {
          if (groupRule.isPresent()) {
            ServerGroupRepository.lockForClaim(h, groupRule.get().groupUuid());
            Optional<String> no =
                groupRule
                    .get()
                    .refusal()
                    .apply(
                        ServerGroupRepository.memberHosts(
                            h, groupRule.get().groupUuid(), instanceUuid));
            if (no.isPresent()) {
              return new Claim(no, Optional.empty());
            }
          }
          h.createUpdate("UPDATE compute_nodes SET claim_seq = claim_seq + 1 WHERE id = :id")
              .bind("id", node.id())
              .execute();
          Optional<String> refused = refusal.apply(InstanceRepository.hostUsage(h, node.host()));
          if (refused.isPresent()) {
            return new Claim(refused, Optional.empty());
          }
          return new Claim(
              Optional.empty(),
              InstanceRepository.assignHost(
                  h, instanceUuid, node.host(), node.hypervisorHostname(), availabilityZone));
        });
  }

  /** A server group's policy as a claim applies it: member count per host → refusal. */
  public record GroupRule(
      String groupUuid, Function<java.util.Map<String, Integer>, Optional<String>> refusal) {}

  /** Aggregates over the same hosts (they write a host's availability zone). */
  public AggregateRepository aggregates() {
    return new AggregateRepository(jdbi, defaultAvailabilityZone);
  }

  public ServerGroupRepository serverGroups() {
    return new ServerGroupRepository(jdbi);
  }

  /** Records the zone a server's create asked for: the scheduler keeps it there on every move. */
  public void recordRequestedZone(String instanceUuid, String zone) {
    new InstanceLifecycleRepository(jdbi)
        .putSystemMetadata(
            instanceUuid, InstanceLifecycleRepository.REQUESTED_AVAILABILITY_ZONE, zone);
  }

  /** The zone a server must stay in, when its create (or unshelve) asked for one. */
  public Optional<String> requestedZone(String instanceUuid) {
    return new InstanceLifecycleRepository(jdbi)
        .systemMetadata(instanceUuid, InstanceLifecycleRepository.REQUESTED_AVAILABILITY_ZONE);
  }

  static ComputeServiceRecord service(ResultSet rs) throws SQLException {
    return new ComputeServiceRecord(
        rs.getLong("id"),
        rs.getString("uuid"),
        rs.getString("host"),
        rs.getString("service_binary"),
        rs.getString("topic"),
        rs.getString("availability_zone"),
        rs.getBoolean("disabled"),
        Times.string(rs, "disabled_reason"),
        rs.getBoolean("forced_down"),
        Times.optional(rs, "last_seen_up"),
        Times.of(rs, "created_at"),
        Times.of(rs, "updated_at"));
  }

  static ComputeNodeRecord node(ResultSet rs) throws SQLException {
    return new ComputeNodeRecord(
        rs.getLong("id"),
        rs.getString("uuid"),
        rs.getString("host"),
        rs.getString("hypervisor_hostname"),
        rs.getString("hypervisor_type"),
        rs.getLong("hypervisor_version"),
        rs.getString("host_ip"),
        rs.getInt("vcpus"),
        rs.getInt("vcpus_used"),
        rs.getInt("memory_mb"),
        rs.getInt("memory_mb_used"),
        rs.getInt("local_gb"),
        rs.getInt("local_gb_used"),
        rs.getInt("disk_available_least"),
        rs.getInt("running_vms"),
        rs.getString("cpu_info"),
        Times.of(rs, "created_at"),
        Times.of(rs, "updated_at"));
  }
}
