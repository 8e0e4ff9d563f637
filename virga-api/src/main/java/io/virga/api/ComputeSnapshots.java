package io.virga.api;

import io.virga.core.NotImplementedException;
import io.virga.db.InstanceRecord;
import io.virga.image.ImageService;
import io.virga.image.ImageSpec;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The image side of {@code createImage}: the queued snapshot image the agent uploads into, and its
 * removal when the snapshot cannot start.
 */
public interface ComputeSnapshots {
  /** Creates the queued, private snapshot image of {@code instance}; returns its id. */
  String create(
      AuthContext caller, InstanceRecord instance, String name, Map<String, String> metadata);

  void discard(String imageId);

  /** Snapshots into this image service (the image is owned by the caller's project, as in Nova). */
  static ComputeSnapshots of(ImageService images) {
    return new ComputeSnapshots() {
      @Override
      public String create(
          AuthContext caller, InstanceRecord instance, String name, Map<String, String> metadata) {
        Map<String, String> props = new HashMap<>(metadata);
        props.put("image_type", "snapshot");
        props.put("instance_uuid", instance.uuid());
        props.put("base_image_ref", instance.imageRef());
        props.put("user_id", caller.userId());
        ImageSpec spec =
            new ImageSpec(
                Optional.empty(),
                Optional.of(name),
                Optional.empty(),
                Optional.empty(),
                "private",
                instance.flavor().rootGb(),
                0,
                false,
                false,
                List.of(),
                props);
        return images
            .create(new ImageService.Caller(caller.project(), caller.isAdmin()), spec)
            .id();
      }

      @Override
      public void discard(String imageId) {
        images.kill(imageId);
      }
    };
  }

  /** For deployments without an image service: createImage answers 501. */
  static ComputeSnapshots unsupported() {
    return new ComputeSnapshots() {
      @Override
      public String create(
          AuthContext caller, InstanceRecord instance, String name, Map<String, String> metadata) {
        throw new NotImplementedException("createImage needs an image service");
      }

      @Override
      public void discard(String imageId) {}
    };
  }
}
