package io.virga.libvirt;

import io.virga.core.InvalidInputException;
import io.virga.core.InvalidStateException;
import io.virga.core.PowerState;
import io.virga.virt.InstanceSpec;
import io.virga.virt.LiveMigrationData;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Nova's {@code check_can_live_migrate_destination} / {@code _source}: free disk on the
 * destination, a shared-path probe, the hypervisor type and (under kvm) CPU compatibility checked
 * against the destination's own libvirt, and block migration settled ("auto" = block when the path
 * is not shared).
 */
final class LiveMigrationChecks {
  private static final Logger LOG = LoggerFactory.getLogger(LiveMigrationChecks.class);
  static final String PROBE_PREFIX = ".virga-live-probe-";
  private static final SecureRandom RANDOM = new SecureRandom();

  private final LibvirtDriverContext ctx;
  private final MigrationOptions opts;

  LiveMigrationChecks(LibvirtDriverContext ctx, MigrationOptions opts) {
    this.ctx = ctx;
    this.opts = opts;
  }

  /** Destination: room for the disks unless block migration is ruled out, and a probe. */
  LiveMigrationData checkDestination(
      InstanceSpec spec, Optional<Boolean> blockMigration, String hostname) {
    Path instances = ctx.opts.instancesPath();
    try {
      Files.createDirectories(instances);
      if (!blockMigration.equals(Optional.of(false))) {
        long need =
            ((long) spec.flavor().rootGb() << 30)
                + ((long) spec.flavor().ephemeralGb() << 30)
                + ((long) spec.flavor().swapMb() << 20);
        long free = Files.getFileStore(instances).getUsableSpace();
        if (free < need) {
          throw new InvalidStateException(
              "host "
                  + hostname
                  + " has "
                  + (free >> 20)
                  + " MiB free for "
                  + (need >> 20)
                  + " MiB of disks");
        }
      }
      String probe = PROBE_PREFIX + HexFormat.of().formatHex(random());
      Files.createFile(instances.resolve(probe));
      return new LiveMigrationData(
          hostname,
          opts.migrationUri(opts.inboundAddr()),
          opts.inboundAddr(),
          false,
          blockMigration.orElse(false),
          Optional.of(probe),
          Optional.empty(),
          List.of());
    } catch (IOException e) {
      throw new UncheckedIOException("check_can_live_migrate_destination on " + hostname, e);
    }
  }

  private static byte[] random() {
    byte[] b = new byte[8];
    RANDOM.nextBytes(b);
    return b;
  }

  void cleanupDestinationCheck(LiveMigrationData data) {
    data.sharedStorageProbe()
        .filter(p -> p.startsWith(PROBE_PREFIX) && !p.contains("/"))
        .ifPresent(p -> ColdMigrationDest.deleteQuietly(ctx.opts.instancesPath().resolve(p)));
  }

  /**
   * Source: shared path from the probe, block migration settled, the destination's libvirt asked.
   */
  LiveMigrationData checkSource(
      InstanceSpec spec, LiveMigrationData dest, Optional<Boolean> blockMigration) {
    boolean shared =
        dest.sharedStorageProbe()
            .filter(p -> p.startsWith(PROBE_PREFIX) && !p.contains("/"))
            .map(p -> Files.exists(ctx.opts.instancesPath().resolve(p)))
            .orElse(false);
    boolean block = blockMigration.orElse(!shared);
    if (block && shared) {
      throw new InvalidInputException(
          "block migration requested, but " + dest.destHost() + " shares the instances path");
    }
    if (!block && !shared) {
      throw new InvalidInputException(
          dest.destHost() + " does not share the instances path: use block migration");
    }
    String xml;
    try (Guest g =
        ctx.host
            .lookup(spec.uuid())
            .orElseThrow(
                () -> new InvalidStateException("instance " + spec.uuid() + " is not here"))) {
      PowerState s = g.powerState();
      if (s != PowerState.RUNNING && s != PowerState.PAUSED) {
        throw new InvalidStateException("instance " + spec.uuid() + " is " + s + ", not running");
      }
      xml = g.xml(1);
    }
    checkDestinationHypervisor(dest, xml);
    List<String> disks = block ? DomainDisks.of(xml).writableDevs() : List.of();
    LOG.info(
        "instance {}: live migration to {}: shared path {}, block {}",
        spec.uuid(),
        dest.destHost(),
        shared,
        block);
    return new LiveMigrationData(
        dest.destHost(),
        dest.destMigrationUri(),
        dest.destAddress(),
        shared,
        block,
        dest.sharedStorageProbe(),
        dest.destinationXml(),
        disks);
  }

  /**
   * Under kvm the guest's CPU must suit the destination: {@code compareCPU} on the destination's
   * own libvirt. Under TCG there is no host CPU to match; that both hosts run the same virt_type is
   * checked by the control plane from their reports, and again by {@link LiveMigration} against the
   * destination XML before anything moves.
   */
  private void checkDestinationHypervisor(LiveMigrationData dest, String domainXml) {
    if (!ctx.opts.virtType().equals("kvm")) {
      return;
    }
    LiveMigrationXml.cpu(domainXml)
        .ifPresent(
            cpu -> {
              try (LibvirtHost remote = new LibvirtHost(dest.destMigrationUri())) {
                if (remote.compareCpu(cpu) <= 0) { // 0 incompatible, -1 error
                  throw new InvalidStateException(
                      dest.destHost() + " has a CPU incompatible with the guest's");
                }
              }
            });
  }
}
