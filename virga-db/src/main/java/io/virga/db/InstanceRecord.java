package io.virga.db;

import io.virga.core.Flavor;
import io.virga.core.Instance;
import io.virga.core.PowerState;
import io.virga.core.TaskState;
import io.virga.core.VmState;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An instance row with everything the compute API shows; {@link #toInstance()} is the part the
 * agent sees.
 *
 * @param id the numeric id behind the libvirt domain name ({@code instance-%08x})
 * @param userData base64 as the API received it
 */
public record InstanceRecord(
    long id,
    String uuid,
    String displayName,
    Optional<String> description,
    String hostname,
    String projectId,
    String userId,
    Flavor flavor,
    String imageRef,
    VmState vmState,
    Optional<TaskState> taskState,
    PowerState powerState,
    Optional<String> host,
    Optional<String> node,
    Optional<String> availabilityZone,
    Map<String, String> metadata,
    List<String> tags,
    Optional<String> userData,
    Optional<String> keyName,
    Optional<String> keyData,
    boolean configDrive,
    int launchIndex,
    String reservationId,
    int progress,
    boolean locked,
    Instant createdAt,
    Instant updatedAt,
    Optional<Instant> launchedAt,
    Optional<Instant> terminatedAt,
    Optional<Instant> deletedAt,
    boolean deleted,
    Optional<String> accessIpV4,
    Optional<String> accessIpV6) {

  public InstanceRecord {
    metadata = Map.copyOf(metadata);
    tags = List.copyOf(tags);
  }

  public String domainName() {
    return Instance.domainName(id);
  }

  public Instance toInstance() {
    return new Instance(
        uuid,
        displayName,
        hostname,
        projectId,
        userId,
        flavor,
        imageRef,
        vmState,
        taskState,
        powerState,
        host,
        availabilityZone.orElse(""),
        metadata,
        userData,
        keyName,
        keyData,
        configDrive,
        launchIndex,
        progress,
        createdAt,
        launchedAt,
        id);
  }
}
