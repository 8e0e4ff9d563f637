package io.virga.server;

import io.virga.api.SnapshotImages;
import io.virga.compute.ImageSourceFactory;
import io.virga.core.Instance;
import io.virga.virt.ImageSource;
import io.virga.virt.SnapshotUpload;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code virga up}'s agent side of the image service, in the same process: bases are fetched from
 * {@code source}, a snapshot file is streamed straight into the store ({@link
 * SnapshotImages#upload}: queued → saving → active with size, checksums and virtual size), and a
 * snapshot that did not finish has its entry deleted ({@link SnapshotImages#abandon}).
 */
final class InProcessSnapshotUpload implements ImageSourceFactory {
  private static final Logger LOG = LoggerFactory.getLogger(InProcessSnapshotUpload.class);

  private final ImageSource source;
  private final SnapshotImages snapshots;

  InProcessSnapshotUpload(ImageSource source, SnapshotImages snapshots) {
    this.source = source;
    this.snapshots = snapshots;
  }

  @Override
  public ImageSource forInstance(Instance instance) {
    return source;
  }

  @Override
  public SnapshotUpload forSnapshot(Instance instance, String imageId) {
    return (file, diskFormat) -> snapshots.upload(imageId, file, diskFormat);
  }

  @Override
  public void abandonSnapshot(Instance instance, Optional<String> imageId) {
    if (imageId.isPresent()) {
      snapshots.abandon(imageId.get());
      return;
    }
    int n = snapshots.abandonUnfinished(instance.uuid(), instance.projectId());
    if (n > 0) {
      LOG.info("instance {}: removed {} unfinished snapshot image(s)", instance.uuid(), n);
    }
  }

  @Override
  public void rotateBackups(Instance instance, String backupType, int rotation) {
    snapshots.rotateBackups(instance.uuid(), instance.projectId(), backupType, rotation);
  }

  @Override
  public void deleteImage(Instance instance, String imageId) {
    snapshots.delete(imageId);
  }
}
