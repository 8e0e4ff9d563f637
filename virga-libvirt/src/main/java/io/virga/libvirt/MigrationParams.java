package io.virga.libvirt;

import java.util.List;
import java.util.Optional;

/**
 * What {@link Guest#migrateToUri3} passes as typed parameters.
 *
 * @param destinationXml the XML the destination runs, also its persistent definition
 * @param migrateDisks target devices to copy (block migration), empty otherwise
 * @param dataUri {@code migrate_uri}: where the data connection goes ({@code tcp://<addr>})
 * @param bandwidthMiBs 0 = unlimited
 * @param parallelConnections above 1: that many connections (with the PARALLEL flag)
 */
record MigrationParams(
    Optional<String> destinationXml,
    List<String> migrateDisks,
    Optional<String> dataUri,
    long bandwidthMiBs,
    int parallelConnections) {

  MigrationParams {
    migrateDisks = List.copyOf(migrateDisks);
  }
}
