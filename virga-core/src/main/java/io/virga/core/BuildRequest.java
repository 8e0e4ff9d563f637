package io.virga.core;

import java.util.Optional;

/**
 * What an agent needs to start a build, read in one conductor call — Nova's conductor sends the
 * same with {@code build_and_run_instance}: the instance, its image and the filter properties that
 * name its server group.
 *
 * @param image empty when the image is gone from the image service (the build then fails with the
 *     image service's own NotFound)
 * @param group the instance's server group with its other live members, empty when it has none
 */
public record BuildRequest(
    Instance instance, Optional<ImageMeta> image, Optional<ServerGroupMembers> group) {}
