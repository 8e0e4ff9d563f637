package io.virga.compute;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.virga.core.InstanceUpdate;
import io.virga.core.PowerState;
import io.virga.core.TaskState;
import io.virga.core.VmState;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Power-state sync on lifecycle events (with the held STOPPED) and periodically. */
class PowerSyncTest extends AgentFixture {
  static final Duration HOLD = Duration.ofMillis(400);

  @Test
  void aGuestThatShutsItselfDownIsStoppedAfterTheHold() {
    startManager(options().withStoppedEventDelay(HOLD));
    String uuid = booted();
    long t0 = System.nanoTime();
    driver.guestShutsDown(uuid);
    sleep(HOLD.toMillis() / 2);
    idle();
    assertThat(row(uuid).vmState()).as("not acted on during the hold").isEqualTo(VmState.ACTIVE);
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> row(uuid).vmState() == VmState.STOPPED && row(uuid).taskState().isEmpty());
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThanOrEqualTo(HOLD);
    assertThat(row(uuid).powerState()).isEqualTo(PowerState.SHUTDOWN);
    assertThat(conductor.taskHistory(uuid)).endsWith("powering_off", "none");
  }

  @Test
  void aStoppedEventFollowedByAStartIsDropped() {
    startManager(options().withStoppedEventDelay(HOLD));
    String uuid = booted();
    driver.guestShutsDown(uuid);
    driver.guestStarts(uuid); // a reboot from inside the guest
    sleep(HOLD.toMillis() * 2);
    idle();
    assertThat(row(uuid).vmState()).isEqualTo(VmState.ACTIVE);
    assertThat(row(uuid).powerState()).isEqualTo(PowerState.RUNNING);
    assertThat(conductor.taskHistory(uuid)).doesNotContain("powering_off");
  }

  @Test
  void anEventConfirmingWhatTheLastActionRecordedReadsNoInstance() {
    startManager(options().withStoppedEventDelay(HOLD));
    String uuid = booted();
    idle();
    int reads = conductor.instanceReads.get();
    driver.guestStarts(uuid); // STARTED while recorded ACTIVE/running: nothing to sync
    sleep(200);
    idle();
    assertThat(conductor.instanceReads.get()).isEqualTo(reads);
    driver.guestShutsDown(uuid); // STOPPED: not what was recorded, synced after the hold
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> row(uuid).vmState() == VmState.STOPPED && row(uuid).taskState().isEmpty());
    assertThat(conductor.instanceReads.get()).isGreaterThan(reads);
  }

  @Test
  void aCrashIsActedOnAtOnce() {
    startManager(options().withStoppedEventDelay(Duration.ofHours(1)));
    String uuid = booted();
    driver.guestCrashes(uuid);
    await().atMost(Duration.ofSeconds(5)).until(() -> row(uuid).vmState() == VmState.STOPPED);
  }

  @Test
  void anInstanceWithATaskInProgressIsNotFought() {
    startManager(options().withStoppedEventDelay(Duration.ofMillis(10)));
    String uuid = booted();
    conductor.forceUpdateInstance(uuid, InstanceUpdate.none().task(TaskState.IMAGE_UPLOADING));
    driver.guestShutsDown(uuid);
    sleep(300);
    idle();
    assertThat(row(uuid).vmState()).isEqualTo(VmState.ACTIVE);
    assertThat(row(uuid).taskState()).contains(TaskState.IMAGE_UPLOADING);
    assertThat(row(uuid).powerState()).isEqualTo(PowerState.RUNNING);
  }

  @Test
  void thePeriodicSyncStopsAStoppedInstanceFoundRunningAndNotesVanishedOnes() {
    startManager(
        options()
            .withStoppedEventDelay(Duration.ofHours(1))
            .withIntervals(LONG, Duration.ofMillis(200), LONG));
    String stopped = booted();
    stop(stopped);
    idle();
    String vanished = booted();
    driver.guestStarts(stopped); // someone started it behind our back (virsh start)
    driver.vanish(vanished);
    await()
        .atMost(Duration.ofSeconds(5))
        .untilAsserted(
            () -> {
              assertThat(driver.powerState(stopped)).contains(PowerState.SHUTDOWN);
              assertThat(row(stopped).taskState()).isEmpty();
              assertThat(row(vanished).powerState()).isEqualTo(PowerState.NOSTATE);
            });
    assertThat(row(stopped).vmState()).isEqualTo(VmState.STOPPED);
    assertThat(row(vanished).vmState()).as("never guessed").isEqualTo(VmState.ACTIVE);
  }

  @Test
  void aDomainOfAnInstanceDeletedWhileTheAgentWasAwayIsReapedAndStrangersAreLeftAlone() {
    startManager(
        options()
            .withStoppedEventDelay(Duration.ofHours(1))
            .withIntervals(LONG, Duration.ofMillis(200), LONG));
    String deleted = booted();
    String kept = booted();
    // the API's local delete: the row is marked deleted, the agent never told
    conductor.forceUpdateInstance(
        deleted, InstanceUpdate.none().vm(VmState.DELETED).clearTask().power(PowerState.NOSTATE));
    String stranger = java.util.UUID.randomUUID().toString();
    driver.defineGuest(
        FakeDriverSpecs.of(
            FakeConductor.newInstance(stranger, "host1", VmState.ACTIVE, Optional.empty())),
        PowerState.RUNNING);
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> !driver.listInstanceUuids().contains(deleted));
    sleep(500); // further passes
    assertThat(driver.listInstanceUuids()).contains(kept, stranger);
  }

  @Test
  void aPausedInstanceThatShutDownIsStopped() {
    startManager(options().withStoppedEventDelay(Duration.ofMillis(50)));
    String uuid = booted();
    pause(uuid);
    idle();
    driver.guestShutsDown(uuid);
    await().atMost(Duration.ofSeconds(5)).until(() -> row(uuid).vmState() == VmState.STOPPED);
    assertThat(row(uuid).taskState()).isEqualTo(Optional.empty());
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
