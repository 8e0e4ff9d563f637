package io.virga.compute;

import static org.assertj.core.api.Assertions.assertThat;

import io.virga.core.Instance;
import io.virga.core.InstanceUpdate;
import io.virga.core.PowerState;
import io.virga.core.TaskState;
import io.virga.core.VmState;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Nova's _init_instance rules, applied when the agent starts. */
class InstanceRecoveryTest extends AgentFixture {

  /** A row left by the previous run, and (unless power is empty) its domain. */
  String leftBehind(VmState vm, TaskState task, Optional<PowerState> power) {
    return leftBehind("host1", vm, Optional.ofNullable(task), power);
  }

  String leftBehind(String host, VmState vm, Optional<TaskState> task, Optional<PowerState> power) {
    String uuid = UUID.randomUUID().toString();
    Instance row = conductor.add(FakeConductor.newInstance(uuid, host, vm, task));
    power.ifPresent(
        p -> {
          driver.defineGuest(FakeDriverSpecs.of(row), p);
          conductor.forceUpdateInstance(uuid, InstanceUpdate.none().power(p));
        });
    return uuid;
  }

  @Test
  void recoveryAppliesNovasRules() {
    Optional<PowerState> running = Optional.of(PowerState.RUNNING);
    Optional<PowerState> shutdown = Optional.of(PowerState.SHUTDOWN);
    Optional<PowerState> paused = Optional.of(PowerState.PAUSED);
    String spawning = leftBehind(VmState.BUILDING, TaskState.SPAWNING, running);
    String scheduling = leftBehind(VmState.BUILDING, TaskState.SCHEDULING, Optional.empty());
    String deleting = leftBehind(VmState.ACTIVE, TaskState.DELETING, running);
    String uploading = leftBehind(VmState.ACTIVE, TaskState.IMAGE_UPLOADING, running);
    String poweringOff = leftBehind(VmState.ACTIVE, TaskState.POWERING_OFF, running);
    String poweringOn = leftBehind(VmState.STOPPED, TaskState.POWERING_ON, shutdown);
    String hardStartedDown = leftBehind(VmState.ACTIVE, TaskState.REBOOT_STARTED_HARD, shutdown);
    String softStartedDown = leftBehind(VmState.ACTIVE, TaskState.REBOOT_STARTED, shutdown);
    String softStartedUp = leftBehind(VmState.ACTIVE, TaskState.REBOOT_STARTED, running);
    String softPending = leftBehind(VmState.ACTIVE, TaskState.REBOOT_PENDING, running);
    String pausingUp = leftBehind(VmState.ACTIVE, TaskState.PAUSING, running);
    String pausingDone = leftBehind(VmState.ACTIVE, TaskState.PAUSING, paused);
    String unpausingPaused = leftBehind(VmState.PAUSED, TaskState.UNPAUSING, paused);
    String suspendingDone = leftBehind(VmState.ACTIVE, TaskState.SUSPENDING, shutdown);
    String resizeMigrating = leftBehind(VmState.ACTIVE, TaskState.RESIZE_MIGRATING, running);
    String resizePrep = leftBehind(VmState.ACTIVE, TaskState.RESIZE_PREP, running);
    String errorAlone = leftBehind(VmState.ERROR, null, shutdown);
    String elsewhere =
        leftBehind("host2", VmState.BUILDING, Optional.of(TaskState.SPAWNING), Optional.empty());

    startManager(options());
    idle();

    assertState(spawning, VmState.ERROR, null);
    assertThat(conductor.faults).anyMatch(f -> f.startsWith(spawning) && f.contains("restart"));
    // claimed for this host but never started by the agent: left to the build cast
    assertState(scheduling, VmState.BUILDING, TaskState.SCHEDULING);
    assertThat(conductor.faults).noneMatch(f -> f.startsWith(scheduling));
    assertThat(conductor.destroyed).containsExactly(deleting);
    assertThat(driver.getInfo(deleting)).isEmpty();
    assertState(uploading, VmState.ACTIVE, null);
    assertState(poweringOff, VmState.STOPPED, null);
    assertThat(driver.powerState(poweringOff)).contains(PowerState.SHUTDOWN);
    assertState(poweringOn, VmState.ACTIVE, null);
    assertThat(driver.powerState(poweringOn)).contains(PowerState.RUNNING);
    assertState(hardStartedDown, VmState.ACTIVE, null);
    assertThat(driver.powerState(hardStartedDown)).contains(PowerState.RUNNING);
    // a soft reboot that had stopped the guest becomes a hard one
    assertThat(conductor.taskHistory(softStartedDown))
        .containsSubsequence(
            "reboot_started", "reboot_pending_hard", "reboot_started_hard", "none");
    assertState(softStartedDown, VmState.ACTIVE, null);
    assertThat(conductor.taskHistory(softStartedUp)).containsExactly("reboot_started", "none");
    assertState(softStartedUp, VmState.ACTIVE, null);
    assertThat(conductor.taskHistory(softPending))
        .containsExactly("reboot_pending", "reboot_started", "none");
    assertState(pausingUp, VmState.ACTIVE, null);
    assertState(pausingDone, VmState.PAUSED, null);
    assertState(unpausingPaused, VmState.ACTIVE, null);
    assertThat(driver.powerState(unpausingPaused)).contains(PowerState.RUNNING);
    assertState(suspendingDone, VmState.SUSPENDED, null);
    assertState(resizeMigrating, VmState.ACTIVE, null);
    assertState(resizePrep, VmState.ACTIVE, null);
    assertState(errorAlone, VmState.ERROR, null);
    assertThat(conductor.taskHistory(errorAlone)).containsExactly("none");
    assertState(elsewhere, VmState.BUILDING, TaskState.SPAWNING);
  }

  @Test
  void aBuildCastThatWaitedForTheRestartedAgentBootsOnce() {
    // the API claimed host1 and cast the build while the agent was away; it restarts
    String queued = leftBehind(VmState.BUILDING, TaskState.SCHEDULING, Optional.empty());
    java.util.concurrent.atomic.AtomicInteger spawns =
        new java.util.concurrent.atomic.AtomicInteger();
    driver.faults().hook(io.virga.virt.FakeFaults.Op.SPAWN, u -> spawns.incrementAndGet());
    startManager(options());
    manager.buildAndRunInstance(
        queued, Optional.empty(), Optional.empty()); // the cast that waited in the queue
    idle();
    assertState(queued, VmState.ACTIVE, null);
    assertThat(spawns).hasValue(1);
    assertThat(conductor.faults).isEmpty();
  }

  @Test
  void actionsArrivingAfterStartWaitForRecovery() {
    String poweringOff =
        leftBehind(VmState.ACTIVE, TaskState.POWERING_OFF, Optional.of(PowerState.RUNNING));
    startManager(options());
    // a start the API accepts once the stop is done, queued behind the recovery's stop
    manager.submit(
        poweringOff, "api sets powering_on", rid -> apiSets(poweringOff, TaskState.POWERING_ON));
    manager.startInstance(poweringOff);
    idle();
    assertThat(conductor.taskHistory(poweringOff))
        .containsExactly("powering_off", "none", "powering_on", "none");
    assertState(poweringOff, VmState.ACTIVE, null);
  }

  private void assertState(String uuid, VmState vm, TaskState task) {
    Instance i = row(uuid);
    assertThat(i.vmState()).as("vm_state of " + uuid).isEqualTo(vm);
    assertThat(i.taskState()).as("task_state of " + uuid).isEqualTo(Optional.ofNullable(task));
  }
}
