package io.virga.compute;

import io.virga.core.ComputeAgentApi;
import io.virga.core.ConductorApi;
import io.virga.core.Instance;
import io.virga.core.InstanceUpdate;
import io.virga.core.Migration;
import io.virga.core.MigrationStatus;
import io.virga.core.NotImplementedException;
import io.virga.core.TaskState;
import io.virga.core.VirgaException;
import io.virga.core.VmState;
import io.virga.virt.MigrationProgress;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the resize and live-migration flows share: peers (other hosts' agents), migration status
 * moves, progress reporting, and the failure record that names the step that failed.
 */
final class MigrationSteps {
  private static final Logger log = LoggerFactory.getLogger(MigrationSteps.class);

  final ConductorApi conductor;
  final TaskStates tasks;
  private final Function<String, ComputeAgentApi> peers;

  MigrationSteps(TaskStates tasks, Function<String, ComputeAgentApi> peers) {
    this.conductor = tasks.conductor();
    this.tasks = tasks;
    this.peers = peers;
  }

  static Function<String, ComputeAgentApi> noPeers() {
    return host -> {
      throw new NotImplementedException(
          "this agent cannot reach other hosts' agents (no RPC peers wired)");
    };
  }

  ComputeAgentApi peer(String host) {
    return peers.apply(host);
  }

  Optional<Migration> status(Migration m, MigrationStatus to, MigrationStatus... from) {
    return conductor.updateMigrationStatus(m.uuid(), List.of(from), to, Optional.empty());
  }

  /** Progress bytes on the migration record and the percentage on the instance. */
  Consumer<MigrationProgress> progress(Migration m) {
    return p -> {
      try {
        conductor.migrationProgress(
            m.uuid(),
            new Migration.Progress(
                p.memoryTotal(),
                p.memoryProcessed(),
                p.memoryRemaining(),
                p.diskTotal(),
                p.diskProcessed(),
                p.diskRemaining()),
            p.percent());
      } catch (RuntimeException e) {
        log.warn("cannot record the progress of migration {}: {}", m.uuid(), e.toString());
      }
    };
  }

  /**
   * A step failed: a fault naming it, the migration in {@code status} (error or cancelled) with the
   * step, and the action event closed with the error. Never throws.
   */
  void failed(
      Migration m,
      String step,
      RuntimeException e,
      MigrationStatus status,
      String requestId,
      String event) {
    String uuid = m.instanceUuid();
    log.error("{} of migration {} failed: {}", step, m.uuid(), e.getMessage(), e);
    VirgaException named =
        new VirgaException(step + " failed for migration " + m.uuid() + ": " + describe(e), e);
    if (status == MigrationStatus.ERROR) {
      tasks.fault(uuid, named);
    }
    try {
      conductor.updateMigrationStatus(m.uuid(), List.of(), status, Optional.of(step));
    } catch (RuntimeException x) {
      log.error("cannot mark migration {} {}: {}", m.uuid(), status.value(), x.toString());
    }
    tasks.eventFinish(uuid, requestId, event, Optional.of(named));
  }

  /** Ends the task, back in the vm_state the migration began from, with the power read now. */
  void restoreState(Migration m, io.virga.core.PowerState power) {
    Instance i = conductor.getInstance(m.instanceUuid());
    VmState vm = m.oldVmState().orElse(i.vmState());
    Optional<TaskState> task = i.taskState();
    tasks.tryCas(i.uuid(), task, InstanceUpdate.none().vm(vm).clearTask().power(power).progress(0));
  }

  /** Runs {@code r}, logging (not throwing) a failure: cleanup after a failure must not mask it. */
  static void quietly(String what, Runnable r) {
    try {
      r.run();
    } catch (RuntimeException e) {
      log.warn("{} failed: {}", what, e.toString());
    }
  }

  static String describe(Throwable t) {
    return TaskStates.describe(t);
  }
}
