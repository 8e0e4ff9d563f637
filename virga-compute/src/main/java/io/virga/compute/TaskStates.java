package io.virga.compute;

import io.virga.core.ConductorApi;
import io.virga.core.Instance;
import io.virga.core.InstanceAction;
import io.virga.core.InstanceUpdate;
import io.virga.core.TaskState;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Task-state moves through the conductor, each a compare-and-swap on the task the flow believes the
 * instance is in; action events and faults recorded alongside.
 */
final class TaskStates {
  private static final Logger log = LoggerFactory.getLogger(TaskStates.class);
  private final ConductorApi conductor;

  TaskStates(ConductorApi conductor) {
    this.conductor = conductor;
  }

  ConductorApi conductor() {
    return conductor;
  }

  /**
   * The instance as a cast for {@code action} finds it: taken when it is in one of {@code
   * acceptedAsIs}, the task the API set by compare-and-swap before casting (or recovery set before
   * retrying); otherwise empty and the caller drops the request, as Nova's compute does on
   * UnexpectedTaskStateError. So a cast delivered twice, or late, is a no-op: the first delivery
   * ended the task, and the instance is never acted on again on the strength of an old message.
   */
  Optional<Instance> begin(
      Instance i, InstanceAction action, TaskState task, Set<TaskState> acceptedAsIs) {
    if (i.taskState().isPresent() && acceptedAsIs.contains(i.taskState().get())) {
      return Optional.of(i);
    }
    log.warn(
        "dropping {}: instance is {} with task {}, not {} (a repeated or stale request)",
        action.apiName(),
        i.vmState().value(),
        i.taskState().map(TaskState::value).orElse("none"),
        task.value());
    return Optional.empty();
  }

  /** Compare-and-swap or {@link UnexpectedTaskStateException}. */
  Instance cas(String uuid, Optional<TaskState> expected, InstanceUpdate update) {
    return tryCas(uuid, expected, update)
        .orElseThrow(() -> new UnexpectedTaskStateException(ConductorApi.lostTask(uuid, expected)));
  }

  Instance cas(String uuid, TaskState expected, InstanceUpdate update) {
    return cas(uuid, Optional.of(expected), update);
  }

  /** Compare-and-swap that tolerates losing (the loser's update is simply not applied). */
  Optional<Instance> tryCas(String uuid, Optional<TaskState> expected, InstanceUpdate update) {
    PendingEvent start = pendingStarts.remove(uuid);
    // a step that would carry both leaves the finish to the action's frame
    PendingEvent finish = start == null ? pendingFinishes.remove(uuid) : null;
    Optional<Instance> done;
    if (start != null) {
      done =
          conductor.updateInstanceStartingEvent(
              uuid, start.requestId(), start.event(), update, expected);
    } else if (finish != null) {
      done =
          conductor.updateInstanceFinishingEvent(
              uuid, finish.requestId(), finish.event(), update, expected);
      finishedByStep.add(uuid);
    } else {
      done = conductor.updateInstance(uuid, update, expected);
    }
    done.ifPresent(settled::record);
    return done;
  }

  /**
   * Whether this agent itself just left the instance settled in {@code power} (see {@link
   * SettledStates}): a lifecycle event saying so has nothing to sync.
   */
  boolean justSettled(String uuid, io.virga.core.PowerState power) {
    return settled.justSettled(uuid, power);
  }

  private final SettledStates settled = new SettledStates(java.time.Duration.ofSeconds(30));

  /** Records a fault; a failure to record is logged, never hides the original error. */
  void fault(String uuid, Throwable error) {
    int code = error instanceof io.virga.core.VirgaException v ? v.httpStatus() : 500;
    try {
      conductor.recordFault(uuid, code, describe(error), Optional.of(error.toString()));
    } catch (RuntimeException e) {
      log.error("could not record the fault of instance {}: {}", uuid, e.toString());
    }
  }

  /** An event start or finish waiting to go with the instance's next compare-and-swap. */
  private record PendingEvent(String requestId, String event) {}

  private final java.util.concurrent.ConcurrentHashMap<String, PendingEvent> pendingStarts =
      new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * Starts the event with the instance's next compare-and-swap, in the same conductor call (an
   * action whose first step follows its start at once: a build). The instance's actions run one at
   * a time (InstanceQueue), so the next swap on it is this action's.
   */
  void eventStartWithNextStep(String uuid, String requestId, String event) {
    pendingStarts.put(uuid, new PendingEvent(requestId, event));
  }

  private final java.util.concurrent.ConcurrentHashMap<String, PendingEvent> pendingFinishes =
      new java.util.concurrent.ConcurrentHashMap<>();
  private final Set<String> finishedByStep = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /**
   * Finishes the event with the instance's next compare-and-swap, the action's last step, in the
   * same conductor call (with the lost task as its error when the swap loses).
   */
  void eventFinishWithNextStep(String uuid, String requestId, String event) {
    pendingFinishes.put(uuid, new PendingEvent(requestId, event));
  }

  /**
   * Forgets what no step carried (the action ended before its first or last one): its finish then
   * records the event, started and finished at once if need be.
   */
  void dropPendingEvents(String uuid) {
    pendingStarts.remove(uuid);
    pendingFinishes.remove(uuid);
  }

  /** Whether the action's last step finished its event (told once). */
  boolean finishedByStep(String uuid) {
    return finishedByStep.remove(uuid);
  }

  void eventStart(String uuid, String requestId, String event) {
    try {
      conductor.actionEventStart(uuid, requestId, event);
    } catch (RuntimeException e) {
      log.warn("could not record the start of {}: {}", event, e.toString());
    }
  }

  void eventFinish(String uuid, String requestId, String event, Optional<Throwable> error) {
    try {
      conductor.actionEventFinish(uuid, requestId, event, error.map(TaskStates::describe));
    } catch (RuntimeException e) {
      log.warn("could not record the end of {}: {}", event, e.toString());
    }
  }

  static String describe(Throwable t) {
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
  }
}
