package io.virga.virt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.virga.core.ConflictException;
import io.virga.core.DiskFormat;
import io.virga.core.Flavor;
import io.virga.core.ImageMeta;
import io.virga.core.NotFoundException;
import io.virga.core.PowerState;
import io.virga.core.TaskState;
import io.virga.core.VirgaException;
import io.virga.virt.FakeFaults.Op;
import io.virga.virt.LifecycleEvent.Transition;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class FakeDriverTest {
  static final Flavor TINY = new Flavor("1", "m1.tiny", 128, 1, 1, 0, 0, Map.of());
  static final ImageMeta IMAGE =
      new ImageMeta("img-1", "tiny", DiskFormat.QCOW2, "bare", 10, 20, 0, 0, Map.of());
  static final ImageSource WRITE_BYTES =
      (image, target) -> {
        try {
          Files.writeString(target, "image " + image.id());
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      };

  final FakeDriver driver = new FakeDriver("host1", 4, 1024, 20);
  final List<LifecycleEvent> events = new CopyOnWriteArrayList<>();

  FakeDriverTest() {
    driver.registerLifecycleListener(events::add);
  }

  @AfterEach
  void close() {
    driver.close();
  }

  static InstanceSpec spec(String uuid) {
    return new InstanceSpec(
        uuid,
        "instance-00000001",
        "vm",
        "vm",
        "p",
        "u",
        TINY,
        IMAGE,
        Map.of(),
        Optional.empty(),
        Map.of(),
        true,
        "nova",
        0,
        Instant.now());
  }

  @Test
  void spawnTellsTaskStatesInOrderAndBootsTheGuest() {
    InstanceSpec s = spec(UUID.randomUUID().toString());
    List<TaskState> seen = new ArrayList<>();
    driver.spawn(s, WRITE_BYTES, seen::add);

    assertThat(seen)
        .containsExactly(TaskState.NETWORKING, TaskState.BLOCK_DEVICE_MAPPING, TaskState.SPAWNING);
    assertThat(driver.powerState(s.uuid())).contains(PowerState.RUNNING);
    assertThat(driver.getConsoleOutput(s, -1))
        .contains("VIRGA-GUEST-UP uuid=" + s.uuid() + " hostname=vm");
    await().until(() -> events.stream().anyMatch(e -> e.transition() == Transition.STARTED));
    assertThat(driver.listInstanceUuids()).containsExactly(s.uuid());
  }

  @Test
  void concurrentSpawnsFetchTheImageOnce() throws Exception {
    AtomicInteger fetches = new AtomicInteger();
    ImageSource slow =
        (image, target) -> {
          fetches.incrementAndGet();
          try {
            Thread.sleep(100);
          } catch (InterruptedException e) {
            throw new IllegalStateException(e);
          }
          WRITE_BYTES.fetch(image, target);
        };
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<?>> fs = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        fs.add(pool.submit(() -> driver.spawn(spec(UUID.randomUUID().toString()), slow, t -> {})));
      }
      for (Future<?> f : fs) {
        f.get();
      }
    } finally {
      pool.shutdown();
    }
    assertThat(fetches).hasValue(1);
    assertThat(driver.imageFetchCount("img-1")).isEqualTo(1);
    assertThat(driver.spawnCount()).isEqualTo(4);
  }

  @Test
  void resourcesFollowTheInstances() {
    assertThat(driver.getAvailableResource().memoryMbUsed()).isZero();
    InstanceSpec a = spec(UUID.randomUUID().toString());
    driver.spawn(a, WRITE_BYTES, t -> {});
    driver.spawn(spec(UUID.randomUUID().toString()), WRITE_BYTES, t -> {});
    HostResources r = driver.getAvailableResource();
    assertThat(r.memoryMbUsed()).isEqualTo(256);
    assertThat(r.vcpusUsed()).isEqualTo(2);
    assertThat(r.localGbUsed()).isEqualTo(2);
    assertThat(r.diskAvailableLeastGb()).isEqualTo(18);
    driver.destroy(a, true);
    assertThat(driver.getAvailableResource().memoryMbUsed()).isEqualTo(128);
  }

  @Test
  void powerActionsFollowTheStateMachine() {
    InstanceSpec s = spec(UUID.randomUUID().toString());
    driver.spawn(s, WRITE_BYTES, t -> {});
    assertThatThrownBy(() -> driver.unpause(s))
        .isInstanceOf(ConflictException.class)
        .hasMessageContaining("unpause");
    driver.pause(s);
    assertThat(driver.powerState(s.uuid())).contains(PowerState.PAUSED);
    assertThatThrownBy(() -> driver.pause(s)).isInstanceOf(ConflictException.class);
    driver.unpause(s);
    driver.suspend(s);
    // libvirt reports a managed-saved domain as shut off
    assertThat(driver.powerState(s.uuid())).contains(PowerState.SHUTDOWN);
    driver.resume(s);
    assertThat(driver.powerState(s.uuid())).contains(PowerState.RUNNING);
    assertThatThrownBy(() -> driver.resume(s)).isInstanceOf(ConflictException.class);
    driver.powerOff(s, Duration.ofSeconds(5), Duration.ofSeconds(1));
    assertThat(driver.powerState(s.uuid())).contains(PowerState.SHUTDOWN);
    driver.powerOn(s, WRITE_BYTES);
    driver.reboot(s, RebootType.HARD, WRITE_BYTES);
    assertThat(driver.powerState(s.uuid())).contains(PowerState.RUNNING);
    assertThat(driver.getConsoleOutput(s, -1).lines().filter(l -> l.startsWith("VIRGA-GUEST-UP")))
        .hasSize(3);
    await()
        .untilAsserted(
            () ->
                assertThat(events)
                    .extracting(LifecycleEvent::transition)
                    .contains(
                        Transition.PAUSED,
                        Transition.RESUMED,
                        Transition.SUSPENDED,
                        Transition.STOPPED));
  }

  @Test
  void unknownInstancesAreNotFound() {
    InstanceSpec s = spec(UUID.randomUUID().toString());
    assertThat(driver.getInfo(s.uuid())).isEmpty();
    assertThatThrownBy(() -> driver.powerOn(s, WRITE_BYTES))
        .isInstanceOf(NotFoundException.class)
        .hasMessageContaining("power on");
    driver.destroy(s, true); // destroying what is not there is not an error
  }

  @Test
  void injectedSpawnFailureLeavesNothingBehindAndHappensOnce() {
    driver.faults().failNext(Op.SPAWN, () -> new VirgaException("spawn: boom"));
    InstanceSpec s = spec(UUID.randomUUID().toString());
    assertThatThrownBy(() -> driver.spawn(s, WRITE_BYTES, t -> {})).hasMessage("spawn: boom");
    assertThat(driver.listInstanceUuids()).isEmpty();
    driver.spawn(s, WRITE_BYTES, t -> {});
    assertThat(driver.listInstanceUuids()).containsExactly(s.uuid());
  }

  @Test
  void failedImageFetchIsRetriedByTheNextSpawn() {
    driver.faults().failNext(Op.FETCH_IMAGE, () -> new VirgaException("fetch: no route"));
    assertThatThrownBy(() -> driver.spawn(spec(UUID.randomUUID().toString()), WRITE_BYTES, t -> {}))
        .hasMessageContaining("no route");
    driver.spawn(spec(UUID.randomUUID().toString()), WRITE_BYTES, t -> {});
    assertThat(driver.imageFetchCount("img-1")).isEqualTo(1);
  }

  @Test
  void aGuestIgnoringAcpiIsPoweredOffAfterTheTimeout() {
    InstanceSpec s = spec(UUID.randomUUID().toString());
    driver.spawn(s, WRITE_BYTES, t -> {});
    driver.ignoreAcpi(s.uuid(), true);
    long t0 = System.nanoTime();
    driver.powerOff(s, Duration.ofMillis(300), Duration.ofMillis(100));
    assertThat(Duration.ofNanos(System.nanoTime() - t0))
        .isGreaterThanOrEqualTo(Duration.ofMillis(300));
    assertThat(driver.powerState(s.uuid())).contains(PowerState.SHUTDOWN);
  }

  @Test
  void filesLeftByAFailedDeleteAreCleanedLater() {
    InstanceSpec s = spec(UUID.randomUUID().toString());
    driver.spawn(s, WRITE_BYTES, t -> {});
    driver.faults().failNext(Op.DELETE_FILES, () -> new VirgaException("delete: busy"));
    assertThatThrownBy(() -> driver.destroy(s, true)).hasMessageContaining("busy");
    assertThat(driver.getInfo(s.uuid())).isEmpty();
    assertThat(driver.leftovers()).containsExactly(s.uuid());
    driver.faults().failNext(Op.CLEANUP, () -> new VirgaException("still busy"));
    assertThat(driver.cleanupLeftovers(List.of(s.uuid()))).containsExactly(s.uuid());
    assertThat(driver.cleanupLeftovers(List.of(s.uuid()))).isEmpty();
    assertThat(driver.leftovers()).isEmpty();
  }

  @Test
  void snapshotUploadsAFileAndTellsTheUploadStates() {
    InstanceSpec s = spec(UUID.randomUUID().toString());
    driver.spawn(s, WRITE_BYTES, t -> {});
    List<TaskState> seen = new ArrayList<>();
    List<String> uploaded = new ArrayList<>();
    driver.snapshot(
        s,
        "snap-1",
        (file, fmt) -> {
          try {
            uploaded.add(fmt + ":" + Files.readString(file));
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        },
        seen::add);
    assertThat(seen).containsExactly(TaskState.IMAGE_PENDING_UPLOAD, TaskState.IMAGE_UPLOADING);
    assertThat(uploaded).singleElement().asString().startsWith("raw:fake snapshot of");
  }
}
