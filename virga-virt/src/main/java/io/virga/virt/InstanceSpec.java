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
 * @param adminPass the password the API handed out for this build or rebuild (Nova's {@code
 *     admin_password}), delivered only through the config drive's {@code admin_pass}; never stored
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
    Instant createdAt,
    Optional<String> adminPass) {

  public InstanceSpec {
    metadata = Map.copyOf(metadata);
    publicKeys = Map.copyOf(publicKeys);
  }

  /** An instance spec without an admin password (every action but a build or a rebuild). */
  public InstanceSpec(
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
    this(
        uuid,
        domainName,
        displayName,
        hostname,
        projectId,
        userId,
        flavor,
        image,
        metadata,
        userData,
        publicKeys,
        configDrive,
        availabilityZone,
        launchIndex,
        createdAt,
        Optional.empty());
  }

  /** The same spec carrying the admin password to put on the config drive. */
  public InstanceSpec withAdminPass(Optional<String> password) {
    return with(flavor, image, password);
  }

  /** The same instance booting another image (rescue, unshelve from the shelve snapshot). */
  public InstanceSpec withImage(ImageMeta other) {
    return with(flavor, other, adminPass);
  }

  /**
   * The same instance with another flavor (a resize: the old one on a source, the new one on a
   * destination).
   */
  public InstanceSpec withFlavor(Flavor other) {
    return with(other, image, adminPass);
  }

  private InstanceSpec with(Flavor newFlavor, ImageMeta newImage, Optional<String> newAdminPass) {
    return new InstanceSpec(
        uuid,
        domainName,
        displayName,
        hostname,
        projectId,
        userId,
        newFlavor,
        newImage,
        metadata,
        userData,
        publicKeys,
        configDrive,
        availabilityZone,
        launchIndex,
        createdAt,
        newAdminPass);
  }

  /** The record's text without the admin password (specs appear in logs). */
  @Override
  public String toString() {
    return "InstanceSpec[uuid="
        + uuid
        + ", domainName="
        + domainName
        + ", image="
        + image.id()
        + ", flavor="
        + flavor.name()
        + ", configDrive="
        + configDrive
        + ", adminPass="
        + (adminPass.isPresent() ? "<set>" : "<none>")
        + "]";
  }
}
