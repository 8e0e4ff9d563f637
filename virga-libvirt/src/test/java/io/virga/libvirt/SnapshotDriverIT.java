package io.virga.libvirt;

import static org.assertj.core.api.Assertions.assertThat;

import io.virga.core.DiskFormat;
import io.virga.core.ImageMeta;
import io.virga.core.TaskState;
import io.virga.libvirt.SnapshotDomain.PowerState;
import io.virga.virt.ImageSource;
import io.virga.virt.InstanceSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Snapshots through {@link LibvirtDriver#snapshot} of instances the driver itself spawned (h3's
 * disk layout, disk.info and guest XML), and a new instance spawned from the snapshot image.
 */
class SnapshotDriverIT {
  LibvirtDriverFixture fx;
  final List<TaskState> states = new ArrayList<>();
  final List<String> formats = new ArrayList<>();

  @BeforeEach
  void driver() {
    fx = new LibvirtDriverFixture();
  }

  @AfterEach
  void cleanup() {
    fx.close();
  }

  private PowerState state(InstanceSpec spec) {
    try (Guest g = fx.driver.host().lookupByName(spec.domainName()).orElseThrow()) {
      return new LibvirtSnapshotDomain(fx.driver.host(), g).powerState();
    }
  }

  private Path snapshot(InstanceSpec spec) throws Exception {
    Path kept = Files.createTempFile(fx.home, "uploaded-", ".img");
    states.clear();
    fx.driver.snapshot(
        spec,
        UUID.randomUUID().toString(),
        (file, format) -> {
          formats.add(format);
          try {
            Files.copy(file, kept, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
          } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
          }
        },
        states::add);
    assertThat(states).containsExactly(TaskState.IMAGE_PENDING_UPLOAD, TaskState.IMAGE_UPLOADING);
    assertThat(SnapshotTestImages.list(fx.driver.options().instancesPath().resolve("snapshots")))
        .as("temporary files")
        .isEmpty();
    return kept;
  }

  @Test
  void liveSnapshotOfASpawnedInstanceBootsWithItsMarker() throws Exception {
    String marker = "DRV-" + UUID.randomUUID().toString().substring(0, 8);
    InstanceSpec spec =
        fx.spawn(
            fx.spec(
                "snap-src",
                LibvirtDriverFixture.flavor(128, 0, 0),
                fx.diskImage(Map.of()),
                Optional.of("#!/bin/sh\nvirga-marker write " + marker + "\n")));
    fx.awaitConsole(spec, "VIRGA-MARKER-WRITTEN " + marker, Duration.ofSeconds(120));
    int before = fx.lastTick(spec);

    Path image = snapshot(spec);

    assertThat(formats).containsExactly("qcow2");
    assertThat(state(spec)).isEqualTo(PowerState.RUNNING);
    fx.awaitConsole(spec, "TICK " + (before + 2) + "\\b", Duration.ofSeconds(30));

    ImageMeta snap =
        new ImageMeta(
            UUID.randomUUID().toString(),
            "snap",
            DiskFormat.QCOW2,
            "bare",
            Files.size(image),
            0,
            0,
            0,
            Map.of());
    ImageSource fromSnapshot =
        (meta, target) -> {
          try {
            Files.copy(image, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
          } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
          }
        };
    InstanceSpec copy =
        fx.spec("from-snap", LibvirtDriverFixture.flavor(128, 0, 0), snap, Optional.empty());
    fx.driver.spawn(copy, fromSnapshot, t -> {});
    fx.awaitConsole(copy, "VIRGA-MARKER " + marker, Duration.ofSeconds(120));
  }

  @Test
  void pausedSuspendedAndStoppedInstancesStayThatWay() throws Exception {
    InstanceSpec spec =
        fx.spawn(
            fx.spec(
                "snap-states",
                LibvirtDriverFixture.flavor(128, 0, 0),
                fx.diskImage(Map.of()),
                Optional.empty()));
    fx.awaitConsole(spec, "TICK 1\\b", Duration.ofSeconds(120));

    fx.driver.pause(spec);
    snapshot(spec);
    assertThat(state(spec)).isEqualTo(PowerState.PAUSED);
    fx.driver.unpause(spec);

    fx.driver.suspend(spec);
    snapshot(spec);
    assertThat(state(spec)).isEqualTo(PowerState.SUSPENDED);
    fx.driver.resume(spec);
    assertThat(state(spec)).isEqualTo(PowerState.RUNNING);

    fx.driver.powerOff(spec, Duration.ZERO, Duration.ofSeconds(1));
    snapshot(spec);
    assertThat(state(spec)).isEqualTo(PowerState.SHUTOFF);
    assertThat(formats).containsOnly("qcow2");
  }
}
