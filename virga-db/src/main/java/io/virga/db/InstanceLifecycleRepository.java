package io.virga.db;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * What the lifecycle actions (lock, rebuild, rescue, shelve …) keep of an instance beyond its
 * states: the lock's owner, Nova's instance system metadata, and the fields a rebuild may replace.
 * Task states still move only through {@link InstanceRepository#compareAndSwap}.
 */
public final class InstanceLifecycleRepository {
  /** Nova's system-metadata keys used by the lifecycle flows. */
  public static final String LOCKED_REASON = "locked_reason";

  public static final String SHELVED_IMAGE_ID = "shelved_image_id";
  public static final String SHELVED_AT = "shelved_at";
  public static final String SHELVED_HOST = "shelved_host";

  /**
   * The zone the user asked for at create (or at a 2.77 unshelve): Nova's
   * RequestSpec.availability_zone. A server without one moves freely between zones; its {@code
   * availability_zone} column is only the zone of the host it is on.
   */
  public static final String REQUESTED_AVAILABILITY_ZONE = "requested_availability_zone";

  private final Jdbi jdbi;

  public InstanceLifecycleRepository(Jdbi jdbi) {
    this.jdbi = jdbi;
  }

  /** Who holds the lock: {@code owner} or {@code admin} (Nova's locked_by), with its reason. */
  public record Lock(String lockedBy, Optional<String> reason) {}

  /**
   * Locks a live instance; the reason (2.73) goes to system metadata. Returns false when it was
   * already locked (Nova answers 202 either way; the first lock keeps its owner).
   */
  public boolean lock(String uuid, String lockedBy, Optional<String> reason) {
    return jdbi.inTransaction(
        h -> {
          int n =
              h.createUpdate(
                      "UPDATE instances SET locked = :t, locked_by = :by, updated_at = :now"
                          + " WHERE uuid = :uuid AND deleted = :d AND locked = :f")
                  .bind("t", true)
                  .bind("f", false)
                  .bind("by", lockedBy)
                  .bind("now", Times.now())
                  .bind("uuid", uuid)
                  .bind("d", false)
                  .execute();
          if (n == 0) {
            return false;
          }
          delete(h, uuid, LOCKED_REASON);
          if (reason.isPresent()) {
            put(h, uuid, LOCKED_REASON, reason.get());
          }
          return true;
        });
  }

  public void unlock(String uuid) {
    jdbi.useTransaction(
        h -> {
          h.createUpdate(
                  "UPDATE instances SET locked = :f, locked_by = NULL, updated_at = :now"
                      + " WHERE uuid = :uuid AND deleted = :d")
              .bind("f", false)
              .bind("now", Times.now())
              .bind("uuid", uuid)
              .bind("d", false)
              .execute();
          delete(h, uuid, LOCKED_REASON);
        });
  }

  /** The lock of a locked instance; empty when it is not locked. */
  public Optional<Lock> lockOf(String uuid) {
    return jdbi.withHandle(
        h ->
            h.createQuery(
                    "SELECT locked, locked_by FROM instances WHERE uuid = :uuid AND deleted = :d")
                .bind("uuid", uuid)
                .bind("d", false)
                .map(
                    (rs, ctx) ->
                        rs.getBoolean("locked")
                            ? Optional.of(
                                new Lock(
                                    Optional.ofNullable(rs.getString("locked_by")).orElse("admin"),
                                    get(h, uuid, LOCKED_REASON)))
                            : Optional.<Lock>empty())
                .findOne()
                .flatMap(o -> o));
  }

  /** All system metadata of an instance, in key order. */
  public Map<String, String> systemMetadata(String uuid) {
    return jdbi.withHandle(
        h -> {
          Map<String, String> out = new LinkedHashMap<>();
          h.createQuery(
                  "SELECT meta_key, meta_value FROM instance_system_metadata"
                      + " WHERE instance_uuid = :uuid ORDER BY meta_key")
              .bind("uuid", uuid)
              .map((rs, ctx) -> Map.entry(rs.getString(1), rs.getString(2)))
              .forEach(e -> out.put(e.getKey(), e.getValue()));
          return out;
        });
  }

  public Optional<String> systemMetadata(String uuid, String key) {
    return jdbi.withHandle(h -> get(h, uuid, key));
  }

  public void putSystemMetadata(String uuid, String key, String value) {
    jdbi.useTransaction(
        h -> {
          delete(h, uuid, key);
          put(h, uuid, key, value);
        });
  }

  public void removeSystemMetadata(String uuid, String key) {
    jdbi.useHandle(h -> delete(h, uuid, key));
  }

  /**
   * What a rebuild replaces (Nova's rebuild body): the image always; name, metadata, user data and
   * key pair when given. {@code keyName} present with an empty name removes the key (2.54).
   */
  public record RebuildFields(
      String imageRef,
      Optional<String> displayName,
      Optional<String> hostname,
      Optional<Map<String, String>> metadata,
      Optional<Optional<String>> userData,
      Optional<Optional<KeyPair>> key) {}

  /** A key pair as a rebuild stores it on the instance. */
  public record KeyPair(String name, String publicKey) {}

  public void applyRebuild(String uuid, RebuildFields f) {
    jdbi.useTransaction(
        h -> {
          set(h, uuid, "image_ref", f.imageRef());
          if (f.displayName().isPresent()) {
            set(h, uuid, "display_name", f.displayName().get());
          }
          if (f.hostname().isPresent()) {
            set(h, uuid, "hostname", f.hostname().get());
          }
          if (f.metadata().isPresent()) {
            set(h, uuid, "metadata_json", Json.map(f.metadata().get()));
          }
          if (f.userData().isPresent()) {
            set(h, uuid, "user_data", f.userData().get().orElse(null));
          }
          if (f.key().isPresent()) {
            set(h, uuid, "key_name", f.key().get().map(KeyPair::name).orElse(null));
            set(h, uuid, "key_data", f.key().get().map(KeyPair::publicKey).orElse(null));
          }
        });
  }

  /**
   * Shelve offload's end in one write: shelved_offloaded, no task, no power state, host and node
   * cleared (so the host's usage no longer counts it) — only if the task is still {@code expected}
   * (empty: no task). Returns false when that compare-and-swap lost.
   */
  public boolean offloaded(String uuid, Optional<io.virga.core.TaskState> expected) {
    return jdbi.withHandle(
            h -> {
              var u =
                  h.createUpdate(
                          "UPDATE instances SET vm_state = :vm, task_state = NULL,"
                              + " power_state = 0, host = NULL, node = NULL, updated_at = :now"
                              + " WHERE uuid = :uuid AND deleted = :d AND "
                              + (expected.isPresent() ? "task_state = :exp" : "task_state IS NULL"))
                      .bind("vm", io.virga.core.VmState.SHELVED_OFFLOADED.value())
                      .bind("now", Times.now())
                      .bind("uuid", uuid)
                      .bind("d", false);
              expected.ifPresent(t -> u.bind("exp", t.value()));
              return u.execute();
            })
        == 1;
  }

  /** The zone an offloaded instance is unshelved into (2.77). */
  public void setAvailabilityZone(String uuid, String zone) {
    jdbi.useHandle(h -> set(h, uuid, "availability_zone", zone));
    putSystemMetadata(uuid, REQUESTED_AVAILABILITY_ZONE, zone);
  }

  /** Clears the host and node of an instance that no longer occupies one (shelve offload). */
  public void clearHost(String uuid) {
    jdbi.useHandle(
        h ->
            h.createUpdate(
                    "UPDATE instances SET host = NULL, node = NULL, updated_at = :now"
                        + " WHERE uuid = :uuid AND deleted = :d")
                .bind("now", Times.now())
                .bind("uuid", uuid)
                .bind("d", false)
                .execute());
  }

  private static void set(Handle h, String uuid, String column, String value) {
    // column names are constants of this class, never user input
    var u =
        h.createUpdate(
            "UPDATE instances SET "
                + column
                + " = :v, updated_at = :now WHERE uuid = :uuid AND deleted = :d");
    if (value == null) {
      u.bindNull("v", java.sql.Types.VARCHAR);
    } else {
      u.bind("v", value);
    }
    u.bind("now", Times.now()).bind("uuid", uuid).bind("d", false).execute();
  }

  private static Optional<String> get(Handle h, String uuid, String key) {
    return h.createQuery(
            "SELECT meta_value FROM instance_system_metadata"
                + " WHERE instance_uuid = :uuid AND meta_key = :k")
        .bind("uuid", uuid)
        .bind("k", key)
        .mapTo(String.class)
        .findOne();
  }

  private static void put(Handle h, String uuid, String key, String value) {
    h.createUpdate(
            "INSERT INTO instance_system_metadata (instance_uuid, meta_key, meta_value)"
                + " VALUES (:uuid, :k, :v)")
        .bind("uuid", uuid)
        .bind("k", key)
        .bind("v", value)
        .execute();
  }

  private static void delete(Handle h, String uuid, String key) {
    h.createUpdate(
            "DELETE FROM instance_system_metadata WHERE instance_uuid = :uuid AND meta_key = :k")
        .bind("uuid", uuid)
        .bind("k", key)
        .execute();
  }
}
