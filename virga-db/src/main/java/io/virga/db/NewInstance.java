package io.virga.db;

import io.virga.core.Flavor;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** What the API knows of an instance before it is scheduled. */
public record NewInstance(
    String uuid,
    String displayName,
    Optional<String> description,
    String hostname,
    String projectId,
    String userId,
    Flavor flavor,
    String imageRef,
    Optional<String> availabilityZone,
    Map<String, String> metadata,
    List<String> tags,
    Optional<String> userData,
    Optional<String> keyName,
    Optional<String> keyData,
    boolean configDrive,
    int launchIndex,
    String reservationId,
    Optional<String> accessIpV4,
    Optional<String> accessIpV6) {

  public NewInstance {
    metadata = Map.copyOf(metadata);
    tags = List.copyOf(tags);
  }
}
