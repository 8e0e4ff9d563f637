package io.virga.compute;

import static org.assertj.core.api.Assertions.assertThat;

import io.virga.core.Instance;
import io.virga.core.InstanceUpdate;
import io.virga.core.TaskState;
import io.virga.core.VmState;
import io.virga.virt.FakeDriver;
import io.virga.virt.ImageSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;

/** A FakeDriver host, a FakeConductor and a manager with test-sized intervals. */
abstract class AgentFixture {
  static final Duration LONG = Duration.ofHours(1);
  static final ImageSource IMAGES =
      (image, target) -> {
        try {
          Files.writeString(target, "bytes of " + image.id());
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      };

  final FakeDriver driver = new FakeDriver("host1");
  final FakeConductor conductor = new FakeConductor();
  ComputeManager manager;

  ComputeOptions options() {
    return ComputeOptions.defaults()
        .withIntervals(LONG, LONG, LONG)
        .withImageCacheInterval(LONG)
        .withStoppedEventDelay(Duration.ofMillis(300))
        .withShutdown(Duration.ofSeconds(2), Duration.ofMillis(100));
  }

  ComputeManager startManager(ComputeOptions options) {
    manager = new ComputeManager(driver, conductor, i -> IMAGES, options);
    manager.start();
    return manager;
  }

  @AfterEach
  void tearDown() {
    if (manager != null) {
      manager.close();
    }
    driver.close();
  }

  void idle() {
    assertThat(manager.awaitIdle(Duration.ofSeconds(20))).as("agent idle").isTrue();
  }

  /** An instance the API has scheduled to host1 (building / scheduling). */
  String scheduled() {
    String uuid = UUID.randomUUID().toString();
    conductor.add(
        FakeConductor.newInstance(
            uuid, "host1", VmState.BUILDING, Optional.of(TaskState.SCHEDULING)));
    return uuid;
  }

  /** An instance booted through the manager and ACTIVE. */
  String booted() {
    String uuid = scheduled();
    manager.buildAndRunInstance(uuid, Optional.empty(), Optional.empty());
    idle();
    assertThat(row(uuid).vmState()).isEqualTo(VmState.ACTIVE);
    return uuid;
  }

  /**
   * What the API does for an action before it casts: the action's task by compare-and-swap from no
   * task (a request the API would refuse fails the test), then the cast.
   */
  void api(String uuid, TaskState task, java.util.function.Consumer<String> cast) {
    apiSets(uuid, task);
    cast.accept(uuid);
  }

  void apiSets(String uuid, TaskState task) {
    assertThat(conductor.updateInstance(uuid, InstanceUpdate.none().task(task), Optional.empty()))
        .as("the API sets %s on %s", task.value(), uuid)
        .isPresent();
  }

  void stop(String uuid) {
    api(uuid, TaskState.POWERING_OFF, manager::stopInstance);
  }

  void start(String uuid) {
    api(uuid, TaskState.POWERING_ON, manager::startInstance);
  }

  void pause(String uuid) {
    api(uuid, TaskState.PAUSING, manager::pauseInstance);
  }

  void unpause(String uuid) {
    api(uuid, TaskState.UNPAUSING, manager::unpauseInstance);
  }

  void suspend(String uuid) {
    api(uuid, TaskState.SUSPENDING, manager::suspendInstance);
  }

  void resume(String uuid) {
    api(uuid, TaskState.RESUMING, manager::resumeInstance);
  }

  void reboot(String uuid, boolean hard) {
    api(
        uuid,
        hard ? TaskState.REBOOTING_HARD : TaskState.REBOOTING,
        u -> manager.rebootInstance(u, hard));
  }

  Instance row(String uuid) {
    return conductor.row(uuid).orElseThrow();
  }
}
