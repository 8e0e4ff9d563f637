package io.virga.image;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The filesystem store: {@code <images_dir>/<image-id>}, written to {@code .<id>.<uuid>.part} and
 * renamed into place only once it is complete and verified, so a reader never sees half an image.
 */
final class ImageStore {
  private static final Logger LOG = LoggerFactory.getLogger(ImageStore.class);
  private final Path dir;

  ImageStore(Path dir) {
    this.dir = dir;
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the image store " + dir, e);
    }
    removeLeftoverParts();
  }

  Path dir() {
    return dir;
  }

  Path path(String id) {
    return dir.resolve(id);
  }

  Path newPart(String id) {
    return dir.resolve("." + id + "." + UUID.randomUUID() + ".part");
  }

  void commit(Path part, String id) throws IOException {
    try {
      Files.move(
          part, path(id), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(part, path(id), StandardCopyOption.REPLACE_EXISTING);
    }
  }

  InputStream open(String id) throws IOException {
    return Files.newInputStream(path(id));
  }

  void delete(String id) {
    deleteQuietly(path(id));
  }

  static void deleteQuietly(Path p) {
    try {
      Files.deleteIfExists(p);
    } catch (IOException e) {
      LOG.warn("cannot remove {}: {}", p, e.getMessage());
    }
  }

  /** A crash mid-upload leaves a .part file; nothing refers to it after a restart. */
  private void removeLeftoverParts() {
    try (DirectoryStream<Path> parts = Files.newDirectoryStream(dir, ".*.part")) {
      for (Path p : parts) {
        LOG.info("removing unfinished upload {}", p);
        deleteQuietly(p);
      }
    } catch (IOException e) {
      LOG.warn("cannot list {}: {}", dir, e.getMessage());
    }
  }
}
