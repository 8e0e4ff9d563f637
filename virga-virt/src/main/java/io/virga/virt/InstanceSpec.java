package io.virga.virt;

import io.virga.core.Flavor;
import io.virga.core.ImageMeta;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;

/**
 * Everything a driver needs to build, run and describe one instance. The control plane builds it
 * from the instance row; the driver never reads the database.
 *
 * @param domainName libvirt domain name ({@code instance-%08x})
 * @param userData raw user data bytes (already base64-decoded), if any
 * @param publicKeys key name → OpenSSH public key, for the config drive
 * @param configDrive true when the user asked for a config drive (a driver may force one)
 */
public record InstanceSpec(
    String uuid,
    String domainName,
    String displayName,
    String hostname,
    String projectId,
    String userId,
    Flavor flavor,
    ImageMeta image,
    Map<String, String> metadata,
    Optional<byte[]> userData,
    Map<String, String> publicKeys,
    boolean configDrive,
    String availabilityZone,
    int launchIndex,
    Instant createdAt) {

  public InstanceSpec {
    metadata = Map.copyOf(metadata);
    publicKeys = Map.copyOf(publicKeys);
  }

  /** The same instance booting another image (rescue, unshelve from the shelve snapshot). */
  public InstanceSpec withImage(ImageMeta other) {
    return new InstanceSpec(
        uuid,
        domainName,
        displayName,
        hostname,
        projectId,
        userId,
        flavor,
        other,
        metadata,
        userData,
        publicKeys,
        configDrive,
        availabilityZone,
        launchIndex,
        createdAt);
  }
}
