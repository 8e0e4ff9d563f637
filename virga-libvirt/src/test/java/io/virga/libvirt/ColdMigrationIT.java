package io.virga.libvirt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.virga.core.DiskFormat;
import io.virga.core.Flavor;
import io.virga.core.InvalidInputException;
import io.virga.core.PowerState;
import io.virga.virt.InstanceSpec;
import io.virga.virt.MigrationDisks;
import io.virga.virt.MigrationProgress;
import io.virga.virt.MigrationTarget;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Resize and cold migration through the real driver on the machine's libvirtd (TCG): two drivers
 * with their own instances paths stand for two hosts that share nothing but libvirtd, so the disks
 * go through the transfer channel on loopback; a third case uses one driver (same-host resize,
 * shared storage). The tiny guest's boot lines tell the root disk's size and its marker.
 */
class ColdMigrationIT {
  private static final Duration BOOT = Duration.ofSeconds(120);
  private LibvirtDriverFixture src;
  private LibvirtDriverFixture dst;

  @BeforeEach
  void hosts() {
    src = new LibvirtDriverFixture();
    dst = new LibvirtDriverFixture();
  }

  @AfterEach
  void cleanup() {
    dst.close();
    src.close();
  }

  private static Flavor flavor(int rootGb, int ephemeralGb, int swapMb) {
    return new Flavor("m" + rootGb, "mig." + rootGb, 128, 1, rootGb, ephemeralGb, swapMb, Map.of());
  }

  /** A running guest whose user data wrote a marker, with swap (which never travels). */
  private InstanceSpec markedGuest(String marker) {
    InstanceSpec spec =
        src.spec(
            "mig",
            flavor(1, 0, 16),
            src.diskImage(Map.of()),
            Optional.of("#!/bin/sh\nvirga-marker write " + marker + "\n"));
    src.spawn(spec);
    src.awaitConsole(spec, "VIRGA-MARKER-WRITTEN " + marker, BOOT);
    return spec;
  }

  @Test
  void resizeToAnotherHostKeepsTheMarkerGrowsRootAndConfirms() throws Exception {
    String marker = "resize-" + UUID.randomUUID();
    InstanceSpec spec = markedGuest(marker);
    String migrationId = UUID.randomUUID().toString();
    MigrationTarget target = dst.driver.prepareMigrationTarget(spec, migrationId);
    assertThat(target.port()).isPositive();
    List<MigrationProgress> progress = new CopyOnWriteArrayList<>();
    Flavor bigger = flavor(2, 1, 32);
    MigrationDisks disks =
        src.driver.migrateDiskAndPowerOff(
            spec, bigger, target, Duration.ofSeconds(20), Duration.ofSeconds(2), progress::add);

    assertThat(disks.sharedStorage()).isFalse();
    assertThat(disks.disks()).extracting(MigrationDisks.Disk::name).containsExactly("disk");
    assertThat(disks.disks().getFirst().format()).isEqualTo("qcow2");
    assertThat(src.instanceDir(spec)).doesNotExist();
    Path resize = src.driver.options().instancesPath().resolve(spec.uuid() + "_resize");
    assertThat(resize.resolve("disk")).exists();
    Path moved = dst.instanceDir(spec);
    assertThat(moved.resolve("disk")).exists();
    assertThat(moved.resolve("disk.info")).exists();
    assertThat(moved.resolve("disk.swap")).as("swap is not sent").doesNotExist();
    assertThat(moved.resolve("disk.config")).doesNotExist();
    MigrationProgress last = progress.getLast();
    assertThat(last.diskTotal()).isPositive();
    assertThat(last.diskProcessed()).isEqualTo(last.diskTotal());
    assertThat(last.percent()).isEqualTo(100);

    InstanceSpec resized = spec.withFlavor(bigger);
    dst.driver.finishMigration(resized, disks, src.images, true);
    String boot = dst.awaitConsole(resized, "VIRGA-GUEST-UP[^\\n]*", BOOT);
    assertThat(boot).contains(spec.uuid());
    String console = dst.console(resized);
    assertThat(console).contains("VIRGA-MARKER " + marker);
    assertThat(console).contains("VIRGA-DISK vda bytes=" + (2L << 30));
    assertThat(console).contains("VIRGA-DISK vdb bytes=" + (1L << 30) + " label=ephemeral0");
    assertThat(DiskInfo.read(moved)).containsEntry("disk.swap", DiskFormat.QCOW2);
    assertThat(dst.driver.getInfo(spec.uuid()).orElseThrow().powerState())
        .isEqualTo(PowerState.RUNNING);

    src.driver.confirmMigration(spec);
    assertThat(resize).doesNotExist();
    assertThat(dst.driver.getInfo(spec.uuid())).as("confirm leaves the new domain").isPresent();
  }

  @Test
  void revertPutsTheServerBackOnTheSourceAndCleansTheDestination() {
    String marker = "revert-" + UUID.randomUUID();
    InstanceSpec spec = markedGuest(marker);
    String migrationId = UUID.randomUUID().toString();
    MigrationTarget target = dst.driver.prepareMigrationTarget(spec, migrationId);
    MigrationDisks disks =
        src.driver.migrateDiskAndPowerOff(
            spec, spec.flavor(), target, Duration.ofSeconds(20), Duration.ofSeconds(2), p -> {});
    dst.driver.finishMigration(spec, disks, src.images, true);
    dst.awaitConsole(spec, "VIRGA-GUEST-UP", BOOT);

    dst.driver.cleanupMigrationTarget(spec, migrationId);
    assertThat(dst.instanceDir(spec)).doesNotExist();
    assertThat(dst.driver.getInfo(spec.uuid())).isEmpty();
    src.driver.finishRevertMigration(spec, src.images, true);
    assertThat(src.driver.options().instancesPath().resolve(spec.uuid() + "_resize"))
        .doesNotExist();
    src.awaitConsole(spec, "VIRGA-MARKER " + marker + "[\\s\\S]*VIRGA-GUEST-UP", BOOT);
    // console.log starts afresh with the new boot: the marker line above came from the disk
    assertThat(src.console(spec)).doesNotContain("VIRGA-POWEROFF");
    assertThat(src.driver.getInfo(spec.uuid()).orElseThrow().powerState())
        .isEqualTo(PowerState.RUNNING);
  }

  @Test
  void aStoppedServerStaysStoppedAndBootsWithItsMarkerLater() {
    String marker = "stopped-" + UUID.randomUUID();
    InstanceSpec spec = markedGuest(marker);
    src.driver.powerOff(spec, Duration.ofSeconds(20), Duration.ofSeconds(2));
    MigrationTarget target = dst.driver.prepareMigrationTarget(spec, "m-" + UUID.randomUUID());
    MigrationDisks disks =
        src.driver.migrateDiskAndPowerOff(
            spec, spec.flavor(), target, Duration.ofSeconds(20), Duration.ofSeconds(2), p -> {});
    dst.driver.finishMigration(spec, disks, src.images, false);
    assertThat(dst.driver.getInfo(spec.uuid()).orElseThrow().powerState())
        .isEqualTo(PowerState.SHUTDOWN);
    src.driver.confirmMigration(spec);
    dst.driver.powerOn(spec, src.images);
    dst.awaitConsole(spec, "VIRGA-MARKER " + marker, BOOT);
  }

  @Test
  void aKilledReceiverLeavesTheServerOnTheSourceAndNothingOnTheDestination() {
    InstanceSpec spec = markedGuest("kept");
    String migrationId = UUID.randomUUID().toString();
    MigrationTarget target = dst.driver.prepareMigrationTarget(spec, migrationId);
    dst.driver.cleanupMigrationTarget(spec, migrationId); // e.g. the server was deleted
    assertThatThrownBy(
            () ->
                src.driver.migrateDiskAndPowerOff(
                    spec,
                    spec.flavor(),
                    target,
                    Duration.ofSeconds(20),
                    Duration.ofSeconds(2),
                    p -> {}))
        .isInstanceOf(MigrationException.class)
        .hasMessageContaining("copyDisks");
    assertThat(src.instanceDir(spec).resolve("disk")).exists();
    assertThat(src.driver.options().instancesPath().resolve(spec.uuid() + "_resize"))
        .doesNotExist();
    assertThat(dst.instanceDir(spec)).doesNotExist();
    // the domain is still defined here (powered off): the caller starts it again
    src.driver.powerOn(spec, src.images);
    assertThat(src.driver.getInfo(spec.uuid()).orElseThrow().powerState())
        .isEqualTo(PowerState.RUNNING);
  }

  @Test
  void shrinkingIsRefusedBeforeAnythingMoves() throws Exception {
    // the destination builds its config drive beside the transfer with a slow xorriso: the
    // clean-up below must wait for that build, not leave it writing in the instances path
    java.nio.file.Path slow = java.nio.file.Files.createTempFile("xorriso-slow-", "");
    java.nio.file.Files.writeString(
        slow, "#!/bin/sh\nsleep 2\nexec " + ConfigDriveBuilder.defaultTool() + " \"$@\"\n");
    slow.toFile().setExecutable(true);
    dst.close();
    dst = new LibvirtDriverFixture(Map.of("mkisofs_cmd", slow.toString()));
    InstanceSpec spec =
        src.spec("shrink", flavor(2, 1, 0), src.diskImage(Map.of()), Optional.empty());
    src.spawn(spec);
    String migrationId = "m-" + UUID.randomUUID();
    MigrationTarget target = dst.driver.prepareMigrationTarget(spec, migrationId);
    assertThatThrownBy(
            () ->
                src.driver.migrateDiskAndPowerOff(
                    spec,
                    flavor(1, 1, 0),
                    target,
                    Duration.ofSeconds(5),
                    Duration.ofSeconds(1),
                    p -> {}))
        .isInstanceOf(MigrationException.class)
        .hasMessageContaining("checkDiskSizes")
        .hasCauseInstanceOf(InvalidInputException.class);
    assertThat(src.driver.getInfo(spec.uuid()).orElseThrow().powerState())
        .as("not even powered off")
        .isEqualTo(PowerState.RUNNING);
    // the failed migration's destination half is cleaned up, as the agent does: nothing of it
    // is left, nor still being written (the config drive built beside the transfer included)
    dst.driver.cleanupMigrationTarget(spec, migrationId);
    try (var left = java.nio.file.Files.list(dst.driver.options().instancesPath())) {
      assertThat(left.map(p -> p.getFileName().toString()))
          .noneMatch(n -> n.startsWith(".virga-shared-probe-") || n.startsWith(spec.uuid()));
    } finally {
      java.nio.file.Files.delete(slow);
    }
  }

  @Test
  void sameHostResizeOnSharedStorageCopiesLocallyAndReverts() {
    String marker = "samehost-" + UUID.randomUUID();
    InstanceSpec spec = markedGuest(marker);
    String migrationId = UUID.randomUUID().toString();
    MigrationTarget target = src.driver.prepareMigrationTarget(spec, migrationId);
    Flavor bigger = flavor(2, 0, 16);
    MigrationDisks disks =
        src.driver.migrateDiskAndPowerOff(
            spec, bigger, target, Duration.ofSeconds(20), Duration.ofSeconds(2), p -> {});
    assertThat(disks.sharedStorage()).isTrue();
    InstanceSpec resized = spec.withFlavor(bigger);
    src.driver.finishMigration(resized, disks, src.images, true);
    src.awaitConsole(resized, "VIRGA-DISK vda bytes=" + (2L << 30), BOOT);
    // revert: the destination half, then the source half, on the same host
    src.driver.cleanupMigrationTarget(resized, migrationId);
    src.driver.finishRevertMigration(spec, src.images, true);
    src.awaitConsole(spec, "VIRGA-DISK vda bytes=" + (1L << 30), BOOT);
    src.awaitConsole(spec, "VIRGA-MARKER " + marker, BOOT);
    assertThat(src.driver.options().instancesPath().resolve(spec.uuid() + "_resize"))
        .doesNotExist();
  }
}
