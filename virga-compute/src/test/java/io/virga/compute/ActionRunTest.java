package io.virga.compute;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.virga.core.InstanceUpdate;
import io.virga.core.TaskState;
import io.virga.core.VirgaException;
import io.virga.core.VmState;
import io.virga.virt.FakeDriver;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The frame of every agent action: event, fault, revert, resource report. */
class ActionRunTest {
  private static final String UUID = "11111111-2222-3333-4444-555555555555";
  private static final String EVENT = "compute_rescue_instance";

  private final FakeConductor conductor = new FakeConductor();
  private final FakeDriver driver = new FakeDriver("host1");
  private final ResourceTracker tracker =
      new ResourceTracker(driver, conductor, "host1", "127.0.0.1", Runnable::run);
  private final TaskStates tasks = new TaskStates(conductor);
  private final ActionRun actions = new ActionRun(tasks, tracker);
  private final List<String> calls = new ArrayList<>();

  @AfterEach
  void tearDown() {
    driver.close();
  }

  private ActionRun.Action rescue() {
    return ActionRun.action("rescue", UUID, "req-1", EVENT)
        .onTaskLost(() -> calls.add("task lost cleanup"));
  }

  private ActionRun.Revert revert() {
    return e -> {
      // the fault is on record before the revert runs, as in every flow before this frame
      calls.add("revert " + e.getMessage() + " after " + conductor.faults.size() + " fault(s)");
    };
  }

  @Test
  void aBodyThatEndsRecordsTheEventAndAReportButNoFault() {
    boolean done = actions.run(rescue(), () -> calls.add("body"), revert());

    assertThat(done).isTrue();
    assertThat(calls).containsExactly("body");
    assertThat(conductor.events)
        .containsExactly(UUID + " req-1 start " + EVENT, UUID + " req-1 finish " + EVENT);
    assertThat(conductor.faults).isEmpty();
    assertThat(tracker.changePending()).isTrue();
  }

  @Test
  void aFailingBodyRecordsAFaultTheEventsErrorRevertsAndReports() {
    boolean done =
        actions.run(
            rescue(),
            () -> {
              throw new VirgaException("rescue: libvirt said no");
            },
            revert());

    assertThat(done).isFalse();
    assertThat(conductor.faults).containsExactly(UUID + " 500 rescue: libvirt said no");
    assertThat(calls).containsExactly("revert rescue: libvirt said no after 1 fault(s)");
    assertThat(conductor.events)
        .containsExactly(
            UUID + " req-1 start " + EVENT,
            UUID + " req-1 finish " + EVENT + " error: rescue: libvirt said no");
    assertThat(tracker.changePending()).isTrue();
  }

  private static final String BUILD = "compute__do_build_and_run_instance";

  private ActionRun.Action build() {
    conductor.add(
        FakeConductor.newInstance(
            UUID, "host1", VmState.BUILDING, Optional.of(TaskState.SCHEDULING)));
    return ActionRun.action("build", UUID, "req-3", BUILD).startingWithFirstStep();
  }

  private void firstStep() {
    tasks.cas(UUID, TaskState.SCHEDULING, InstanceUpdate.none().task(TaskState.NETWORKING));
  }

  @Test
  void theEventStartsWithTheFirstStepAndFinishesWithTheLastInThoseStepsCalls() {
    ActionRun.Action build = build();
    boolean done =
        actions.run(
            build,
            () -> {
              firstStep();
              tasks.cas(UUID, TaskState.NETWORKING, InstanceUpdate.none().task(TaskState.SPAWNING));
              actions.finishWithNextStep(build);
              tasks.cas(UUID, TaskState.SPAWNING, InstanceUpdate.none().clearTask());
            },
            revert());

    assertThat(done).isTrue();
    assertThat(conductor.stepsStartingEvents).hasValue(1);
    assertThat(conductor.stepsFinishingEvents).hasValue(1);
    assertThat(conductor.events)
        .containsExactly(UUID + " req-3 start " + BUILD, UUID + " req-3 finish " + BUILD);
    assertThat(conductor.taskHistory(UUID))
        .containsExactly("scheduling", "networking", "spawning", "none");
  }

  @Test
  void aLastStepThatLosesItsTaskFinishesTheEventWithTheLossOnce() {
    ActionRun.Action build = build();
    boolean done =
        actions.run(
            build,
            () -> {
              firstStep();
              // the API deletes the instance meanwhile
              conductor.updateInstance(
                  UUID,
                  InstanceUpdate.none().task(TaskState.DELETING),
                  Optional.of(TaskState.NETWORKING));
              actions.finishWithNextStep(build);
              tasks.cas(UUID, TaskState.NETWORKING, InstanceUpdate.none().clearTask());
            },
            revert());

    assertThat(done).isFalse();
    assertThat(conductor.faults).isEmpty();
    assertThat(conductor.events)
        .containsExactly(
            UUID + " req-3 start " + BUILD,
            UUID
                + " req-3 finish "
                + BUILD
                + " error: instance "
                + UUID
                + " left task networking behind our back");
  }

  @Test
  void anActionFailingBeforeItsFirstStepHasItsEventRecordedByTheFinish() {
    actions.run(
        build(),
        () -> {
          throw new VirgaException("spec: no such flavor");
        },
        e ->
            tasks.tryCas(
                UUID,
                Optional.of(TaskState.SCHEDULING),
                InstanceUpdate.none().vm(VmState.ERROR).clearTask()));

    assertThat(conductor.stepsStartingEvents).as("the revert's swap carries no start").hasValue(0);
    assertThat(conductor.events)
        .containsExactly(UUID + " req-3 finish " + BUILD + " error: spec: no such flavor");
    assertThat(conductor.row(UUID).orElseThrow().vmState()).isEqualTo(VmState.ERROR);
  }

  @Test
  void aLostTaskIsNoFaultAndNothingToRevert() {
    boolean done =
        actions.run(
            rescue(),
            () -> {
              throw new UnexpectedTaskStateException("instance left task rescuing");
            },
            revert());

    assertThat(done).isFalse();
    assertThat(conductor.faults).isEmpty();
    assertThat(calls).containsExactly("task lost cleanup");
    assertThat(conductor.events)
        .containsExactly(
            UUID + " req-1 start " + EVENT,
            UUID + " req-1 finish " + EVENT + " error: instance left task rescuing");
    assertThat(tracker.changePending()).isTrue();
  }

  @Test
  void anActionWithoutFaultOrResourceChangeOnlyReverts() {
    ActionRun.Action snapshot =
        ActionRun.action("snapshot", UUID, "req-2", "compute_snapshot_instance")
            .withoutFault()
            .withoutResourceChange();
    actions.run(
        snapshot,
        () -> {
          throw new VirgaException("upload failed");
        },
        revert());

    assertThat(conductor.faults).isEmpty();
    assertThat(calls).containsExactly("revert upload failed after 0 fault(s)");
    assertThat(conductor.events).last().asString().endsWith("error: upload failed");
    assertThat(tracker.changePending()).isFalse();
  }

  @Test
  void withoutARequestThereIsNoEventButStillAFaultAndARevert() {
    actions.run(
        ActionRun.action("unrescue", UUID, Optional.empty(), "compute_unrescue_instance"),
        () -> {
          throw new VirgaException("unrescue: no domain");
        },
        revert());

    assertThat(conductor.events).isEmpty();
    assertThat(conductor.faults).containsExactly(UUID + " 500 unrescue: no domain");
    assertThat(calls).containsExactly("revert unrescue: no domain after 1 fault(s)");
  }

  @Test
  void aRevertThatFailsIsRethrownAfterTheReport() {
    assertThatThrownBy(
            () ->
                actions.run(
                    rescue(),
                    () -> {
                      throw new VirgaException("rescue failed");
                    },
                    e -> {
                      throw new IllegalStateException("conductor gone");
                    }))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("conductor gone");
    assertThat(conductor.faults).hasSize(1);
    assertThat(conductor.events).containsExactly(UUID + " req-1 start " + EVENT);
    assertThat(tracker.changePending()).isTrue();
  }
}
