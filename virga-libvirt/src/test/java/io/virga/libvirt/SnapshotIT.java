package io.virga.libvirt;

import static io.virga.libvirt.SnapshotTestImages.hasPattern;
import static io.virga.libvirt.SnapshotTestImages.list;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.virga.core.DiskFormat;
import io.virga.core.TaskState;
import io.virga.libvirt.SnapshotDomain.PowerState;
import io.virga.virt.SnapshotUpload;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.libvirt.Connect;
import org.libvirt.LibvirtException;

/**
 * Snapshot flows against the real libvirtd (qemu:///system, TCG) on a domain whose root disk is a
 * qcow2 overlay (explicit backing_fmt) over a raw base. The overlay holds a known pattern the base
 * does not; every snapshot must carry both, flattened, in the output format.
 */
class SnapshotIT {
  static final int OVERLAY_PATTERN = 0xab;
  static final long OVERLAY_OFFSET = 3L << 20;
  static Connect conn;
  static LibvirtHost host;

  @TempDir Path home;
  Path instances;
  Path instanceDir;
  Path snapshots;
  SnapshotTestDomain dom;
  final List<TaskState> states = new ArrayList<>();
  final List<String> formats = new ArrayList<>();
  Path uploaded;

  @BeforeAll
  static void connect() throws LibvirtException {
    conn = new Connect("qemu:///system");
    host = new LibvirtHost("qemu:///system");
  }

  @AfterAll
  static void disconnect() throws LibvirtException {
    host.close();
    conn.close();
  }

  @BeforeEach
  void domain() throws Exception {
    instances = home.resolve("instances");
    instanceDir = Files.createDirectories(instances.resolve("uuid-it"));
    snapshots = instances.resolve("snapshots");
    Path base = SnapshotTestImages.rawBase(home, 8);
    Path disk = SnapshotTestImages.overlay(instanceDir.resolve("disk"), base, 16);
    SnapshotTestImages.write(disk, "qcow2", OVERLAY_PATTERN, OVERLAY_OFFSET);
    DiskInfo.record(instanceDir, "disk", DiskFormat.QCOW2);
    dom = SnapshotTestDomain.define(conn, "virga-snapit", instanceDir);
    uploaded = home.resolve("uploaded");
  }

  @AfterEach
  void cleanup() throws LibvirtException {
    dom.close();
  }

  private SnapshotUpload keep() {
    return (file, format) -> {
      formats.add(format);
      try {
        Files.copy(file, uploaded);
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    };
  }

  private void snapshot(SnapshotOptions options, SnapshotUpload upload) throws LibvirtException {
    snapshot(new SnapshotFlow(options), upload);
  }

  private void snapshot(SnapshotFlow flow, SnapshotUpload upload) throws LibvirtException {
    // the entry point LibvirtDriver.snapshot delegates to: lookup by uuid, format from disk.info
    flow.snapshot(host, dom.domain.getUUIDString(), instanceDir, upload, states::add);
  }

  private PowerState state() {
    try (Guest g = dom.guest(host)) {
      return new LibvirtSnapshotDomain(host, g).powerState();
    }
  }

  private boolean persistent() throws LibvirtException {
    var d = dom.lookup();
    try {
      return d.isPersistent() == 1;
    } finally {
      d.free();
    }
  }

  private void assertSnapshotHoldsTheDisk(String format) {
    assertThat(formats).containsExactly(format);
    assertThat(SnapshotTestImages.infoFormat(uploaded, format))
        .contains("\"format\": \"" + format + "\"")
        .contains("\"virtual-size\": " + (16L << 20))
        .doesNotContain("backing-filename");
    if (format.equals("qcow2")) {
      assertThat(SnapshotTestImages.checks(uploaded, format)).as("qemu-img check").isTrue();
    }
    assertThat(hasPattern(uploaded, format, 0x5a, 0)).as("base content").isTrue();
    assertThat(hasPattern(uploaded, format, OVERLAY_PATTERN, OVERLAY_OFFSET))
        .as("overlay content")
        .isTrue();
    assertThat(states).containsExactly(TaskState.IMAGE_PENDING_UPLOAD, TaskState.IMAGE_UPLOADING);
    assertThat(list(snapshots)).as("temporary files").isEmpty();
  }

  @Test
  void liveSnapshotOfARunningDomainKeepsItRunningAndPersistent() throws Exception {
    dom.domain.create();
    int id = dom.domain.getID();

    snapshot(SnapshotOptions.defaults(instances).withImageFormat("raw"), keep());

    assertThat(state()).isEqualTo(PowerState.RUNNING);
    assertThat(persistent()).isTrue();
    assertThat(dom.lookup().getID()).as("same qemu process, never restarted").isEqualTo(id);
    assertSnapshotHoldsTheDisk("raw");
  }

  @Test
  void liveSnapshotOfAPausedDomainKeepsItPaused() throws Exception {
    dom.domain.create();
    dom.domain.suspend();

    snapshot(SnapshotOptions.defaults(instances).withCompression(true), keep());

    assertThat(state()).isEqualTo(PowerState.PAUSED);
    assertThat(persistent()).isTrue();
    assertSnapshotHoldsTheDisk("qcow2");
  }

  @Test
  void coldSnapshotOfAStoppedDomainKeepsItStopped() throws Exception {
    snapshot(SnapshotOptions.defaults(instances), keep());

    assertThat(state()).isEqualTo(PowerState.SHUTOFF);
    assertSnapshotHoldsTheDisk("qcow2");
  }

  @Test
  void coldSnapshotOfASuspendedDomainKeepsItSuspended() throws Exception {
    dom.domain.create();
    dom.domain.managedSave();

    snapshot(SnapshotOptions.defaults(instances).withImageFormat("raw"), keep());

    assertThat(state()).isEqualTo(PowerState.SUSPENDED);
    assertSnapshotHoldsTheDisk("raw");
  }

  @Test
  void disabledLiveSnapshotSavesARunningDomainAndStartsItAgain() throws Exception {
    dom.domain.create();

    snapshot(SnapshotOptions.defaults(instances).withLiveSnapshotDisabled(true), keep());

    assertThat(state()).isEqualTo(PowerState.RUNNING);
    assertThat(dom.lookup().hasManagedSaveImage()).as("restored from its save").isZero();
    assertSnapshotHoldsTheDisk("qcow2");
  }

  @Test
  void disabledLiveSnapshotOfAPausedDomainStartsItPaused() throws Exception {
    dom.domain.create();
    dom.domain.suspend();

    snapshot(SnapshotOptions.defaults(instances).withLiveSnapshotDisabled(true), keep());

    assertThat(state()).isEqualTo(PowerState.PAUSED);
    assertSnapshotHoldsTheDisk("qcow2");
  }

  @Test
  void refusedUploadLeavesTheDomainRunningPersistentAndNoFiles() throws Exception {
    dom.domain.create();

    assertThatThrownBy(
            () ->
                snapshot(
                    SnapshotOptions.defaults(instances),
                    (file, format) -> {
                      throw new IllegalStateException("image store full");
                    }))
        .hasMessage("image store full");

    assertThat(state()).isEqualTo(PowerState.RUNNING);
    assertThat(persistent()).isTrue();
    assertThat(list(snapshots)).isEmpty();
  }

  @Test
  void failedConversionLeavesTheDomainInItsPriorStateAndNoFiles() throws Exception {
    // a qemu-img whose convert writes part of the output, then fails the way a full disk does
    Path wrapper = home.resolve("qemu-img-failing-convert");
    Files.writeString(
        wrapper,
        """
        #!/bin/sh
        if [ "$1" = convert ]; then
          for last; do :; done
          head -c 65536 /dev/zero > "$last"
          echo "qemu-img: error while writing: No space left on device (injected)" >&2
          exit 1
        fi
        exec qemu-img "$@"
        """);
    Files.setPosixFilePermissions(
        wrapper, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    QemuImg failingConvert = new QemuImg(wrapper.toString(), QemuImg.Limits.DEFAULT);
    dom.domain.create();

    for (boolean disableLive : List.of(false, true)) {
      SnapshotFlow flow =
          new SnapshotFlow(
              SnapshotOptions.defaults(instances).withLiveSnapshotDisabled(disableLive),
              failingConvert);
      assertThatThrownBy(() -> snapshot(flow, keep())).hasMessageContaining("injected");

      assertThat(state()).as("disable_live_snapshot=%s", disableLive).isEqualTo(PowerState.RUNNING);
      assertThat(persistent()).isTrue();
      assertThat(list(snapshots)).isEmpty();
      assertThat(formats).isEmpty();
    }
  }

  @Test
  void agentStartRestoresADomainLeftTransientMidCopyAndRemovesItsFiles() throws Exception {
    // what an agent killed between undefine and define leaves: a transient domain with a copy job
    // still mirroring into the delta, and the saved definition in the snapshots directory
    dom.domain.create();
    Path stale =
        Files.createDirectories(snapshots.resolve(SnapshotRecovery.TEMP_PREFIX + "killed"));
    Path delta = stale.resolve("disk.delta");
    Guest g = dom.guest(host);
    LibvirtSnapshotDomain sd = new LibvirtSnapshotDomain(host, g);
    Files.writeString(stale.resolve(SnapshotRecovery.SAVED_XML), sd.persistentXml());
    Files.writeString(stale.resolve(SnapshotRecovery.SAVED_XML + ".name"), dom.name);
    Files.writeString(stale.resolve(SnapshotRecovery.SAVED_XML + ".disk"), dom.disk.toString());
    new QemuImg().createOverlay(delta, home.resolve("base.raw"), "raw", 16L << 20);
    sd.undefineKeepRunning();
    sd.blockCopyShallowReuseExternal("vda", delta.toString());
    assertThat(sd.blockJobInfo("vda")).isPresent();
    assertThat(persistent()).isFalse();
    g.close();

    int removed = new SnapshotFlow(SnapshotOptions.defaults(instances)).recoverStaleSnapshots(host);

    assertThat(removed).isEqualTo(1);
    assertThat(persistent()).isTrue();
    assertThat(state()).isEqualTo(PowerState.RUNNING);
    try (Guest after = dom.guest(host)) {
      assertThat(new LibvirtSnapshotDomain(host, after).blockJobInfo("vda")).isEmpty();
    }
    assertThat(list(snapshots)).isEmpty();
  }

  @Test
  void liveSnapshotOfATransientDomainLeavesItTransient() throws Exception {
    // a domain created without a definition (never undefined, never defined by the flow)
    String xml = dom.domain.getXMLDesc(0); // keeps the uuid the snapshot looks the domain up by
    dom.domain.undefine();
    conn.domainCreateXML(xml, 0).free();
    assertThat(persistent()).isFalse();

    snapshot(SnapshotOptions.defaults(instances), keep());

    assertThat(state()).isEqualTo(PowerState.RUNNING);
    assertThat(persistent()).isFalse();
    assertSnapshotHoldsTheDisk("qcow2");
  }
}
