package io.virga.libvirt;

import static org.assertj.core.api.Assertions.assertThat;

import io.virga.core.Flavor;
import io.virga.core.PowerState;
import io.virga.virt.InstanceSpec;
import io.virga.virt.MigrationDisks;
import io.virga.virt.MigrationTarget;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Resize to the other namespaced host (own libvirtd each), confirm, then a cold migration back that
 * is reverted: the marker survives every move and the root disk grows with the flavor.
 */
class ColdMigrationTwoHostsIT {
  private static final Duration BOOT = Duration.ofSeconds(120);

  private static Flavor flavor(int rootGb) {
    return new Flavor("c" + rootGb, "cold." + rootGb, 128, 1, rootGb, 0, 16, Map.of());
  }

  private static MigrationDisks move(
      InstanceSpec spec,
      Flavor newFlavor,
      LibvirtDriverFixture from,
      LibvirtDriverFixture to,
      String migrationId) {
    MigrationTarget t = to.driver.prepareMigrationTarget(spec, migrationId);
    return from.driver.migrateDiskAndPowerOff(
        spec, newFlavor, t, Duration.ofSeconds(30), Duration.ofSeconds(3), p -> {});
  }

  @Test
  void resizeThereConfirmThenMigrateBackAndRevert() {
    try (TwoHosts h = new TwoHosts(false, Map.of())) {
      String marker = "cold2-" + UUID.randomUUID();
      InstanceSpec spec =
          h.one.spec(
              "cold",
              flavor(1),
              h.one.diskImage(Map.of()),
              Optional.of("#!/bin/sh\nvirga-marker write " + marker + "\n"));
      h.one.spawn(spec);
      h.one.awaitConsole(spec, "VIRGA-MARKER-WRITTEN", BOOT);

      InstanceSpec bigger = spec.withFlavor(flavor(2));
      MigrationDisks d = move(spec, flavor(2), h.one, h.two, "m1");
      assertThat(d.sharedStorage()).isFalse();
      h.two.driver.finishMigration(bigger, d, h.one.images, true);
      h.two.awaitConsole(bigger, "VIRGA-MARKER " + marker, BOOT);
      assertThat(h.two.console(bigger)).contains("VIRGA-DISK vda bytes=" + (2L << 30));
      h.one.driver.confirmMigration(spec);
      assertThat(h.one.driver.getInfo(spec.uuid())).isEmpty();
      assertThat(h.one.instanceDir(spec)).doesNotExist();

      // back to host 1, then reverted: it ends on host 2 as it was, running, marker intact
      MigrationDisks back = move(bigger, flavor(2), h.two, h.one, "m2");
      h.one.driver.finishMigration(bigger, back, h.one.images, true);
      h.one.awaitConsole(bigger, "VIRGA-GUEST-UP", BOOT);
      h.one.driver.cleanupMigrationTarget(bigger, "m2");
      assertThat(h.one.driver.getInfo(spec.uuid())).isEmpty();
      assertThat(h.one.instanceDir(spec)).doesNotExist();
      h.two.driver.finishRevertMigration(bigger, h.one.images, true);
      h.two.awaitConsole(bigger, "VIRGA-MARKER " + marker + "[\\s\\S]*VIRGA-GUEST-UP", BOOT);
      assertThat(h.two.driver.getInfo(spec.uuid()).orElseThrow().powerState())
          .isEqualTo(PowerState.RUNNING);
    }
  }
}
