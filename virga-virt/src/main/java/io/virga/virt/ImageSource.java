package io.virga.virt;

import io.virga.core.ImageMeta;
import java.nio.file.Path;

/**
 * Where the driver gets image bytes from: the image service in a running system, a local directory
 * in tests. Implementations write the whole image to {@code target} or throw.
 */
@FunctionalInterface
public interface ImageSource {
  void fetch(ImageMeta image, Path target);
}
