package io.virga.core;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;

/**
 * An instance as the control plane knows it: identity, ownership, the flavor copied at boot, the
 * image it came from, its three states and where it runs. Immutable; changes are new rows written
 * with compare-and-swap on task_state.
 *
 * @param id the database's numeric id, from which the libvirt domain name is derived ({@link
 *     #domainName()}); 0 when the row has none yet
 */
public record Instance(
    String uuid,
    String displayName,
    String hostname,
    String projectId,
    String userId,
    Flavor flavor,
    String imageRef,
    VmState vmState,
    Optional<TaskState> taskState,
    PowerState powerState,
    Optional<String> host,
    String availabilityZone,
    Map<String, String> metadata,
    Optional<String> userData,
    Optional<String> keyName,
    Optional<String> keyData,
    boolean configDrive,
    int launchIndex,
    int progress,
    Instant createdAt,
    Optional<Instant> launchedAt,
    long id) {

  public Instance {
    metadata = Map.copyOf(metadata);
  }

  /**
   * This instance's libvirt domain name: {@code instance-%08x} over {@link #id()}, or {@code
   * instance-<uuid>} for a row without a numeric id (never ambiguous, unlike id 0).
   */
  public String domainName() {
    return id > 0 ? domainName(id) : "instance-" + uuid;
  }

  /** libvirt domain name, Nova's {@code instance-%08x} over the instance's numeric id. */
  public static String domainName(long id) {
    return String.format("instance-%08x", id);
  }
}
