package io.virga.api;

import io.virga.core.ConflictException;
import io.virga.core.ImageMeta;
import io.virga.core.InvalidInputException;
import io.virga.core.NotImplementedException;
import io.virga.image.ImageService;

/**
 * The image service as compute needs it: an image the caller may boot from. Throws
 * NotFoundException for an image that does not exist or that the caller may not see, and
 * InvalidInputException for one that is not active.
 */
@FunctionalInterface
public interface ComputeImages {
  ImageMeta bootable(AuthContext caller, String imageId);

  /** The image service itself, for the compute API's image proxy (below 2.36). */
  default java.util.Optional<ImageService> service() {
    return java.util.Optional.empty();
  }

  /** Where {@code createImage} makes its snapshot entries; 501 without an image service. */
  default SnapshotImages snapshots() {
    throw new NotImplementedException("this compute API has no image service for snapshots");
  }

  /** Over the image service: visibility as image v2 shows it, then an active image's metadata. */
  static ComputeImages of(ImageService images) {
    SnapshotImages snapshots = new SnapshotImages(images);
    return new ComputeImages() {
      @Override
      public ImageMeta bootable(AuthContext caller, String id) {
        if (images
            .find(new ImageService.Caller(caller.project(), caller.isAdmin()), id)
            .isEmpty()) {
          throw new InvalidInputException("Can not find requested image: " + id);
        }
        try {
          return images.get(id);
        } catch (ConflictException e) {
          throw new InvalidInputException("Image " + id + " is not active.");
        }
      }

      @Override
      public SnapshotImages snapshots() {
        return snapshots;
      }

      @Override
      public java.util.Optional<ImageService> service() {
        return java.util.Optional.of(images);
      }
    };
  }
}
