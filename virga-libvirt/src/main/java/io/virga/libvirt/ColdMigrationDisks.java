package io.virga.libvirt;

import io.virga.core.DiskFormat;
import io.virga.core.Flavor;
import io.virga.core.InvalidInputException;
import io.virga.virt.InstanceSpec;
import io.virga.virt.MigrationDisks;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What cold migration does to disks: which files travel (every disk but swap, plus {@code
 * disk.info}; the destination regenerates the config drive, the XML and the console log), the
 * shrink check, and growing disks to the new flavor with the recorded format.
 */
final class ColdMigrationDisks {
  /** Files the destination makes itself, never sent. */
  static final Set<String> REGENERATED =
      Set.of(
          ImageBackend.SWAP,
          DiskMapping.CONFIG,
          GuestDefinition.LIBVIRT_XML,
          Spawn.CONSOLE_LOG,
          ColdMigrationDest.MARKER);

  private ColdMigrationDisks() {}

  /**
   * Nova refuses a resize that shrinks the root or the ephemeral disk ("Unable to resize disk
   * down").
   */
  static void refuseShrinking(InstanceSpec spec, Flavor newFlavor) {
    Flavor old = spec.flavor();
    if (newFlavor.rootGb() > 0 && newFlavor.rootGb() < old.rootGb()) {
      throw new InvalidInputException(
          "unable to resize disk down: root disk "
              + old.rootGb()
              + " GB cannot become "
              + newFlavor.rootGb()
              + " GB");
    }
    if (newFlavor.ephemeralGb() < old.ephemeralGb()) {
      throw new InvalidInputException(
          "unable to resize disk down: ephemeral disk "
              + old.ephemeralGb()
              + " GB cannot become "
              + newFlavor.ephemeralGb()
              + " GB");
    }
  }

  /** The disks of an instance directory (recorded formats, virtual sizes, backing file names). */
  static MigrationDisks describe(QemuImg qemuImg, Path dir, boolean shared) throws IOException {
    List<MigrationDisks.Disk> out = new ArrayList<>();
    for (Map.Entry<String, DiskFormat> e : DiskInfo.read(dir).entrySet()) {
      Path f = dir.resolve(e.getKey());
      if (REGENERATED.contains(e.getKey()) || !Files.isRegularFile(f)) {
        continue;
      }
      long virtualSize;
      Optional<String> backing;
      if (e.getValue() == DiskFormat.QCOW2) { // recorded, not probed: the header is read in Java
        Qcow2Header h = Qcow2Header.read(f);
        virtualSize = h.virtualSize();
        backing = h.backingFile();
      } else if (e.getValue() == DiskFormat.RAW) {
        virtualSize = Files.size(f);
        backing = Optional.empty();
      } else {
        QemuImg.Info info = qemuImg.info(f, e.getValue(), true);
        virtualSize = info.virtualSize();
        backing = info.backingFile();
      }
      out.add(
          new MigrationDisks.Disk(
              e.getKey(),
              e.getValue().qemuName(),
              virtualSize,
              backing.map(b -> Path.of(b).getFileName().toString()).orElse("")));
    }
    return new MigrationDisks(shared, out);
  }

  /** The files to send: every regular file but the regenerated and temporary ones. */
  static List<Path> filesToSend(Path dir) throws IOException {
    try (var s = Files.list(dir)) {
      return s.filter(Files::isRegularFile)
          .filter(
              p -> {
                String n = p.getFileName().toString();
                return !REGENERATED.contains(n)
                    && !n.endsWith(".part")
                    && !n.endsWith(".tmp")
                    && DiskTransferProtocol.safeName(n);
              })
          .sorted()
          .toList();
    }
  }

  /** {@code qemu-img resize -f <recorded format>} of root and ephemeral to the new flavor. */
  static void grow(LibvirtDriverContext ctx, Path dir, Flavor flavor, MigrationDisks disks) {
    for (MigrationDisks.Disk d : disks.disks()) {
      long want =
          switch (d.name()) {
            case ImageBackend.ROOT -> (long) flavor.rootGb() << 30;
            case ImageBackend.EPHEMERAL -> (long) flavor.ephemeralGb() << 30;
            default -> 0;
          };
      if (want > d.virtualSize()) {
        ctx.backend.cache().qemuImg().resize(dir.resolve(d.name()), d.format(), want);
      }
    }
    boolean hadEphemeral =
        disks.disks().stream().anyMatch(d -> d.name().equals(ImageBackend.EPHEMERAL));
    if (!hadEphemeral && flavor.ephemeralGb() > 0) {
      ctx.backend.createEphemeral(dir, flavor.ephemeralGb());
    }
  }

  /** Swap is never sent: made again at the new flavor's size (or not at all). */
  static void recreateSwap(LibvirtDriverContext ctx, Path dir, Flavor flavor) throws IOException {
    Files.deleteIfExists(dir.resolve(ImageBackend.SWAP));
    if (flavor.swapMb() > 0) {
      ctx.backend.createSwap(dir, flavor.swapMb());
    }
  }
}
