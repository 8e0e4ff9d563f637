package io.virga.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.virga.core.VirgaException;
import io.virga.db.ImageRecord;
import io.virga.db.InstanceRecord;
import io.virga.image.ImageService;
import io.virga.image.ImageSpec;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The image side of a server snapshot (Nova's {@code create_image} + the driver's upload + {@code
 * delete_image_on_error}): the queued entry the API creates, the upload that makes it active, and
 * the clean-up of an entry whose snapshot failed or was interrupted — deleted, or marked killed if
 * even that fails, never left queued or saving.
 */
public final class SnapshotImages {
  private static final Logger LOG = LoggerFactory.getLogger(SnapshotImages.class);

  /**
   * Base-image properties a snapshot does not inherit (Nova's NON_INHERITABLE_IMAGE_PROPERTIES).
   */
  private static final Set<String> NOT_INHERITED =
      Set.of(
          "img_signature",
          "img_signature_hash_method",
          "img_signature_key_type",
          "img_signature_certificate_uuid",
          "cinder_encryption_key_id",
          "cinder_encryption_key_deletion_policy",
          "image_location",
          "image_state",
          "owner_id",
          "owner",
          "stores");

  private final ImageService images;

  public SnapshotImages(ImageService images) {
    this.images = images;
  }

  /** What the user asked for in {@code createImage}. */
  public record Request(String name, Map<String, String> metadata) {
    public Request {
      metadata = Map.copyOf(metadata);
    }
  }

  /**
   * The queued entry for a snapshot of {@code server}: private, owned by the server's project, the
   * base image's formats (the agent replaces disk_format with the one it produced), min_disk the
   * flavor's root disk, min_ram the base image's, and Nova's snapshot properties over the base
   * image's inheritable ones, the request's metadata last.
   */
  public ImageRecord createQueued(InstanceRecord server, AuthContext caller, Request request) {
    Optional<ImageRecord> base = images.record(server.imageRef());
    Map<String, String> props = new LinkedHashMap<>();
    base.ifPresent(
        b ->
            b.properties()
                .forEach(
                    (k, v) -> {
                      if (!NOT_INHERITED.contains(k) && !k.startsWith("os_glance")) {
                        props.put(k, v);
                      }
                    }));
    props.put("image_type", "snapshot");
    props.put("instance_uuid", server.uuid());
    props.put("base_image_ref", server.imageRef());
    props.put("user_id", caller.userId());
    props.put("owner_user_name", caller.userName());
    if (caller.projectId().equals(Optional.of(server.projectId()))) {
      caller.projectName().ifPresent(n -> props.put("owner_project_name", n));
    }
    props.putAll(request.metadata());
    ImageSpec spec =
        ImageSpec.of(
                request.name(),
                base.flatMap(ImageRecord::diskFormat).orElse("qcow2"),
                base.flatMap(ImageRecord::containerFormat).orElse("bare"))
            .withMinimums(server.flavor().rootGb(), base.map(ImageRecord::minRam).orElse(0))
            .withProperties(props);
    return images.create(ImageService.Caller.system(server.projectId()), spec);
  }

  /**
   * Streams a finished snapshot file into its queued entry (queued → saving → active, size,
   * checksums and virtual size as on any upload). {@code diskFormat} is what the driver produced;
   * the entry's disk_format is set to it first. On any failure the entry is abandoned and the error
   * rethrown.
   */
  public ImageRecord upload(String imageId, Path file, String diskFormat) {
    try {
      ImageRecord r =
          images
              .record(imageId)
              .orElseThrow(
                  () -> new VirgaException("snapshot image " + imageId + " no longer exists"));
      ImageService.Caller owner = ImageService.Caller.system(r.owner().orElse(""));
      if (!r.diskFormat().equals(Optional.of(diskFormat))) {
        ObjectNode op = JsonNodeFactory.instance.objectNode();
        op.put("op", "replace").put("path", "/disk_format").put("value", diskFormat);
        images.update(owner, imageId, List.<JsonNode>of(op));
      }
      try (InputStream in = Files.newInputStream(file)) {
        ImageRecord active = images.upload(owner, imageId, in);
        LOG.info(
            "snapshot image {} active: {} bytes, {}",
            imageId,
            active.size().orElse(0L),
            diskFormat);
        return active;
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read the snapshot file " + file, e);
      }
    } catch (RuntimeException e) {
      abandon(imageId);
      throw e;
    }
  }

  /**
   * A snapshot that did not finish: its entry is deleted unless it is already active (Nova's
   * "delete the image unless it became active"); if the delete fails it is marked killed. Never
   * throws.
   */
  public void abandon(String imageId) {
    try {
      Optional<ImageRecord> r = images.record(imageId);
      if (r.isEmpty() || r.get().status().equals("active")) {
        return;
      }
      try {
        images.delete(ImageService.Caller.system(r.get().owner().orElse("")), imageId);
        LOG.info(
            "deleted snapshot image {} ({}): its snapshot did not finish",
            imageId,
            r.get().status());
      } catch (RuntimeException e) {
        images.kill(imageId);
        LOG.warn(
            "snapshot image {} could not be deleted ({}); marked killed", imageId, e.toString());
      }
    } catch (RuntimeException e) {
      LOG.error("cannot clean up snapshot image {}", imageId, e);
    }
  }

  /**
   * Abandons every snapshot of {@code instanceUuid} (owned by {@code projectId}) still queued or
   * saving: the agent-start recovery, which does not know the image id of a snapshot a dead agent
   * left. Returns how many were found.
   */
  public int abandonUnfinished(String instanceUuid, String projectId) {
    ImageService.Caller owner = ImageService.Caller.system(projectId);
    int n = 0;
    for (String status : List.of("queued", "saving")) {
      List<ImageRecord> found =
          images.list(
              owner,
              Map.of("status", status, "owner", projectId),
              List.of(),
              Optional.empty(),
              List.of(),
              Optional.empty(),
              images.listLimitMax());
      for (ImageRecord r : found) {
        if (instanceUuid.equals(r.properties().get("instance_uuid"))
            && List.of("snapshot", "backup").contains(r.properties().get("image_type"))) {
          abandon(r.id());
          n++;
        }
      }
    }
    return n;
  }

  /**
   * Nova's {@code _rotate_backups}: of the active backups of {@code instanceUuid} with this {@code
   * backup_type}, all but the newest {@code rotation} are deleted. Returns the ids deleted.
   */
  public List<String> rotateBackups(
      String instanceUuid, String projectId, String backupType, int rotation) {
    ImageService.Caller owner = ImageService.Caller.system(projectId);
    List<ImageRecord> backups =
        images
            .list(
                owner,
                Map.of("status", "active", "owner", projectId),
                List.of(),
                Optional.empty(),
                List.of(Map.entry("created_at", "desc")),
                Optional.empty(),
                images.listLimitMax())
            .stream()
            .filter(
                r ->
                    instanceUuid.equals(r.properties().get("instance_uuid"))
                        && "backup".equals(r.properties().get("image_type"))
                        && backupType.equals(r.properties().get("backup_type")))
            .sorted(
                java.util.Comparator.comparingLong(ImageRecord::createdAt)
                    .reversed()
                    .thenComparing(ImageRecord::id))
            .toList();
    List<String> deleted = new java.util.ArrayList<>();
    for (ImageRecord r : backups.subList(Math.min(rotation, backups.size()), backups.size())) {
      images.delete(owner, r.id());
      deleted.add(r.id());
      LOG.info("rotated out backup image {} of instance {}", r.id(), instanceUuid);
    }
    return deleted;
  }

  /** Deletes an image the compute side made and no longer needs (the shelve snapshot). */
  public void delete(String imageId) {
    images
        .record(imageId)
        .ifPresent(r -> images.delete(ImageService.Caller.system(r.owner().orElse("")), imageId));
  }
}
