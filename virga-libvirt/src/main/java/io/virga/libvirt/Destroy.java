package io.virga.libvirt;

import io.virga.core.FileTrees;
import io.virga.virt.InstanceSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Nova's destroy + cleanup: destroy the domain, undefine it with its managed-save image, rename the
 * instance dir to {@code <uuid>_del} and remove it. What cannot be removed now is left for {@link
 * #cleanupLeftovers}, which a periodic task calls.
 */
final class Destroy {
  private static final Logger LOG = LoggerFactory.getLogger(Destroy.class);
  static final String DEL_SUFFIX = "_del";

  private final LibvirtDriverContext ctx;

  Destroy(LibvirtDriverContext ctx) {
    this.ctx = ctx;
  }

  void destroy(InstanceSpec spec, boolean destroyDisks) {
    ctx.host.lookup(spec.uuid()).ifPresent(Destroy::destroyAndUndefine);
    if (destroyDisks && !deleteInstanceFiles(spec.uuid())) {
      LOG.warn(
          "instance {}: files could not all be removed; the periodic cleanup retries", spec.uuid());
    }
  }

  /** Destroy and undefine (with its managed-save image), then free the handle. */
  static void destroyAndUndefine(Guest g) {
    try (g) {
      g.destroy();
      g.undefine();
    }
  }

  /** Rename to {@code <uuid>_del}, then remove; true when nothing is left. */
  boolean deleteInstanceFiles(String uuid) {
    Path dir = ctx.opts.instanceDir(uuid);
    Path del = ctx.opts.instancesPath().resolve(uuid + DEL_SUFFIX);
    try {
      if (Files.exists(dir)) {
        if (Files.exists(del)) {
          FileTrees.deleteTree(del);
        }
        Files.move(dir, del, StandardCopyOption.ATOMIC_MOVE);
      }
      FileTrees.deleteTree(del);
    } catch (IOException | RuntimeException e) {
      LOG.warn("instance {}: cannot remove its files: {}", uuid, e.toString());
    }
    return !Files.exists(dir) && !Files.exists(del);
  }

  /** Retry removal for deleted instances; returns the uuids whose files are still there. */
  List<String> cleanupLeftovers(List<String> deletedUuids) {
    List<String> left = new ArrayList<>();
    for (String uuid : deletedUuids) {
      if (!deleteInstanceFiles(uuid)) {
        left.add(uuid);
      }
    }
    return left;
  }
}
