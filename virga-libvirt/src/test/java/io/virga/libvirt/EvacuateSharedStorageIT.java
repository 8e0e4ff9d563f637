package io.virga.libvirt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.core.PowerState;
import io.virga.core.TaskState;
import io.virga.multihost.NamespacedHost;
import io.virga.multihost.NamespacedHostsFixture;
import io.virga.virt.InstanceSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Evacuate on shared storage, the driver's half, on two namespaced hosts (each its own libvirtd)
 * sharing one instances path: the tiny guest writes a marker to its root disk on host 1, host 1's
 * guest dies with its host (destroyed, its domain left defined there), and host 2 recreates it from
 * the disks it sees — the boot on host 2 reads the marker back, its new config drive carries the
 * evacuation's admin password, and host 1's later cleanup leaves the disks alone.
 */
class EvacuateSharedStorageIT {
  private static final Duration BOOT = Duration.ofSeconds(150);

  private static Map<String, String> config(NamespacedHost h) {
    return Map.of(
        "connection_uri", h.uri(), "instances_path", h.instancesDir().toString(), "host", h.name());
  }

  private static boolean hasLine(String console, String line) {
    return Pattern.compile("(?m)^" + Pattern.quote(line) + "\\s*$").matcher(console).find();
  }

  @Test
  void theSecondHostRecreatesTheGuestFromTheSharedDisksWithItsData(@TempDir Path tmp)
      throws Exception {
    try (NamespacedHostsFixture hosts = NamespacedHostsFixture.start(2, true);
        LibvirtDriverFixture one = new LibvirtDriverFixture(config(hosts.host(1)));
        LibvirtDriverFixture two = new LibvirtDriverFixture(config(hosts.host(2)))) {
      String marker = "EVAC-" + UUID.randomUUID().toString().substring(0, 8);
      InstanceSpec spec =
          one.spec(
              "evac",
              LibvirtDriverFixture.flavor(128, 0, 0),
              one.diskImage(Map.of()),
              Optional.of("#!/bin/sh\nvirga-marker write " + marker + "\n"));
      assertThat(two.driver.instanceOnDisk(spec)).as("nothing spawned yet").isFalse();
      one.spawn(spec);
      one.awaitConsole(spec, "VIRGA-MARKER-WRITTEN " + marker, BOOT);
      // the first boot found no marker: only a boot from these disks can show it
      assertThat(hasLine(one.console(spec), "VIRGA-MARKER " + marker)).isFalse();
      assertThat(two.driver.instanceOnDisk(spec)).as("host 2 sees the shared disks").isTrue();
      // host 1 dies (the control plane evacuates only from a host that is down)
      try (Guest g = one.driver.host().lookup(spec.uuid()).orElseThrow()) {
        g.destroy();
      }
      InstanceSpec evacuated = spec.withAdminPass(Optional.of("evac-pw-" + marker));
      List<TaskState> tasks = Collections.synchronizedList(new ArrayList<>());
      try {
        // the same image service as host 1's (one Glance for both hosts)
        two.driver.recreateFromDisks(evacuated, one.images, tasks::add);
        assertThat(tasks)
            .containsExactly(TaskState.REBUILD_BLOCK_DEVICE_MAPPING, TaskState.REBUILD_SPAWNING);
        assertThat(two.driver.getInfo(spec.uuid()).orElseThrow().powerState())
            .isEqualTo(PowerState.RUNNING);
        // the new domain's console.log starts afresh; only a boot from the kept disks reads it
        two.awaitConsole(evacuated, "VIRGA-GUEST-UP", BOOT);
        String console = two.console(evacuated);
        assertThat(hasLine(console, "VIRGA-MARKER " + marker)).as(console).isTrue();
        assertThat(one.fetchCount(spec.image().id())).isEqualTo(1);

        // the config drive was made afresh and carries the evacuation's password
        JsonNode md =
            LibvirtDriverFixture.configDriveMetaData(
                two.instanceDir(spec).resolve(DiskMapping.CONFIG), tmp);
        assertThat(md.path("uuid").asText()).isEqualTo(spec.uuid());
        assertThat(md.path("admin_pass").asText()).isEqualTo("evac-pw-" + marker);
        // its backing is in host 2's view of _base
        var info = new QemuImg().info(two.instanceDir(spec).resolve("disk"), "qcow2", true);
        assertThat(info.backingFile().orElseThrow())
            .startsWith(two.driver.options().baseDir().toString());

        // host 1 comes back: the disks are host 2's now, only host 1's domain goes
        assertThat(one.driver.instanceDisksTakenOver(spec)).isTrue();
        assertThat(two.driver.instanceDisksTakenOver(spec)).isFalse();
        one.driver.destroy(spec, !one.driver.instanceDisksTakenOver(spec));
        one.assertNoDomain(spec);
        assertThat(two.instanceDir(spec).resolve("disk")).isRegularFile();
        assertThat(two.driver.getInfo(spec.uuid()).orElseThrow().powerState())
            .isEqualTo(PowerState.RUNNING);
      } finally {
        two.driver.destroy(spec, false);
      }
    }
  }

  @Test
  void withoutTheDisksTheRecreateFailsAndDefinesNothing() {
    try (LibvirtDriverFixture f = new LibvirtDriverFixture()) {
      InstanceSpec spec =
          f.spec(
              "nodisk",
              LibvirtDriverFixture.flavor(128, 0, 0),
              f.diskImage(Map.of()),
              Optional.empty());
      assertThat(f.driver.instanceOnDisk(spec)).isFalse();
      assertThatThrownBy(() -> f.driver.recreateFromDisks(spec, f.images, t -> {}))
          .isInstanceOf(SpawnException.class)
          .hasMessageContaining("recreate: checkDisks");
      f.assertNoDomain(spec);
      assertThat(f.instanceDir(spec)).doesNotExist();
    }
  }
}
