package io.virga.api;

import io.virga.core.ImageMeta;

/**
 * The image service as compute needs it: an image the caller may boot from. Throws
 * NotFoundException for an image that does not exist or that the caller may not see, and
 * InvalidInputException for one that is not active.
 */
@FunctionalInterface
public interface ComputeImages {
  ImageMeta bootable(AuthContext caller, String imageId);
}
