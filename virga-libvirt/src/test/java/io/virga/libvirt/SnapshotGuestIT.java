package io.virga.libvirt;

import static org.assertj.core.api.Assertions.assertThat;

import io.virga.core.DiskFormat;
import io.virga.core.Flavor;
import io.virga.core.ImageMeta;
import io.virga.core.TaskState;
import io.virga.libvirt.SnapshotDomain.PowerState;
import io.virga.tinyguest.TinyGuest;
import io.virga.virt.InstanceSpec;
import io.virga.virt.SnapshotUpload;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.libvirt.Connect;
import org.libvirt.LibvirtException;

/**
 * Snapshots of the tiny guest while it runs: its user_data writes a marker to its root disk (it
 * lives only in the qcow2 overlay), the snapshot is taken while the guest prints TICK every second,
 * and a new domain booted from the snapshot prints that marker.
 */
class SnapshotGuestIT {
  static Connect conn;
  static LibvirtHost host;
  static QemuImg qemuImg = new QemuImg();
  @TempDir static Path shared;
  static Path rawBase;

  @TempDir Path home;
  Path instances;
  Path instanceDir;
  String marker;
  final List<SnapshotTestDomain> domains = new ArrayList<>();
  final List<TaskState> states = new ArrayList<>();

  @BeforeAll
  static void guest() throws LibvirtException {
    TinyGuest.Artifacts guest = TinyGuest.ensureBuilt(TinyGuest.defaultCacheDir());
    // force_raw_images: the base under an instance is raw, the root disk a qcow2 overlay over it
    rawBase = shared.resolve("base.raw");
    qemuImg.convert(guest.disk(), "qcow2", rawBase, "raw", false);
    conn = new Connect("qemu:///system");
    host = new LibvirtHost("qemu:///system");
  }

  @AfterAll
  static void disconnect() throws LibvirtException {
    host.close();
    conn.close();
  }

  @BeforeEach
  void instance() throws IOException {
    instances = home.resolve("instances");
    instanceDir = Files.createDirectories(instances.resolve(UUID.randomUUID().toString()));
    qemuImg.createOverlay(instanceDir.resolve("disk"), rawBase, "raw", 64L << 20);
    DiskInfo.record(instanceDir, "disk", DiskFormat.QCOW2);
    marker = "SNAP-" + UUID.randomUUID().toString().substring(0, 8);
    new ConfigDriveBuilder(ConfigDriveBuilder.defaultTool())
        .build(
            spec("#!/bin/sh\nvirga-marker write " + marker + "\n"),
            instanceDir.resolve("disk.config"));
  }

  @AfterEach
  void cleanup() throws LibvirtException {
    for (SnapshotTestDomain d : domains) {
      d.close();
    }
  }

  private static InstanceSpec spec(String userData) {
    return new InstanceSpec(
        UUID.randomUUID().toString(),
        "instance-00000001",
        "snapshot-it",
        "snapshot-it",
        "project",
        "user",
        new Flavor("1", "tiny", 128, 1, 1, 0, 0, Map.of()),
        new ImageMeta(
            UUID.randomUUID().toString(),
            "tiny",
            DiskFormat.QCOW2,
            "bare",
            1 << 20,
            0,
            0,
            0,
            Map.of()),
        Map.of(),
        Optional.of(userData.getBytes(StandardCharsets.UTF_8)),
        Map.of(),
        true,
        "nova",
        0,
        Instant.now());
  }

  private static SnapshotUpload copyTo(Path target) {
    return (file, format) -> {
      try {
        Files.copy(file, target);
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    };
  }

  /** Boots the original guest and waits until its marker is on disk and TICK has started. */
  private SnapshotTestDomain bootOriginal(SnapshotConsoleWatch watch) throws LibvirtException {
    SnapshotTestDomain d =
        SnapshotTestDomain.define(
            conn,
            "virga-snapguest",
            instanceDir,
            "qcow2",
            Optional.of(instanceDir.resolve("disk.config")));
    domains.add(d);
    d.domain.create();
    watch.awaitLine("VIRGA-MARKER-WRITTEN " + marker, 90_000);
    watch.awaitTick(2, 30_000);
    return d;
  }

  /** Boots a fresh domain from the snapshot file and returns its console once the marker shows. */
  private String bootFromSnapshot(Path snapshot, String format) throws Exception {
    Path dir = Files.createDirectories(instances.resolve(UUID.randomUUID().toString()));
    Files.copy(snapshot, dir.resolve("disk"));
    SnapshotTestDomain d =
        SnapshotTestDomain.define(conn, "virga-snapboot", dir, format, Optional.empty());
    domains.add(d);
    d.domain.create();
    try (SnapshotConsoleWatch w = new SnapshotConsoleWatch(d.console)) {
      w.awaitLine(TinyGuest.BOOT_LINE, 90_000);
      return w.text();
    }
  }

  private PowerState state(SnapshotTestDomain d) {
    try (Guest g = d.guest(host)) {
      return new LibvirtSnapshotDomain(host, g).powerState();
    }
  }

  @Test
  void liveSnapshotNeverStallsTheGuestAndCarriesItsMarker() throws Exception {
    Path uploaded = home.resolve("uploaded.qcow2");
    try (SnapshotConsoleWatch watch =
        new SnapshotConsoleWatch(instanceDir.resolve("console.log"))) {
      SnapshotTestDomain d = bootOriginal(watch);
      int id = d.domain.getID();
      long before = watch.lastTick();
      long t0 = System.nanoTime();

      new SnapshotFlow(SnapshotOptions.defaults(instances))
          .snapshot(host, d.domain.getUUIDString(), instanceDir, copyTo(uploaded), states::add);
      long t1 = System.nanoTime();
      watch.awaitTick(watch.lastTick() + 3, 30_000);

      long gap = watch.maxGapMs(t0, t1);
      System.out.printf(
          "live snapshot: %d ms, largest TICK gap around it %d ms, ticks %d..%d%n",
          (t1 - t0) / 1_000_000, gap, before, watch.lastTick());
      assertThat(watch.contiguous()).as("TICK counter never reset or skipped").isTrue();
      assertThat(gap)
          .as("largest gap between TICK lines during the snapshot (ms)")
          .isLessThan(2000);
      assertThat(d.lookup().getID()).as("same qemu process").isEqualTo(id);
      assertThat(state(d)).isEqualTo(PowerState.RUNNING);
      assertThat(d.lookup().isPersistent()).isEqualTo(1);
    }
    assertThat(SnapshotTestImages.checks(uploaded, "qcow2")).isTrue();
    assertThat(SnapshotTestImages.list(instances.resolve("snapshots"))).isEmpty();
    assertThat(bootFromSnapshot(uploaded, "qcow2")).contains("VIRGA-MARKER " + marker);
  }

  @Test
  void coldSnapshotOfARunningGuestResumesItsCounterAndCarriesItsMarker() throws Exception {
    Path uploaded = home.resolve("uploaded.raw");
    try (SnapshotConsoleWatch watch =
        new SnapshotConsoleWatch(instanceDir.resolve("console.log"))) {
      SnapshotTestDomain d = bootOriginal(watch);
      long before = watch.lastTick();

      new SnapshotFlow(
              SnapshotOptions.defaults(instances)
                  .withLiveSnapshotDisabled(true)
                  .withImageFormat("raw"))
          .snapshot(host, d.domain.getUUIDString(), instanceDir, copyTo(uploaded), states::add);

      assertThat(state(d)).isEqualTo(PowerState.RUNNING);
      watch.awaitTick(before + 2, 30_000);
      assertThat(watch.contiguous())
          .as("restored from its managed save, not rebooted: %s", watch.ticks())
          .isTrue();
    }
    assertThat(bootFromSnapshot(uploaded, "raw")).contains("VIRGA-MARKER " + marker);
  }

  @Test
  void liveSnapshotOfAPausedGuestLeavesItPausedAndItCountsOnWhenUnpaused() throws Exception {
    try (SnapshotConsoleWatch watch =
        new SnapshotConsoleWatch(instanceDir.resolve("console.log"))) {
      SnapshotTestDomain d = bootOriginal(watch);
      d.domain.suspend();
      long before = watch.lastTick();

      new SnapshotFlow(SnapshotOptions.defaults(instances))
          .snapshot(host, d.domain.getUUIDString(), instanceDir, (f, fmt) -> {}, states::add);

      assertThat(state(d)).isEqualTo(PowerState.PAUSED);
      d.lookup().resume();
      watch.awaitTick(before + 2, 30_000);
      assertThat(watch.contiguous()).isTrue();
    }
  }
}
