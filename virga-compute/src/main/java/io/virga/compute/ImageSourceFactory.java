package io.virga.compute;

import io.virga.core.Instance;
import io.virga.core.NotImplementedException;
import io.virga.virt.ImageSource;
import io.virga.virt.SnapshotUpload;
import java.util.Optional;

/**
 * How the agent reaches the image service for one instance's action: where its driver fetches image
 * bytes from and where a snapshot of it is uploaded to. The wiring supplies it (an HTTP client of
 * the image API, or the image store itself in {@code virga up}).
 */
@FunctionalInterface
public interface ImageSourceFactory {
  ImageSource forInstance(Instance instance);

  /** Where a snapshot of {@code instance} into image {@code imageId} is uploaded. */
  default SnapshotUpload forSnapshot(Instance instance, String imageId) {
    throw new NotImplementedException("snapshot upload is not wired to an image service");
  }

  /**
   * A snapshot of {@code instance} did not finish (failed, lost its task, or was interrupted by an
   * agent restart): its image entry must not stay queued or saving. With {@code imageId} that one
   * entry, else every unfinished snapshot entry of the instance. Implementations do not throw.
   */
  default void abandonSnapshot(Instance instance, Optional<String> imageId) {
    throw new NotImplementedException("snapshot clean-up is not wired to an image service");
  }

  /** Deletes the backups of {@code instance} of this type beyond the newest {@code rotation}. */
  default void rotateBackups(Instance instance, String backupType, int rotation) {
    throw new NotImplementedException("backup rotation is not wired to an image service");
  }

  /** Deletes an image the agent no longer needs (the snapshot an unshelve booted from). */
  default void deleteImage(Instance instance, String imageId) {
    throw new NotImplementedException("image deletion is not wired to an image service");
  }
}
