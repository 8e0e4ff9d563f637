package io.virga.db;

import io.virga.core.NotFoundException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * Server groups (Nova's os-server-groups) and their members; {@link #memberHosts} is what the
 * scheduler's policy check counts, read inside the claim's transaction.
 */
public final class ServerGroupRepository {
  private final Jdbi jdbi;

  ServerGroupRepository(Jdbi jdbi) {
    this.jdbi = jdbi;
  }

  /**
   * @param policy affinity, anti-affinity, soft-affinity or soft-anti-affinity
   * @param maxServerPerHost anti-affinity's rule (2.64), empty meaning 1
   * @param members uuids of the live instances in the group
   */
  public record Group(
      long id,
      String uuid,
      String name,
      String projectId,
      String userId,
      String policy,
      Optional<Integer> maxServerPerHost,
      List<String> members,
      Instant createdAt) {}

  public Group create(
      String name, String projectId, String userId, String policy, Optional<Integer> maxPerHost) {
    return jdbi.inTransaction(
        h -> {
          long id = ComputeIds.next(h, "server_groups");
          String uuid = UUID.randomUUID().toString();
          Map<String, String> rules = new HashMap<>();
          maxPerHost.ifPresent(m -> rules.put("max_server_per_host", Integer.toString(m)));
          h.createUpdate(
                  "INSERT INTO server_groups (id, uuid, name, project_id, user_id, policy,"
                      + " rules_json, claim_seq, created_at) VALUES (:id, :uuid, :name, :p, :u,"
                      + " :policy, :rules, 0, :now)")
              .bind("id", id)
              .bind("uuid", uuid)
              .bind("name", name)
              .bind("p", projectId)
              .bind("u", userId)
              .bind("policy", policy)
              .bind("rules", Json.map(rules))
              .bind("now", Times.now())
              .execute();
          return get(h, uuid).orElseThrow();
        });
  }

  public Optional<Group> find(String uuid) {
    return jdbi.withHandle(h -> get(h, uuid));
  }

  public Group get(String uuid) {
    return find(uuid)
        .orElseThrow(
            () -> new NotFoundException("Instance group " + uuid + " could not be found."));
  }

  /** All groups, or one project's; oldest first. */
  public List<Group> list(Optional<String> projectId) {
    return jdbi.withHandle(
        h -> {
          List<Group> out = new ArrayList<>();
          var q =
              h.createQuery(
                  "SELECT uuid FROM server_groups"
                      + (projectId.isPresent() ? " WHERE project_id = :p" : "")
                      + " ORDER BY id");
          projectId.ifPresent(p -> q.bind("p", p));
          for (String uuid : q.mapTo(String.class).list()) {
            get(h, uuid).ifPresent(out::add);
          }
          return out;
        });
  }

  public void delete(String uuid) {
    jdbi.useTransaction(
        h -> {
          Group g = get(h, uuid).orElseThrow(() -> notFound(uuid));
          h.createUpdate("DELETE FROM server_group_members WHERE group_id = :id")
              .bind("id", g.id())
              .execute();
          h.createUpdate("DELETE FROM server_groups WHERE id = :id").bind("id", g.id()).execute();
        });
  }

  public void addMembers(String uuid, List<String> instanceUuids) {
    jdbi.useTransaction(
        h -> {
          Group g = get(h, uuid).orElseThrow(() -> notFound(uuid));
          for (String i : instanceUuids) {
            h.createUpdate(
                    "INSERT INTO server_group_members (group_id, instance_uuid) VALUES (:g, :i)")
                .bind("g", g.id())
                .bind("i", i)
                .execute();
          }
        });
  }

  /** The group an instance belongs to, if any. */
  public Optional<Group> groupOf(String instanceUuid) {
    return jdbi.withHandle(
        h ->
            h.createQuery(
                    "SELECT g.uuid FROM server_groups g JOIN server_group_members m"
                        + " ON m.group_id = g.id WHERE m.instance_uuid = :i")
                .bind("i", instanceUuid)
                .mapTo(String.class)
                .findFirst()
                .flatMap(u -> get(h, u)));
  }

  /** Host → how many of the group's live members (other than {@code except}) it holds. */
  public Map<String, Integer> memberHosts(String groupUuid, String except) {
    return jdbi.withHandle(h -> memberHosts(h, groupUuid, except));
  }

  static Map<String, Integer> memberHosts(Handle h, String groupUuid, String except) {
    Map<String, Integer> out = new HashMap<>();
    h.createQuery(
            "SELECT i.host FROM instances i JOIN server_group_members m"
                + " ON m.instance_uuid = i.uuid JOIN server_groups g ON g.id = m.group_id"
                + " WHERE g.uuid = :g AND i.deleted = :d AND i.host IS NOT NULL"
                + " AND i.uuid <> :except")
        .bind("g", groupUuid)
        .bind("d", false)
        .bind("except", except)
        .mapTo(String.class)
        .forEach(host -> out.merge(host, 1, Integer::sum));
    return out;
  }

  /** Serialises the claims of one group's members (see the table's comment). */
  static void lockForClaim(Handle h, String groupUuid) {
    h.createUpdate("UPDATE server_groups SET claim_seq = claim_seq + 1 WHERE uuid = :g")
        .bind("g", groupUuid)
        .execute();
  }

  private static NotFoundException notFound(String uuid) {
    return new NotFoundException("Instance group " + uuid + " could not be found.");
  }

  private static Optional<Group> get(Handle h, String uuid) {
    return h.createQuery("SELECT * FROM server_groups WHERE uuid = :uuid")
        .bind("uuid", uuid)
        .map(
            (rs, ctx) -> {
              Map<String, String> rules = Json.map(rs.getString("rules_json"));
              return new Group(
                  rs.getLong("id"),
                  rs.getString("uuid"),
                  rs.getString("name"),
                  rs.getString("project_id"),
                  rs.getString("user_id"),
                  rs.getString("policy"),
                  Optional.ofNullable(rules.get("max_server_per_host")).map(Integer::valueOf),
                  List.of(),
                  Times.of(rs, "created_at"));
            })
        .findOne()
        .map(
            g ->
                new Group(
                    g.id(),
                    g.uuid(),
                    g.name(),
                    g.projectId(),
                    g.userId(),
                    g.policy(),
                    g.maxServerPerHost(),
                    h.createQuery(
                            "SELECT m.instance_uuid FROM server_group_members m JOIN instances i"
                                + " ON i.uuid = m.instance_uuid WHERE m.group_id = :id"
                                + " AND i.deleted = :d ORDER BY i.id")
                        .bind("id", g.id())
                        .bind("d", false)
                        .mapTo(String.class)
                        .list(),
                    g.createdAt()));
  }
}
