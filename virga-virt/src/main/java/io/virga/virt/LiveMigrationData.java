package io.virga.virt;

import java.util.List;
import java.util.Optional;

/**
 * What the checks and {@code pre_live_migration} decide for one live migration (Nova's
 * LibvirtLiveMigrateData), passed source → destination → source.
 *
 * @param destHost the destination's compute host name
 * @param destMigrationUri libvirt URI the source migrates to peer-to-peer ({@code
 *     qemu+tcp://<host>/system})
 * @param destAddress the destination's migration address (qemu.conf {@code migration_host}), for
 *     the data connection
 * @param sharedInstancePath both hosts see the same instances directory
 * @param blockMigration copy the disks (NON_SHARED_INC) rather than relying on shared storage
 * @param sharedStorageProbe probe file the destination created for the shared-path check
 * @param destinationXml the domain XML the destination should run (set by pre_live_migration)
 * @param migrateDisks target device names copied in a block migration ({@code vda}, …)
 */
public record LiveMigrationData(
    String destHost,
    String destMigrationUri,
    String destAddress,
    boolean sharedInstancePath,
    boolean blockMigration,
    Optional<String> sharedStorageProbe,
    Optional<String> destinationXml,
    List<String> migrateDisks) {

  public LiveMigrationData {
    migrateDisks = List.copyOf(migrateDisks);
  }

  public LiveMigrationData withBlockMigration(boolean block, List<String> disks) {
    return new LiveMigrationData(
        destHost,
        destMigrationUri,
        destAddress,
        sharedInstancePath,
        block,
        sharedStorageProbe,
        destinationXml,
        disks);
  }

  public LiveMigrationData withDestinationXml(String xml) {
    return new LiveMigrationData(
        destHost,
        destMigrationUri,
        destAddress,
        sharedInstancePath,
        blockMigration,
        sharedStorageProbe,
        Optional.of(xml),
        migrateDisks);
  }
}
