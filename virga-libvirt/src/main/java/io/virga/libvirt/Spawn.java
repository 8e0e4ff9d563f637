package io.virga.libvirt;

import io.virga.core.FileTrees;
import io.virga.core.PowerState;
import io.virga.core.TaskState;
import io.virga.virt.ImageSource;
import io.virga.virt.InstanceSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Nova's spawn, step by step: {@code createImage} (instance dir, console.log, root / ephemeral /
 * swap disks, kernel and ramdisk, config drive) → {@code getGuestXml} (libvirt.xml) → {@code
 * createDomainAndNetwork} (define, start, wait for RUNNING). A failure destroys and undefines the
 * domain and removes everything this spawn created — never a shared base — and the exception names
 * the step.
 */
final class Spawn {
  private static final Logger LOG = LoggerFactory.getLogger(Spawn.class);
  static final String CONSOLE_LOG = "console.log";

  /** Side jobs of a spawn (the config drive build): a process wait, fine on a virtual thread. */
  private static final java.util.concurrent.ExecutorService SIDE_JOBS =
      java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();

  private final LibvirtDriverContext ctx;
  private final GuestDefinition definition;

  Spawn(LibvirtDriverContext ctx) {
    this.ctx = ctx;
    this.definition = new GuestDefinition(ctx);
  }

  /** What this spawn made, so a failure removes exactly that. */
  private static final class Created {
    volatile boolean instanceDir;
    final List<Path> files = new java.util.concurrent.CopyOnWriteArrayList<>();
    volatile boolean domain;
  }

  void spawn(InstanceSpec spec, ImageSource images, Consumer<TaskState> taskState) {
    long t0 = System.nanoTime();
    Path dir = ctx.opts.instanceDir(spec.uuid());
    boolean configDrive = spec.configDrive() || ctx.opts.forceConfigDrive();
    Created created = new Created();
    String step = "networking";
    StringBuilder timings = new StringBuilder();
    Optional<CompletableFuture<Void>> configDriveJob = Optional.empty();
    try {
      taskState.accept(TaskState.NETWORKING); // Virga attaches no ports yet: nothing to plug
      taskState.accept(TaskState.BLOCK_DEVICE_MAPPING);
      DiskMapping mapping =
          DiskMapping.forInstance(spec.flavor(), configDrive, ctx.opts.cdromBus());
      taskState.accept(TaskState.SPAWNING);
      step = "createImage";
      long t = System.nanoTime();
      createInstanceDir(dir, created);
      // The ISO needs nothing from the disks: xorriso runs while the disks are made.
      configDriveJob =
          configDrive
              ? Optional.of(
                  CompletableFuture.runAsync(
                      () -> createConfigDrive(spec, dir, created), SIDE_JOBS))
              : Optional.empty();
      Optional<GuestConfigBuilder.KernelBoot> kernel = createImage(spec, images, dir, created);
      t = lap(timings, step, t);
      if (configDriveJob.isPresent()) {
        step = "createConfigDrive";
        await(configDriveJob.get());
        t = lap(timings, step + " (beyond createImage)", t);
      }
      step = "getGuestXml";
      String xml = definition.getGuestXml(spec, dir, mapping, kernel);
      writeLibvirtXml(dir, xml, created);
      t = lap(timings, step, t);
      step = "createDomainAndNetwork";
      createDomainAndNetwork(spec, xml, created);
      lap(timings, step, t);
      LOG.info(
          "instance {}: spawned {} in {} ms ({})",
          spec.uuid(),
          spec.domainName(),
          (System.nanoTime() - t0) / 1_000_000,
          timings);
    } catch (RuntimeException e) {
      LOG.warn("instance {}: spawn failed at {}: {}", spec.uuid(), step, e.toString());
      // never clean up under a running ISO build: let it finish (or fail) first
      configDriveJob.ifPresent(j -> j.handle((ok, err) -> null).join());
      cleanup(spec, dir, created, e);
      throw new SpawnException(spec.uuid(), step, e);
    }
  }

  /** Appends "step N ms" to the spawn's timing line; returns now. */
  private static long lap(StringBuilder timings, String step, long since) {
    long now = System.nanoTime();
    timings.append(timings.isEmpty() ? "" : ", ").append(step).append(' ');
    timings.append((now - since) / 1_000_000).append(" ms");
    return now;
  }

  /** The config drive's result, with its own exception rather than the future's wrapper. */
  private static void await(CompletableFuture<Void> job) {
    try {
      job.join();
    } catch (java.util.concurrent.CompletionException e) {
      if (e.getCause() instanceof RuntimeException re) {
        throw re;
      }
      throw e;
    }
  }

  /** The instance dir and an empty console.log (createImage's first step). */
  private static void createInstanceDir(Path dir, Created created) {
    try {
      if (!Files.isDirectory(dir)) {
        Files.createDirectories(dir.getParent());
        Files.createDirectory(dir);
        created.instanceDir = true;
      }
      Path console = dir.resolve(CONSOLE_LOG);
      if (!Files.exists(console)) {
        Files.createFile(console);
        created.files.add(console);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create instance directory " + dir + ": " + e, e);
    }
  }

  /** The disks and kernel/ramdisk from the cache. */
  private Optional<GuestConfigBuilder.KernelBoot> createImage(
      InstanceSpec spec, ImageSource images, Path dir, Created created) {
    var flavor = spec.flavor();
    track(created, dir, DiskInfo.FILE);
    track(created, dir, ImageBackend.ROOT);
    ctx.backend.createRoot(dir, spec.image(), images, (long) flavor.rootGb() << 30);
    if (flavor.ephemeralGb() > 0) {
      track(created, dir, ImageBackend.EPHEMERAL);
      ctx.backend.createEphemeral(dir, flavor.ephemeralGb());
    }
    if (flavor.swapMb() > 0) {
      track(created, dir, ImageBackend.SWAP);
      ctx.backend.createSwap(dir, flavor.swapMb());
    }
    return definition.kernelBoot(spec, images);
  }

  private static void track(Created created, Path dir, String name) {
    Path p = dir.resolve(name);
    if (!Files.exists(p)) {
      created.files.add(p);
    }
  }

  private void createConfigDrive(InstanceSpec spec, Path dir, Created created) {
    Path target = dir.resolve(DiskMapping.CONFIG);
    created.files.add(target);
    ctx.configDrive.build(spec, target);
  }

  private static void writeLibvirtXml(Path dir, String xml, Created created) {
    Path target = dir.resolve(GuestDefinition.LIBVIRT_XML);
    if (created != null && !Files.exists(target)) {
      created.files.add(target);
    }
    GuestDefinition.writeLibvirtXml(dir, xml);
  }

  private void createDomainAndNetwork(InstanceSpec spec, String xml, Created created) {
    try (Guest guest = ctx.host.define(xml)) {
      created.domain = true;
      guest.launch(false);
      guest.waitFor(PowerState.RUNNING, ctx.opts.spawnTimeout());
    }
  }

  /** Undo: destroy + undefine the domain, remove what we created, keep going on errors. */
  private void cleanup(InstanceSpec spec, Path dir, Created created, RuntimeException cause) {
    if (created.domain) {
      guarded(cause, () -> ctx.host.lookup(spec.uuid()).ifPresent(Destroy::destroyAndUndefine));
    }
    if (created.instanceDir) {
      guarded(cause, () -> FileTrees.deleteTree(dir));
    } else {
      for (Path p : created.files.reversed()) {
        guarded(
            cause,
            () -> {
              try {
                Files.deleteIfExists(p);
              } catch (IOException e) {
                throw new UncheckedIOException(e);
              }
            });
      }
    }
  }

  private static void guarded(RuntimeException cause, Runnable r) {
    try {
      r.run();
    } catch (RuntimeException e) {
      cause.addSuppressed(e);
      LOG.error("cleanup after failed spawn: {}", e.toString());
    }
  }
}
