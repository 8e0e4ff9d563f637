package io.virga.core;

import java.time.Instant;
import java.util.Optional;
import java.util.Set;

/**
 * A migration record (Nova's {@code Migration}): one resize, cold migration or live migration of
 * one instance from a source host to a destination, with the flavors either side and the progress
 * the driver reported.
 *
 * @param oldVmState the instance's vm_state when the migration began (active or stopped; paused for
 *     a live migration): a revert or failure starts the guest again only when it was active
 * @param errorStep the flow step that failed, when status is error
 */
public record Migration(
    long id,
    String uuid,
    String instanceUuid,
    MigrationType type,
    MigrationStatus status,
    String sourceCompute,
    String sourceNode,
    String destCompute,
    String destNode,
    Flavor oldFlavor,
    Flavor newFlavor,
    long oldInstanceTypeId,
    long newInstanceTypeId,
    Optional<VmState> oldVmState,
    String userId,
    String projectId,
    Progress progress,
    Optional<String> errorStep,
    Instant createdAt,
    Instant updatedAt) {

  /**
   * Statuses in which the migration still holds resources (Nova's "in progress"): the destination
   * claim before the instance moves, the source's afterwards until confirm or revert.
   */
  public static final Set<MigrationStatus> IN_PROGRESS =
      Set.of(
          MigrationStatus.PRE_MIGRATING,
          MigrationStatus.MIGRATING,
          MigrationStatus.POST_MIGRATING,
          MigrationStatus.FINISHED,
          MigrationStatus.CONFIRMING,
          MigrationStatus.REVERTING,
          MigrationStatus.ACCEPTED,
          MigrationStatus.QUEUED,
          MigrationStatus.PREPARING,
          MigrationStatus.RUNNING,
          MigrationStatus.CANCELLING);

  /** Bytes of memory and disk, as the driver last reported them (0 when unknown). */
  public record Progress(
      long memoryTotal,
      long memoryProcessed,
      long memoryRemaining,
      long diskTotal,
      long diskProcessed,
      long diskRemaining) {
    public static final Progress NONE = new Progress(0, 0, 0, 0, 0, 0);
  }

  public boolean sameHost() {
    return sourceCompute.equals(destCompute);
  }

  public boolean live() {
    return type == MigrationType.LIVE_MIGRATION;
  }

  /** Whether a revert or failure should start the guest again. */
  public boolean wasRunning() {
    return oldVmState.map(s -> s == VmState.ACTIVE).orElse(true);
  }
}
