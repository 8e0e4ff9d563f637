package io.virga.api;

import io.virga.core.ComputeAgentApi;
import io.virga.core.ConflictException;
import io.virga.core.InstanceAction;
import io.virga.core.InstanceUpdate;
import io.virga.core.InvalidStateException;
import io.virga.core.NotFoundException;
import io.virga.core.TaskState;
import io.virga.core.VirgaException;
import io.virga.core.VmState;
import io.virga.db.ComputeServiceRecord;
import io.virga.db.InstanceRecord;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the compute API does to existing servers (Nova's compute/api.py): state-checked actions that
 * set their task_state by compare-and-swap before casting to the host's agent, delete in any state,
 * the console. Creating servers is {@link ServerCreate}'s.
 */
final class ServerOperations {
  private static final Logger LOG = LoggerFactory.getLogger(ServerOperations.class);

  private final ComputeDeps deps;

  ServerOperations(ComputeDeps deps) {
    this.deps = deps;
  }

  /** An instance the caller may see: its own project's, or any for an admin; else 404. */
  InstanceRecord visible(AuthContext caller, String uuid) {
    InstanceRecord r = deps.instances().get(uuid);
    if (!Policy.mayAccess(caller, r.projectId())) {
      throw new NotFoundException("Instance " + uuid + " could not be found.");
    }
    return r;
  }

  /** A power/lifecycle action: state check, task_state CAS, instance action, cast to the host. */
  void act(AuthContext caller, String uuid, InstanceAction action, String requestId) {
    InstanceRecord r = visible(caller, uuid);
    ServerLocks.check(caller, r);
    action.check(uuid, r.vmState(), r.taskState());
    TaskState task = startingTask(action);
    if (r.host().isEmpty()) {
      if (action == InstanceAction.STOP) {
        // never scheduled (e.g. no valid host): nothing runs, so stopping is a state change
        swap(r, InstanceUpdate.none().vm(VmState.STOPPED).clearTask(), action);
        deps.actions().start(uuid, requestId, "stop", r.projectId(), caller.userId());
        return;
      }
      throw new ConflictException(
          "Cannot '" + action.apiName() + "' instance " + uuid + ": it is not on any host");
    }
    swap(r, InstanceUpdate.none().task(task), action);
    deps.actions().start(uuid, requestId, actionName(action), r.projectId(), caller.userId());
    ComputeAgentApi agent = deps.agents().forHost(r.host().get());
    Consumer<String> cast =
        switch (action) {
          case START -> agent::startInstance;
          case STOP -> agent::stopInstance;
          case REBOOT_SOFT -> u -> agent.rebootInstance(u, false);
          case REBOOT_HARD -> u -> agent.rebootInstance(u, true);
          case PAUSE -> agent::pauseInstance;
          case UNPAUSE -> agent::unpauseInstance;
          case SUSPEND -> agent::suspendInstance;
          case RESUME -> agent::resumeInstance;
          default -> throw new IllegalArgumentException("not a power action: " + action);
        };
    cast.accept(uuid);
  }

  /** CAS from the task state just checked: of two racing requests only one passes. */
  void swap(InstanceRecord r, InstanceUpdate update, InstanceAction action) {
    if (deps.instances().compareAndSwap(r.uuid(), update, List.of(r.taskState())).isEmpty()) {
      InstanceRecord now = deps.instances().get(r.uuid());
      action.check(r.uuid(), now.vmState(), now.taskState());
      throw InvalidStateException.of(
          action, r.uuid(), "task_state", now.taskState().map(TaskState::value).orElse("None"));
    }
  }

  static TaskState startingTask(InstanceAction a) {
    return switch (a) {
      case START -> TaskState.POWERING_ON;
      case STOP -> TaskState.POWERING_OFF;
      case REBOOT_SOFT -> TaskState.REBOOTING;
      case REBOOT_HARD -> TaskState.REBOOTING_HARD;
      case PAUSE -> TaskState.PAUSING;
      case UNPAUSE -> TaskState.UNPAUSING;
      case SUSPEND -> TaskState.SUSPENDING;
      case RESUME -> TaskState.RESUMING;
      default -> throw new IllegalArgumentException("no starting task for " + a);
    };
  }

  private static String actionName(InstanceAction a) {
    return switch (a) {
      case REBOOT_SOFT, REBOOT_HARD -> "reboot";
      default -> a.apiName();
    };
  }

  /**
   * Delete in any state. Without a host (never scheduled) or when the host's compute service is
   * down, the instance is deleted locally (Nova's local delete); else the agent terminates it and
   * reports it destroyed.
   */
  void delete(AuthContext caller, String uuid, String requestId) {
    InstanceRecord r = visible(caller, uuid);
    ServerLocks.check(caller, r);
    deps.actions().start(uuid, requestId, "delete", r.projectId(), caller.userId());
    Optional<ComputeServiceRecord> svc = r.host().flatMap(h -> deps.hosts().service(h));
    boolean up =
        svc.map(s -> s.isUp(Instant.now(), deps.options().serviceDownTimeSeconds())).orElse(false);
    if (r.host().isEmpty() || !up) {
      if (r.host().isPresent()) {
        LOG.warn(
            "instance {}: compute service on {} is down; deleting locally (the agent removes the"
                + " domain and files when it starts)",
            uuid,
            r.host().get());
      }
      deps.instances().markDeleted(uuid);
      return;
    }
    ServerMigrationActions.confirmBeforeDelete(deps, r);
    if (r.taskState().equals(Optional.of(TaskState.MIGRATING))) {
      ServerMigrationActions.abortLiveMigrationBeforeDelete(deps, r);
    }
    deps.instances().compareAndSwap(uuid, InstanceUpdate.none().task(TaskState.DELETING), null);
    deps.agents().forHost(r.host().get()).terminateInstance(uuid);
  }

  String consoleOutput(AuthContext caller, String uuid, int lines) {
    InstanceRecord r = visible(caller, uuid);
    if (r.host().isEmpty() || r.vmState() == VmState.BUILDING) {
      throw new ConflictException(
          "Instance " + uuid + " is not ready yet (vm_state " + r.vmState().value() + ")");
    }
    try {
      return deps.agents().forHost(r.host().get()).getConsoleOutput(uuid, lines);
    } catch (VirgaException e) {
      if (e.httpStatus() == 404) {
        throw new NotFoundException("Guest does not have a console available.");
      }
      throw e;
    }
  }
}
