package io.virga.compute;

import io.virga.core.BuildRequest;
import io.virga.core.ConductorApi;
import io.virga.core.Instance;
import io.virga.core.InstanceUpdate;
import io.virga.core.ServerGroupMembers;
import io.virga.core.TaskState;
import io.virga.core.VmState;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Nova's {@code _validate_instance_group_policy}: before this agent builds a member of an affinity
 * or anti-affinity group it re-checks the policy against where the group's other members are, under
 * a lock per group, and hands a build that breaks it back to the conductor to be rescheduled
 * (Nova's RescheduledException) — the guard against schedulers that raced or were forced. A member
 * counts once its own check has passed: a passing build leaves task_state scheduling under the same
 * lock (Nova's build clears it at this point), so of two members sent to this host at once the
 * first one checked wins.
 */
final class GroupPolicyCheck {
  private static final Logger log = LoggerFactory.getLogger(GroupPolicyCheck.class);

  private final String host;
  private final ConductorApi conductor;
  private final TaskStates tasks;
  private final ConcurrentHashMap<String, Object> locks = new ConcurrentHashMap<>();

  GroupPolicyCheck(String host, TaskStates tasks) {
    this.host = host;
    this.conductor = tasks.conductor();
    this.tasks = tasks;
  }

  /**
   * The instance to build when the build may go on; empty when it was handed back for rescheduling
   * (or is no longer this agent's to build). {@code request} is what the conductor answered for the
   * build: the group in it is read again under the lock.
   */
  Optional<Instance> validate(BuildRequest request, String requestId, Optional<String> adminPass) {
    Optional<ServerGroupMembers> group = request.group();
    String uuid = request.instance().uuid();
    if (group.isEmpty() || group.get().policy().startsWith("soft-")) {
      return Optional.of(request.instance());
    }
    Optional<String> violation;
    synchronized (locks.computeIfAbsent(group.get().uuid(), k -> new Object())) {
      // read again under the lock: a member checked meanwhile is now counted
      ServerGroupMembers g = conductor.serverGroupOf(uuid).orElse(group.get());
      violation = violation(g, host);
      if (violation.isEmpty()) {
        Instance i = conductor.getInstance(uuid);
        if (i.vmState() != VmState.BUILDING
            || !i.taskState().equals(Optional.of(TaskState.SCHEDULING))) {
          return Optional.of(i); // the build's own state check decides
        }
        return tasks.tryCas(
            uuid, Optional.of(TaskState.SCHEDULING), InstanceUpdate.none().clearTask());
      }
    }
    String event = "compute__do_build_and_run_instance";
    log.warn("build refused on {}: {}; rescheduling", host, violation.get());
    tasks.eventStart(uuid, requestId, event);
    RescheduledException e = new RescheduledException(uuid, violation.get());
    tasks.eventFinish(uuid, requestId, event, Optional.of(e));
    try {
      conductor.rescheduleBuild(uuid, host, violation.get(), adminPass);
    } catch (RuntimeException failed) {
      // never a build left waiting in scheduling: without a reschedule it fails here
      log.error("cannot reschedule the build: {}", failed.toString());
      tasks.fault(uuid, e);
      tasks.tryCas(
          uuid,
          Optional.of(TaskState.SCHEDULING),
          InstanceUpdate.none().vm(VmState.ERROR).clearTask());
    }
    return Optional.empty();
  }

  /** Nova's messages: which policy this host would break, counting members past their check. */
  static Optional<String> violation(ServerGroupMembers g, String host) {
    var counted =
        g.others().stream()
            .filter(m -> m.host().isPresent())
            .filter(
                m ->
                    !(m.vmState() == VmState.BUILDING
                        && m.taskState().equals(Optional.of(TaskState.SCHEDULING))))
            .toList();
    if (g.policy().equals("anti-affinity")) {
      long here = counted.stream().filter(m -> m.host().get().equals(host)).count();
      if (here >= g.maxServerPerHost().orElse(1)) {
        return Optional.of("Anti-affinity instance group policy was violated.");
      }
    } else if (g.policy().equals("affinity")) {
      if (!counted.isEmpty() && counted.stream().noneMatch(m -> m.host().get().equals(host))) {
        return Optional.of("Affinity instance group policy was violated.");
      }
    }
    return Optional.empty();
  }

  /** Nova's RescheduledException: the build was refused here and goes back to the conductor. */
  static final class RescheduledException extends RuntimeException {
    RescheduledException(String uuid, String reason) {
      super("Build of instance " + uuid + " was re-scheduled: " + reason);
    }
  }
}
