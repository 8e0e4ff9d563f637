package io.virga.api;

import io.virga.core.TaskState;
import io.virga.core.VmState;
import java.util.Optional;
import java.util.Set;

/** The API {@code status} of a server from its vm_state and task_state (Nova's _STATE_MAP). */
final class ServerStatus {
  private ServerStatus() {}

  static final Set<String> ALL =
      Set.of(
          "ACTIVE",
          "BUILD",
          "DELETED",
          "ERROR",
          "HARD_REBOOT",
          "MIGRATING",
          "PASSWORD",
          "PAUSED",
          "REBOOT",
          "REBUILD",
          "RESCUE",
          "RESIZE",
          "REVERT_RESIZE",
          "SHELVED",
          "SHELVED_OFFLOADED",
          "SHUTOFF",
          "SOFT_DELETED",
          "SUSPENDED",
          "UNKNOWN",
          "VERIFY_RESIZE");

  static String of(VmState vm, Optional<TaskState> task) {
    TaskState t = task.orElse(null);
    return switch (vm) {
      case ACTIVE -> active(t);
      case BUILDING -> "BUILD";
      case STOPPED -> resizeOrRebuild(t).orElse("SHUTOFF");
      case RESIZED -> t == TaskState.RESIZE_REVERTING ? "REVERT_RESIZE" : "VERIFY_RESIZE";
      case PAUSED -> t == TaskState.MIGRATING ? "MIGRATING" : "PAUSED";
      case SUSPENDED -> "SUSPENDED";
      case RESCUED -> "RESCUE";
      case ERROR -> rebuild(t) ? "REBUILD" : "ERROR";
      case DELETED -> "DELETED";
      case SOFT_DELETED -> "SOFT_DELETED";
      case SHELVED -> "SHELVED";
      case SHELVED_OFFLOADED -> "SHELVED_OFFLOADED";
    };
  }

  private static String active(TaskState t) {
    if (t == null) {
      return "ACTIVE";
    }
    return switch (t) {
      case REBOOTING, REBOOT_PENDING, REBOOT_STARTED -> "REBOOT";
      case REBOOTING_HARD, REBOOT_PENDING_HARD, REBOOT_STARTED_HARD -> "HARD_REBOOT";
      case UPDATING_PASSWORD -> "PASSWORD";
      case MIGRATING -> "MIGRATING";
      default -> resizeOrRebuild(t).orElse("ACTIVE");
    };
  }

  private static Optional<String> resizeOrRebuild(TaskState t) {
    if (t == null) {
      return Optional.empty();
    }
    if (rebuild(t)) {
      return Optional.of("REBUILD");
    }
    return switch (t) {
      case RESIZE_PREP, RESIZE_MIGRATING, RESIZE_MIGRATED, RESIZE_FINISH -> Optional.of("RESIZE");
      default -> Optional.empty();
    };
  }

  private static boolean rebuild(TaskState t) {
    return t == TaskState.REBUILDING
        || t == TaskState.REBUILD_BLOCK_DEVICE_MAPPING
        || t == TaskState.REBUILD_SPAWNING;
  }
}
