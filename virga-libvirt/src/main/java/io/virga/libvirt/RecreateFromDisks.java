package io.virga.libvirt;

import io.virga.core.PowerState;
import io.virga.core.TaskState;
import io.virga.virt.ImageSource;
import io.virga.virt.InstanceSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Evacuate on shared storage (Nova's {@code rebuild_instance} with recreate and on_shared_storage,
 * whose libvirt spawn finds the disks already there): the instance directory another host left on
 * the shared instances path is taken over as it is — root, ephemeral and swap disks kept with the
 * user's data; backing files this host's {@code _base} lacks recreated (and a disk naming another
 * host's base moved onto ours); the config drive made afresh from the spec (new admin password,
 * current metadata); libvirt.xml regenerated; the domain defined and started here. The file {@value
 * #RECREATED_BY} names the host that took the disks over, so the host it left never deletes them
 * ({@code _destroy_evacuated_instances} with shared storage). A failure undefines the domain this
 * made and leaves every disk in place.
 */
final class RecreateFromDisks {
  private static final Logger LOG = LoggerFactory.getLogger(RecreateFromDisks.class);
  static final String RECREATED_BY = "recreated-by";

  private final LibvirtDriverContext ctx;
  private final GuestDefinition definition;

  RecreateFromDisks(LibvirtDriverContext ctx) {
    this.ctx = ctx;
    this.definition = new GuestDefinition(ctx);
  }

  /** Nova's {@code instance_on_disk}: the instance directory is here, writable, with its root. */
  boolean instanceOnDisk(InstanceSpec spec) {
    Path dir = ctx.opts.instanceDir(spec.uuid());
    return Files.isDirectory(dir)
        && Files.isWritable(dir)
        && Files.isRegularFile(dir.resolve(ImageBackend.ROOT));
  }

  void recreate(
      InstanceSpec spec, ImageSource images, Consumer<TaskState> taskState, String hostname) {
    Path dir = ctx.opts.instanceDir(spec.uuid());
    boolean configDrive = spec.configDrive() || ctx.opts.forceConfigDrive();
    taskState.accept(TaskState.REBUILD_BLOCK_DEVICE_MAPPING);
    String step = "checkDisks";
    boolean defined = false;
    try {
      if (!instanceOnDisk(spec)) {
        throw new IllegalStateException(
            "the instance's disks are not in " + dir + " on this host: storage is not shared");
      }
      // a domain this host kept from an earlier attempt is recreated like the rest
      step = "destroy";
      ctx.host.lookup(spec.uuid()).ifPresent(Destroy::destroyAndUndefine);
      step = "ensureBacking";
      ctx.backend.ensureBacking(dir, spec.image(), images);
      step = "createConfigDrive";
      Path drive = dir.resolve(DiskMapping.CONFIG);
      Files.deleteIfExists(drive);
      if (configDrive) {
        ctx.configDrive.build(spec, drive);
      }
      taskState.accept(TaskState.REBUILD_SPAWNING);
      step = "getGuestXml";
      String xml = definition.regenerate(spec, dir, configDrive, images);
      step = "createDomainAndNetwork";
      try (Guest g = ctx.host.define(xml)) {
        defined = true;
        g.launch(false);
        g.waitFor(PowerState.RUNNING, ctx.opts.spawnTimeout());
      }
      Files.writeString(dir.resolve(RECREATED_BY), hostname + "\n", StandardCharsets.UTF_8);
      LOG.info("instance {}: recreated from its disks in {} on {}", spec.uuid(), dir, hostname);
    } catch (IOException e) {
      undefine(spec, defined);
      throw new SpawnException(spec.uuid(), "recreate: " + step, new UncheckedIOException(e));
    } catch (RuntimeException e) {
      undefine(spec, defined);
      throw new SpawnException(spec.uuid(), "recreate: " + step, e);
    }
  }

  private void undefine(InstanceSpec spec, boolean defined) {
    if (!defined) {
      return;
    }
    try {
      ctx.host.lookup(spec.uuid()).ifPresent(Destroy::destroyAndUndefine);
    } catch (RuntimeException e) {
      LOG.warn(
          "instance {}: cannot undefine after a failed recreate: {}", spec.uuid(), e.toString());
    }
  }

  /** The host that last recreated the instance from these disks, if any did. */
  Optional<String> recreatedBy(InstanceSpec spec) {
    Path f = ctx.opts.instanceDir(spec.uuid()).resolve(RECREATED_BY);
    try {
      return Files.isRegularFile(f)
          ? Optional.of(Files.readString(f, StandardCharsets.UTF_8).strip())
          : Optional.empty();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + f, e);
    }
  }
}
