package io.virga.libvirt;

import io.virga.core.NotFoundException;
import io.virga.core.PowerState;
import io.virga.virt.ImageSource;
import io.virga.virt.InstanceSpec;
import io.virga.virt.RebootType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Power and lifecycle actions (DESIGN §3.2, Nova's power_off / power_on / reboot / pause / suspend
 * / resume): a clean shutdown re-sends the ACPI power button every retry interval up to the timeout
 * and only then destroys; hard reboot regenerates the XML and recreates missing backing files
 * before starting.
 */
final class Power {
  private static final Logger LOG = LoggerFactory.getLogger(Power.class);
  private static final long POLL_MS = 100;

  private final LibvirtDriverContext ctx;
  private final GuestDefinition definition;

  Power(LibvirtDriverContext ctx) {
    this.ctx = ctx;
    this.definition = new GuestDefinition(ctx);
  }

  private Guest guest(InstanceSpec spec) {
    return ctx.host
        .lookup(spec.uuid())
        .orElseThrow(
            () ->
                new NotFoundException("instance " + spec.uuid() + " is not defined on this host"));
  }

  void powerOff(InstanceSpec spec, Duration timeout, Duration retryInterval) {
    try (Guest g = guest(spec)) {
      if (!g.isActive()) {
        return;
      }
      if (!timeout.isZero() && cleanShutdown(spec, g, timeout, retryInterval)) {
        return;
      }
      LOG.info("instance {}: destroying after clean shutdown timeout {}", spec.uuid(), timeout);
      g.destroy();
    }
  }

  /**
   * Nova's {@code _clean_shutdown}: ACPI shutdown, re-sent every {@code retryInterval}, until the
   * guest is off or {@code timeout} passes. True when the guest shut itself down.
   */
  boolean cleanShutdown(InstanceSpec spec, Guest g, Duration timeout, Duration retryInterval) {
    long start = System.nanoTime();
    long deadline = start + timeout.toNanos();
    long nextSend = start;
    while (true) {
      long now = System.nanoTime();
      if (now >= nextSend) {
        try {
          g.shutdown();
        } catch (LibvirtException e) {
          if (!g.isActive()) {
            return true;
          }
          throw e;
        }
        nextSend = now + Math.max(retryInterval.toNanos(), 1);
      }
      if (!g.isActive()) {
        LOG.info(
            "instance {}: shut down cleanly in {} ms",
            spec.uuid(),
            (System.nanoTime() - start) / 1_000_000);
        return true;
      }
      if (System.nanoTime() >= deadline) {
        return false;
      }
      Guest.sleep(POLL_MS);
    }
  }

  /** Nova powers on through a hard reboot: the XML is regenerated and backing files checked. */
  void powerOn(InstanceSpec spec, ImageSource images) {
    hardReboot(spec, images);
  }

  void reboot(InstanceSpec spec, RebootType type, ImageSource images) {
    if (type == RebootType.SOFT && softReboot(spec)) {
      return;
    }
    hardReboot(spec, images);
  }

  /**
   * Shutdown + start; false (so the caller hard-reboots) when the guest is not running or does not
   * shut down within the shutdown timeout.
   */
  private boolean softReboot(InstanceSpec spec) {
    try (Guest g = guest(spec)) {
      if (g.powerState() != PowerState.RUNNING) {
        return false;
      }
      if (!cleanShutdown(spec, g, ctx.opts.shutdownTimeout(), ctx.opts.shutdownRetryInterval())) {
        LOG.info("instance {}: soft reboot timed out, falling back to hard reboot", spec.uuid());
        return false;
      }
      g.launch(false);
      g.waitFor(PowerState.RUNNING, ctx.opts.spawnTimeout());
      return true;
    }
  }

  /** Destroy, regenerate the XML, recreate missing backing files, define and start. */
  void hardReboot(InstanceSpec spec, ImageSource images) {
    Path dir = ctx.opts.instanceDir(spec.uuid());
    String step = "destroy";
    try {
      ctx.host
          .lookup(spec.uuid())
          .ifPresent(
              g -> {
                try (g) {
                  g.destroy();
                }
              });
      step = "ensureBacking";
      ctx.backend.ensureBacking(dir, spec.image(), images);
      step = "getGuestXml";
      var mapping =
          DiskMapping.forInstance(
              spec.flavor(), Files.exists(dir.resolve(DiskMapping.CONFIG)), ctx.opts.cdromBus());
      String xml = definition.getGuestXml(spec, dir, mapping, definition.kernelBoot(spec, images));
      GuestDefinition.writeLibvirtXml(dir, xml);
      step = "createDomain";
      try (Guest g = ctx.host.define(xml)) {
        g.launch(false);
        g.waitFor(PowerState.RUNNING, ctx.opts.spawnTimeout());
      }
    } catch (RuntimeException e) {
      throw new SpawnException(spec.uuid(), "hard reboot: " + step, e);
    }
  }

  void pause(InstanceSpec spec) {
    try (Guest g = guest(spec)) {
      g.pause();
    }
  }

  void unpause(InstanceSpec spec) {
    try (Guest g = guest(spec)) {
      g.resume();
    }
  }

  /** managedSave: memory to disk, the domain stays defined and shut off. */
  void suspend(InstanceSpec spec) {
    try (Guest g = guest(spec)) {
      g.managedSave();
    }
  }

  /** Starting a domain with a managed-save image restores it. */
  void resume(InstanceSpec spec) {
    try (Guest g = guest(spec)) {
      if (!g.hasManagedSave()) {
        LOG.warn("instance {}: resume without a managed save image boots afresh", spec.uuid());
      }
      g.launch(false);
      g.waitFor(PowerState.RUNNING, ctx.opts.spawnTimeout());
    }
  }
}
