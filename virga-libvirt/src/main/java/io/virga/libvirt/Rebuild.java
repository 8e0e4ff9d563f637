package io.virga.libvirt;

import io.virga.core.TaskState;
import io.virga.virt.ImageSource;
import io.virga.virt.InstanceSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Nova's rebuild on libvirt ({@code _rebuild_default_impl} → {@code destroy} → {@code spawn}): the
 * domain goes, then the root disk, the config drive and swap (the ephemeral disk too, unless {@code
 * preserve_ephemeral}); the instance directory and its console.log stay. Then {@link Spawn} builds
 * it again from the new image over the base cache with the same uuid and domain name — a kept
 * ephemeral disk is reused as it is, and the config drive is regenerated from the new spec.
 */
final class Rebuild {
  private static final Logger LOG = LoggerFactory.getLogger(Rebuild.class);

  private final LibvirtDriverContext ctx;
  private final Spawn spawn;

  Rebuild(LibvirtDriverContext ctx, Spawn spawn) {
    this.ctx = ctx;
    this.spawn = spawn;
  }

  void rebuild(
      InstanceSpec spec,
      ImageSource images,
      boolean preserveEphemeral,
      Consumer<TaskState> taskState) {
    Path dir = ctx.opts.instanceDir(spec.uuid());
    taskState.accept(TaskState.REBUILD_BLOCK_DEVICE_MAPPING);
    String step = "destroy";
    try {
      ctx.host.lookup(spec.uuid()).ifPresent(Destroy::destroyAndUndefine);
      step = "removeDisks";
      for (String name : disksToRemove(preserveEphemeral)) {
        Files.deleteIfExists(dir.resolve(name));
        if (Files.isDirectory(dir)) {
          DiskInfo.forget(dir, name);
        }
      }
    } catch (IOException e) {
      throw new SpawnException(spec.uuid(), "rebuild: " + step, new UncheckedIOException(e));
    } catch (RuntimeException e) {
      throw new SpawnException(spec.uuid(), "rebuild: " + step, e);
    }
    LOG.info(
        "instance {}: old domain and disks removed{}; spawning from image {}",
        spec.uuid(),
        preserveEphemeral ? " (ephemeral kept)" : "",
        spec.image().id());
    taskState.accept(TaskState.REBUILD_SPAWNING);
    // spawn's own task states (networking …) belong to a build, not to a rebuild
    spawn.spawn(spec, images, t -> {});
  }

  /** What a rebuild recreates: everything made from the image or the spec, not the user's data. */
  static List<String> disksToRemove(boolean preserveEphemeral) {
    List<String> out = new ArrayList<>(List.of(ImageBackend.ROOT, DiskMapping.CONFIG));
    out.add(ImageBackend.SWAP);
    if (!preserveEphemeral) {
      out.add(ImageBackend.EPHEMERAL);
    }
    return out;
  }
}
