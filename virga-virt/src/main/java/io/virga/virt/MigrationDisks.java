package io.virga.virt;

import java.util.List;

/**
 * What {@code migrate_disk_and_power_off} hands to {@code finish_migration}: the disks it moved (or
 * left in place on shared storage), each with the format recorded at creation (never re-probed) and
 * its virtual size, and whether the two hosts share the instances path.
 */
public record MigrationDisks(boolean sharedStorage, List<Disk> disks) {

  public MigrationDisks {
    disks = List.copyOf(disks);
  }

  /**
   * @param name file name in the instance directory ({@code disk}, {@code disk.local}, …)
   * @param format the format recorded in {@code disk.info}
   * @param virtualSize virtual size in bytes
   * @param backingFile the base file name in {@code _base} the disk needs, empty when none
   */
  public record Disk(String name, String format, long virtualSize, String backingFile) {}
}
