package io.virga.core;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;

/**
 * An instance as the control plane knows it: identity, ownership, the flavor copied at boot, the
 * image it came from, its three states and where it runs. Immutable; changes are new rows written
 * with compare-and-swap on task_state.
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
    Optional<Instant> launchedAt) {

  public Instance {
    metadata = Map.copyOf(metadata);
  }

  /** libvirt domain name, Nova's {@code instance-%08x} over the instance's numeric id. */
  public static String domainName(long id) {
    return String.format("instance-%08x", id);
  }
}
