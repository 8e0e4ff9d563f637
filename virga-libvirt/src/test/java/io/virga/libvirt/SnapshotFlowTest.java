package io.virga.libvirt;

import static io.virga.libvirt.SnapshotTestImages.hasPattern;
import static io.virga.libvirt.SnapshotTestImages.list;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.virga.core.TaskState;
import io.virga.libvirt.SnapshotDomain.PowerState;
import io.virga.virt.SnapshotUpload;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The snapshot flow against a fake domain and real qemu-img on small files. */
class SnapshotFlowTest {
  @TempDir Path home;
  Path disk;
  Path snapshots;
  final List<TaskState> states = new ArrayList<>();
  final List<String> uploaded = new ArrayList<>();
  Path uploadedCopy;

  @BeforeEach
  void disks() throws IOException {
    Path instance = Files.createDirectories(home.resolve("instances/uuid-1"));
    Path base = SnapshotTestImages.rawBase(home, 8);
    disk = SnapshotTestImages.overlay(instance.resolve("disk"), base, 8);
    SnapshotTestImages.write(disk, "qcow2", 0xab, 1 << 20);
    snapshots = home.resolve("instances/snapshots");
    uploadedCopy = home.resolve("uploaded");
  }

  private SnapshotUpload recordingUpload() {
    return (file, format) -> {
      uploaded.add(format);
      try {
        Files.copy(file, uploadedCopy);
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    };
  }

  private SnapshotFlow flow(SnapshotOptions options) {
    return new SnapshotFlow(options);
  }

  private SnapshotOptions defaults() {
    return SnapshotOptions.defaults(home.resolve("instances"));
  }

  @Test
  void liveSnapshotOfARunningDomainCopiesTheDiskAndLeavesItPersistent() {
    SnapshotFakeDomain dom = new SnapshotFakeDomain(disk, "qcow2", PowerState.RUNNING);

    flow(defaults()).snapshot(dom, disk, Optional.of("qcow2"), recordingUpload(), states::add);

    assertThat(dom.calls).containsExactly("undefine", "blockRebase", "blockJobAbort", "define");
    assertThat(dom.persistent).isTrue();
    assertThat(dom.state).isEqualTo(PowerState.RUNNING);
    assertThat(states).containsExactly(TaskState.IMAGE_PENDING_UPLOAD, TaskState.IMAGE_UPLOADING);
    assertThat(uploaded).containsExactly("qcow2");
    assertThat(SnapshotTestImages.infoFormat(uploadedCopy, "qcow2")).doesNotContain("backing");
    assertThat(hasPattern(uploadedCopy, "qcow2", 0x5a, 0)).as("base content").isTrue();
    assertThat(hasPattern(uploadedCopy, "qcow2", 0xab, 1 << 20)).as("overlay content").isTrue();
    assertThat(list(snapshots)).isEmpty();
  }

  @Test
  void liveSnapshotOfAPausedDomainStaysPaused() {
    SnapshotFakeDomain dom = new SnapshotFakeDomain(disk, "qcow2", PowerState.PAUSED);

    flow(defaults().withImageFormat("raw"))
        .snapshot(dom, disk, Optional.empty(), recordingUpload(), states::add);

    assertThat(dom.calls).doesNotContain("managedSave", "start", "startPaused");
    assertThat(dom.state).isEqualTo(PowerState.PAUSED);
    assertThat(uploaded).containsExactly("raw");
    assertThat(hasPattern(uploadedCopy, "raw", 0xab, 1 << 20)).isTrue();
  }

  @Test
  void failedBlockCopyDefinesTheDomainAgainAndRemovesTheDelta() {
    SnapshotFakeDomain dom = new SnapshotFakeDomain(disk, "qcow2", PowerState.RUNNING);
    dom.failStep = "blockRebase";

    assertThatThrownBy(
            () ->
                flow(defaults())
                    .snapshot(dom, disk, Optional.empty(), recordingUpload(), states::add))
        .hasMessageContaining("injected failure at blockRebase");

    assertThat(dom.calls).containsExactly("undefine", "blockRebase", "define");
    assertThat(dom.persistent).isTrue();
    assertThat(uploaded).isEmpty();
    assertThat(list(snapshots)).isEmpty();
  }

  @Test
  void mirrorThatNeverBecomesReadyIsAbortedAfterTheTimeout() {
    SnapshotFakeDomain dom = new SnapshotFakeDomain(disk, "qcow2", PowerState.RUNNING);
    dom.pollsUntilReady = Integer.MAX_VALUE;
    SnapshotOptions opts =
        new SnapshotOptions(Optional.empty(), false, false, snapshots, Duration.ofMillis(300));

    assertThatThrownBy(
            () -> flow(opts).snapshot(dom, disk, Optional.empty(), recordingUpload(), states::add))
        .hasMessageContaining("was not ready after");

    assertThat(dom.calls).containsExactly("undefine", "blockRebase", "blockJobAbort", "define");
    assertThat(dom.job).isEmpty();
    assertThat(dom.persistent).isTrue();
    assertThat(list(snapshots)).isEmpty();
  }

  @Test
  void failedDefineIsReportedAndTheSavedXmlIsKeptForRecovery() {
    SnapshotFakeDomain dom = new SnapshotFakeDomain(disk, "qcow2", PowerState.RUNNING);
    dom.failStep = "define";

    assertThatThrownBy(
            () ->
                flow(defaults())
                    .snapshot(dom, disk, Optional.empty(), recordingUpload(), states::add))
        .hasMessageContaining("injected failure at define");

    assertThat(dom.persistent).isFalse();
    assertThat(uploaded).isEmpty();
    // only the saved definition is left, and the next agent start defines it again
    assertThat(
            list(snapshots).stream()
                .filter(Files::isRegularFile)
                .map(p -> p.getFileName().toString()))
        .containsExactlyInAnyOrder(
            SnapshotRecovery.SAVED_XML,
            SnapshotRecovery.SAVED_XML + ".name",
            SnapshotRecovery.SAVED_XML + ".disk");
    dom.failStep = "";
    int removed = SnapshotRecovery.cleanupStaleSnapshots(snapshots, (name, xml) -> dom.define(xml));
    assertThat(removed).isEqualTo(1);
    assertThat(dom.persistent).isTrue();
    assertThat(list(snapshots)).isEmpty();
  }

  @Test
  void instanceDeletedDuringTheCopyIsNotDefinedAgain() {
    SnapshotFakeDomain dom =
        new SnapshotFakeDomain(disk, "qcow2", PowerState.RUNNING) {
          @Override
          public Optional<Guest.BlockJob> blockJobInfo(String dev) {
            if (calls.contains("blockRebase")) {
              // delete: destroy (a transient domain vanishes with its job), then remove the files
              job = Optional.empty();
              SnapshotRecovery.deleteTree(disk.getParent());
            }
            return super.blockJobInfo(dev);
          }

          @Override
          public void blockJobAbort(String dev) {
            calls.add("blockJobAbort");
            throw new SnapshotException("Domain not found");
          }
        };

    assertThatThrownBy(
            () ->
                flow(defaults())
                    .snapshot(dom, disk, Optional.empty(), recordingUpload(), states::add))
        .hasMessageContaining("ended before its mirror was ready")
        .satisfies(
            e ->
                assertThat(e.getSuppressed())
                    .anySatisfy(
                        s -> assertThat(s).hasMessageContaining("deleted during the snapshot")));

    assertThat(dom.calls).doesNotContain("define");
    assertThat(dom.persistent).isFalse();
    assertThat(uploaded).isEmpty();
    assertThat(list(snapshots)).as("nothing kept that would bring it back").isEmpty();
  }

  @Test
  void uploadFailureLeavesNoTemporaryFiles() {
    SnapshotFakeDomain dom = new SnapshotFakeDomain(disk, "qcow2", PowerState.RUNNING);
    SnapshotUpload refusing =
        (file, format) -> {
          assertThat(file).exists();
          throw new IllegalStateException("store full");
        };

    assertThatThrownBy(
            () -> flow(defaults()).snapshot(dom, disk, Optional.empty(), refusing, states::add))
        .hasMessage("store full");

    assertThat(dom.persistent).isTrue();
    assertThat(dom.state).isEqualTo(PowerState.RUNNING);
    assertThat(list(snapshots)).isEmpty();
  }

  @Test
  void coldSnapshotRestoresEachPriorPowerState() {
    for (PowerState prior :
        List.of(PowerState.RUNNING, PowerState.PAUSED, PowerState.SHUTOFF, PowerState.SUSPENDED)) {
      SnapshotFakeDomain dom = new SnapshotFakeDomain(disk, "qcow2", prior);
      states.clear();

      flow(defaults().withLiveSnapshotDisabled(true).withImageFormat("raw"))
          .snapshot(dom, disk, Optional.empty(), (f, fmt) -> {}, states::add);

      assertThat(dom.state)
          .as("state after a cold snapshot of a %s domain", prior)
          .isEqualTo(prior);
      assertThat(dom.calls)
          .as("calls for %s", prior)
          .containsExactlyElementsOf(
              switch (prior) {
                case RUNNING -> List.of("managedSave", "start");
                case PAUSED -> List.of("managedSave", "startPaused");
                default -> List.<String>of();
              });
      assertThat(states).containsExactly(TaskState.IMAGE_PENDING_UPLOAD, TaskState.IMAGE_UPLOADING);
    }
    assertThat(list(snapshots)).isEmpty();
  }

  @Test
  void stoppedDomainTakesTheColdPathEvenWhenLiveIsAllowed() {
    SnapshotFakeDomain dom = new SnapshotFakeDomain(disk, "qcow2", PowerState.SHUTOFF);

    flow(defaults().withCompression(true))
        .snapshot(dom, disk, Optional.of("qcow2"), recordingUpload(), states::add);

    assertThat(dom.calls).isEmpty();
    assertThat(SnapshotTestImages.checks(uploadedCopy, "qcow2")).isTrue();
    assertThat(hasPattern(uploadedCopy, "qcow2", 0xab, 1 << 20)).isTrue();
    assertThat(hasPattern(uploadedCopy, "qcow2", 0x5a, 0)).isTrue();
  }

  @Test
  void conversionFailureStillRestartsTheGuest() throws IOException {
    // a root disk that is not the qcow2 it is recorded as: qemu-img refuses, never guesses
    Path bogus = disk.resolveSibling("disk");
    Files.write(bogus, new byte[4096]);
    SnapshotFakeDomain dom = new SnapshotFakeDomain(bogus, "qcow2", PowerState.RUNNING);

    assertThatThrownBy(
            () ->
                flow(defaults().withLiveSnapshotDisabled(true))
                    .snapshot(dom, bogus, Optional.empty(), recordingUpload(), states::add))
        .hasMessageContaining("qemu-img convert");

    assertThat(dom.calls).containsExactly("managedSave", "start");
    assertThat(dom.state).isEqualTo(PowerState.RUNNING);
    assertThat(uploaded).isEmpty();
    assertThat(list(snapshots)).isEmpty();
  }

  @Test
  void recordedFormatMustMatchTheDomainXml() {
    SnapshotFakeDomain dom = new SnapshotFakeDomain(disk, "qcow2", PowerState.SHUTOFF);

    assertThatThrownBy(
            () ->
                flow(defaults())
                    .snapshot(dom, disk, Optional.of("raw"), recordingUpload(), states::add))
        .hasMessageContaining("recorded as raw but the domain runs it as qcow2");
    assertThat(states).isEmpty();
  }

  @Test
  void crashedDomainIsRefused() {
    SnapshotFakeDomain dom = new SnapshotFakeDomain(disk, "qcow2", PowerState.OTHER);

    assertThatThrownBy(
            () ->
                flow(defaults())
                    .snapshot(dom, disk, Optional.empty(), recordingUpload(), states::add))
        .isInstanceOf(io.virga.core.InvalidStateException.class);
    assertThat(dom.calls).isEmpty();
  }

  @Test
  void cleanupRestoresSavedDefinitionsAndRemovesStaleDirectories() throws IOException {
    Path stale = Files.createDirectories(snapshots.resolve(SnapshotRecovery.TEMP_PREFIX + "dead1"));
    Files.writeString(stale.resolve("disk.delta"), "x");
    Files.writeString(stale.resolve(SnapshotRecovery.SAVED_XML), "<domain/>");
    Files.writeString(stale.resolve(SnapshotRecovery.SAVED_XML + ".name"), "instance-00000001\n");
    Files.writeString(stale.resolve(SnapshotRecovery.SAVED_XML + ".disk"), disk + "\n");
    Path deleted =
        Files.createDirectories(snapshots.resolve(SnapshotRecovery.TEMP_PREFIX + "dead3"));
    Files.writeString(deleted.resolve(SnapshotRecovery.SAVED_XML), "<deleted/>");
    Files.writeString(deleted.resolve(SnapshotRecovery.SAVED_XML + ".name"), "instance-00000002");
    Files.writeString(
        deleted.resolve(SnapshotRecovery.SAVED_XML + ".disk"),
        home.resolve("gone/disk").toString());
    Path plain = Files.createDirectories(snapshots.resolve(SnapshotRecovery.TEMP_PREFIX + "dead2"));
    Files.writeString(plain.resolve("snapshot.raw"), "x");
    Path foreign = Files.createDirectories(snapshots.resolve("not-ours"));
    List<String> restored = new ArrayList<>();

    int removed =
        SnapshotRecovery.cleanupStaleSnapshots(snapshots, (name, xml) -> restored.add(name + xml));

    assertThat(removed).isEqualTo(3);
    assertThat(restored)
        .as("a deleted instance is not brought back")
        .containsExactly("instance-00000001<domain/>");
    assertThat(stale).doesNotExist();
    assertThat(deleted).doesNotExist();
    assertThat(plain).doesNotExist();
    assertThat(foreign).exists();
  }

  @Test
  void cleanupKeepsADirectoryWhoseDomainCouldNotBeRestored() throws IOException {
    Path stale = Files.createDirectories(snapshots.resolve(SnapshotRecovery.TEMP_PREFIX + "dead1"));
    Files.writeString(stale.resolve(SnapshotRecovery.SAVED_XML), "<domain/>");
    Files.writeString(stale.resolve(SnapshotRecovery.SAVED_XML + ".name"), "instance-00000001");
    Files.writeString(stale.resolve(SnapshotRecovery.SAVED_XML + ".disk"), disk.toString());

    assertThat(SnapshotRecovery.cleanupStaleSnapshots(snapshots)).isZero();
    assertThat(stale.resolve(SnapshotRecovery.SAVED_XML)).exists();
  }
}
