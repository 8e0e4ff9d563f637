package io.virga.core;

import static io.virga.core.VmState.ACTIVE;
import static io.virga.core.VmState.ERROR;
import static io.virga.core.VmState.PAUSED;
import static io.virga.core.VmState.RESCUED;
import static io.virga.core.VmState.RESIZED;
import static io.virga.core.VmState.SHELVED;
import static io.virga.core.VmState.SHELVED_OFFLOADED;
import static io.virga.core.VmState.SOFT_DELETED;
import static io.virga.core.VmState.STOPPED;
import static io.virga.core.VmState.SUSPENDED;

import java.util.Collections;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;

/**
 * Every user-visible action and the states it is allowed from: Nova's {@code check_instance_state}
 * decorators (nova/compute/api.py), kept in this one table.
 *
 * <p>An empty vm-state set means "any vm_state". "No task" is always allowed; the task-state set
 * lists the tasks allowed besides it, and a null set means any task.
 */
public enum InstanceAction {
  START("start", EnumSet.of(STOPPED)),
  STOP("stop", EnumSet.of(ACTIVE, RESCUED, ERROR)),
  REBOOT_SOFT("reboot", EnumSet.of(ACTIVE)),
  REBOOT_HARD(
      "reboot",
      EnumSet.of(ACTIVE, STOPPED, PAUSED, SUSPENDED, ERROR),
      EnumSet.of(
          TaskState.REBOOTING,
          TaskState.REBOOT_PENDING,
          TaskState.REBOOT_STARTED,
          TaskState.REBOOTING_HARD,
          TaskState.RESUMING,
          TaskState.UNPAUSING,
          TaskState.PAUSING,
          TaskState.SUSPENDING)),
  PAUSE("pause", EnumSet.of(ACTIVE, RESCUED)),
  UNPAUSE("unpause", EnumSet.of(PAUSED)),
  SUSPEND("suspend", EnumSet.of(ACTIVE)),
  RESUME("resume", EnumSet.of(SUSPENDED)),
  SNAPSHOT("createImage", EnumSet.of(ACTIVE, STOPPED, PAUSED, SUSPENDED)),
  RESIZE("resize", EnumSet.of(ACTIVE, STOPPED)),
  MIGRATE("migrate", EnumSet.of(ACTIVE, STOPPED)),
  CONFIRM_RESIZE("confirmResize", EnumSet.of(RESIZED)),
  REVERT_RESIZE("revertResize", EnumSet.of(RESIZED)),
  LIVE_MIGRATE("os-migrateLive", EnumSet.of(ACTIVE, PAUSED)),
  REBUILD("rebuild", EnumSet.of(ACTIVE, STOPPED, ERROR)),
  SHELVE("shelve", EnumSet.of(ACTIVE, STOPPED, PAUSED, SUSPENDED)),
  UNSHELVE("unshelve", EnumSet.of(SHELVED, SHELVED_OFFLOADED)),
  RESTORE("restore", EnumSet.of(SOFT_DELETED)),
  RESCUE("rescue", EnumSet.of(ACTIVE, STOPPED, ERROR)),
  UNRESCUE("unrescue", EnumSet.of(RESCUED)),
  SHELVE_OFFLOAD("shelveOffload", EnumSet.of(SHELVED)),
  BACKUP("createBackup", EnumSet.of(ACTIVE, STOPPED, PAUSED, SUSPENDED)),
  EVACUATE("evacuate", EnumSet.of(ACTIVE, STOPPED, ERROR)),
  /**
   * Delete is allowed in every state and during every task (Nova: vm_state=None, task_state=None).
   */
  DELETE("delete", EnumSet.noneOf(VmState.class), null);

  private final String apiName;
  private final Set<VmState> vmStates;
  // null: any task state; otherwise the task states allowed besides "no task"
  private final Set<TaskState> extraTaskStates;

  InstanceAction(String apiName, Set<VmState> vmStates) {
    this(apiName, vmStates, EnumSet.noneOf(TaskState.class));
  }

  InstanceAction(String apiName, Set<VmState> vmStates, Set<TaskState> extraTaskStates) {
    this.apiName = apiName;
    this.vmStates = Collections.unmodifiableSet(vmStates);
    this.extraTaskStates =
        extraTaskStates == null ? null : Collections.unmodifiableSet(extraTaskStates);
  }

  /** The name of the server action in the compute API, used in 409 messages. */
  public String apiName() {
    return apiName;
  }

  public Set<VmState> allowedVmStates() {
    return vmStates;
  }

  /**
   * Throws {@link InvalidStateException} (HTTP 409) unless the action is allowed from these states.
   */
  public void check(String uuid, VmState vmState, Optional<TaskState> taskState) {
    if (!vmStates.isEmpty() && !vmStates.contains(vmState)) {
      throw InvalidStateException.of(this, uuid, "vm_state", vmState.value());
    }
    if (extraTaskStates != null
        && taskState.isPresent()
        && !extraTaskStates.contains(taskState.get())) {
      throw InvalidStateException.of(this, uuid, "task_state", taskState.get().value());
    }
  }

  public boolean allowed(VmState vmState, Optional<TaskState> taskState) {
    try {
      check("-", vmState, taskState);
      return true;
    } catch (InvalidStateException e) {
      return false;
    }
  }
}
