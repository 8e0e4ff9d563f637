package io.virga.libvirt;

import io.virga.core.Flavor;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Which file becomes which guest device (Nova's {@code blockinfo.get_disk_mapping}): root {@code
 * disk} on vda, then {@code disk.local} (ephemeral) and {@code disk.swap} on the next virtio
 * letters, and {@code disk.config} as a cdrom on the last device of the cdrom bus (hdd on ide, sda
 * on sata) — the tiny guest's Debian cloud kernel has ata_piix but no ahci, so pc + ide is the
 * default.
 */
record DiskMapping(List<Entry> entries) {
  public static final String ROOT = "disk";
  public static final String EPHEMERAL = "disk.local";
  public static final String SWAP = "disk.swap";
  public static final String CONFIG = "disk.config";

  /**
   * @param name the file name in the instance dir
   * @param device {@code disk} or {@code cdrom}
   */
  public record Entry(String name, String dev, String bus, String device) {}

  public DiskMapping {
    entries = List.copyOf(entries);
  }

  public static DiskMapping forInstance(Flavor flavor, boolean configDrive, String cdromBus) {
    List<Entry> out = new ArrayList<>();
    char next = 'a';
    out.add(new Entry(ROOT, "vd" + next++, "virtio", "disk"));
    if (flavor.ephemeralGb() > 0) {
      out.add(new Entry(EPHEMERAL, "vd" + next++, "virtio", "disk"));
    }
    if (flavor.swapMb() > 0) {
      out.add(new Entry(SWAP, "vd" + next, "virtio", "disk"));
    }
    if (configDrive) {
      String dev =
          switch (cdromBus) {
            case "ide" -> "hdd";
            case "sata", "scsi" -> "sda";
            default -> throw new IllegalArgumentException("unsupported cdrom bus " + cdromBus);
          };
      out.add(new Entry(CONFIG, dev, cdromBus, "cdrom"));
    }
    return new DiskMapping(out);
  }

  public Optional<Entry> get(String name) {
    return entries.stream().filter(e -> e.name().equals(name)).findFirst();
  }
}
