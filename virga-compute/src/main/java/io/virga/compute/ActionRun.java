package io.virga.compute;

import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The frame every instance action of the agent runs in: what Nova's compute manager gets from the
 * decorators on its methods.
 *
 * <ul>
 *   <li>{@code @wrap_instance_event}: the instance action event starts before the body (or, for an
 *       action whose first step follows at once, in the same conductor call as that step) and
 *       finishes after it, with the error when there is one (an action run without a request, by
 *       recovery or the power sync, records no event);
 *   <li>{@code @wrap_instance_fault}: a failure records an instance fault (unless the action says
 *       it records none, or decides itself in its revert);
 *   <li>{@code @reverts_task_state}: a failure leaves the instance in the resting state the action
 *       names in its {@link Revert} — each action its own, never a task left set.
 * </ul>
 *
 * An {@link UnexpectedTaskStateException} is not a failure: someone else (a delete, a reset) moved
 * the task, so there is no fault and nothing to revert; the event ends with it and the request is
 * dropped, as Nova drops it on UnexpectedTaskStateError. Either way the resource tracker is then
 * asked for a report (unless the action changes no resources). Nothing is rethrown but what a
 * revert itself throws.
 */
final class ActionRun {
  private static final Logger log = LoggerFactory.getLogger(ActionRun.class);

  /** One action's {@code reverts_task_state}: where its failure leaves the instance. */
  @FunctionalInterface
  interface Revert {
    void revert(RuntimeException failure);
  }

  /**
   * One run of an action: {@code name} for the log, {@code event} the instance action event (Nova's
   * {@code compute_<method>}), recorded only under a request id.
   */
  record Action(
      String name,
      String uuid,
      Optional<String> requestId,
      String event,
      boolean recordsFault,
      boolean changesResources,
      Runnable onTaskLost,
      boolean startsWithFirstStep) {

    /** The failure records no fault here (or the action's revert decides). */
    Action withoutFault() {
      return new Action(
          name, uuid, requestId, event, false, changesResources, onTaskLost, startsWithFirstStep);
    }

    /** The action changes nothing the resource tracker reports (an image upload). */
    Action withoutResourceChange() {
      return new Action(
          name, uuid, requestId, event, recordsFault, false, onTaskLost, startsWithFirstStep);
    }

    /** What else to undo when the task is lost (the image entry of a snapshot, say). */
    Action onTaskLost(Runnable cleanup) {
      return new Action(
          name,
          uuid,
          requestId,
          event,
          recordsFault,
          changesResources,
          cleanup,
          startsWithFirstStep);
    }

    /**
     * The body's first task-state step follows the start at once (a build): the event starts in the
     * same conductor call as that step, one round trip instead of two.
     */
    Action startingWithFirstStep() {
      return new Action(
          name, uuid, requestId, event, recordsFault, changesResources, onTaskLost, true);
    }
  }

  static Action action(String name, String uuid, Optional<String> requestId, String event) {
    return new Action(name, uuid, requestId, event, true, true, () -> {}, false);
  }

  static Action action(String name, String uuid, String requestId, String event) {
    return action(name, uuid, Optional.of(requestId), event);
  }

  private final TaskStates tasks;
  private final ResourceTracker tracker;

  ActionRun(TaskStates tasks, ResourceTracker tracker) {
    this.tasks = tasks;
    this.tracker = tracker;
  }

  /**
   * Runs {@code body}, which ends the action's task itself (its last compare-and-swap).
   *
   * @return whether the body ran to its end
   */
  boolean run(Action a, Runnable body, Revert revert) {
    // nothing left of an earlier run that a throwing revert ended
    tasks.dropPendingEvents(a.uuid());
    tasks.finishedByStep(a.uuid());
    a.requestId().ifPresent(r -> start(a, r));
    try {
      body.run();
      finish(a, Optional.empty());
      return true;
    } catch (UnexpectedTaskStateException e) {
      tasks.dropPendingEvents(a.uuid());
      log.warn("{} lost its task state: {}", a.name(), e.getMessage());
      a.onTaskLost().run();
      finish(a, Optional.of(e));
    } catch (RuntimeException e) {
      tasks.dropPendingEvents(a.uuid());
      log.error("{} failed: {}", a.name(), e.getMessage(), e);
      if (a.recordsFault()) {
        tasks.fault(a.uuid(), e);
      }
      revert.revert(e);
      finish(a, Optional.of(e));
    } finally {
      if (a.changesResources()) {
        tracker.changed();
      }
    }
    return false;
  }

  private void start(Action a, String requestId) {
    if (a.startsWithFirstStep()) {
      tasks.eventStartWithNextStep(a.uuid(), requestId, a.event());
    } else {
      tasks.eventStart(a.uuid(), requestId, a.event());
    }
  }

  private void finish(Action a, Optional<Throwable> error) {
    boolean finished = tasks.finishedByStep(a.uuid()); // the last step's call finished it
    tasks.dropPendingEvents(a.uuid());
    if (!finished) {
      a.requestId().ifPresent(r -> tasks.eventFinish(a.uuid(), r, a.event(), error));
    }
  }

  /**
   * The body's next compare-and-swap is its last step: the event finishes in the same conductor
   * call (an action whose body ends with that step, as a build's does).
   */
  void finishWithNextStep(Action a) {
    a.requestId().ifPresent(r -> tasks.eventFinishWithNextStep(a.uuid(), r, a.event()));
  }
}
