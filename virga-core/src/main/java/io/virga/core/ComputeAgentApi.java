package io.virga.core;

import java.util.Optional;

/**
 * What the API side asks of a compute agent, over RPC on topic {@code compute.<host>}. Methods
 * returning void are casts (fire and forget); others are calls with a timeout. Arguments and
 * results are records serialisable as JSON. Add methods as flows need them.
 */
public interface ComputeAgentApi {
  /**
   * Spawn an instance already scheduled to this host (task_state scheduling). {@code request}: the
   * instance, image and server group as the scheduler saw them — Nova's conductor sends them with
   * the cast — so the agent need not ask for them; empty (a reschedule) and the agent asks the
   * conductor. The agent's first task-state step still compares against the database, so an
   * instance deleted meanwhile is not built.
   */
  void buildAndRunInstance(String uuid, Optional<BuildRequest> request, Optional<String> adminPass);

  void stopInstance(String uuid);

  void startInstance(String uuid);

  /**
   * @param hard true for HARD, false for SOFT
   */
  void rebootInstance(String uuid, boolean hard);

  void pauseInstance(String uuid);

  void unpauseInstance(String uuid);

  void suspendInstance(String uuid);

  void resumeInstance(String uuid);

  void terminateInstance(String uuid);

  void snapshotInstance(String uuid, String imageId);

  /** A call: the last {@code maxLines} lines of the serial console (all when negative). */
  String getConsoleOutput(String uuid, int maxLines);

  // ---- resize and cold migration (DESIGN §3.3), Nova's RPC names ----
  // Driver hand-offs (the destination's receiver, the disks moved, live-migration data) travel as
  // JSON of io.virga.virt records: the contract lives in core, which cannot name them.

  /** Destination: claim is made; prepare a target for the disks, then cast resize_instance. */
  default void prepResize(String uuid, String migrationUuid) {
    throw new NotImplementedException("prep_resize");
  }

  /** Source: migrate_disk_and_power_off to {@code targetJson}, then cast finish_resize. */
  default void resizeInstance(String uuid, String migrationUuid, String targetJson) {
    throw new NotImplementedException("resize_instance");
  }

  /** Destination: finish_migration with {@code disksJson}; the instance becomes resized. */
  default void finishResize(String uuid, String migrationUuid, String disksJson) {
    throw new NotImplementedException("finish_resize");
  }

  /** Destination: a migration failed before finish; remove what prep_resize made. */
  default void cleanupMigrationTarget(String uuid, String migrationUuid) {
    throw new NotImplementedException("cleanup_migration_target");
  }

  /** Source: confirm_resize (remove {@code <uuid>_resize} and the old domain). */
  default void confirmResize(String uuid, String migrationUuid) {
    throw new NotImplementedException("confirm_resize");
  }

  /** Destination: revert_resize (destroy here), then cast finish_revert_resize to the source. */
  default void revertResize(String uuid, String migrationUuid) {
    throw new NotImplementedException("revert_resize");
  }

  /** Source: finish_revert_resize (restore the old flavor and disks, start if it was running). */
  default void finishRevertResize(String uuid, String migrationUuid) {
    throw new NotImplementedException("finish_revert_resize");
  }

  // ---- live migration (DESIGN §3.4) ----

  /**
   * Destination, a call: check_can_live_migrate_destination, which asks the source
   * (check_can_live_migrate_source) in turn; returns the live-migration data as JSON.
   *
   * @param blockMigration "auto", "true" or "false"
   */
  default String checkCanLiveMigrateDestination(
      String uuid, String migrationUuid, String blockMigration) {
    throw new NotImplementedException("check_can_live_migrate_destination");
  }

  /** Source, a call: check_can_live_migrate_source; returns the settled data as JSON. */
  default String checkCanLiveMigrateSource(String uuid, String dataJson, String blockMigration) {
    throw new NotImplementedException("check_can_live_migrate_source");
  }

  /** Source: queue the live migration (bounded per host), then run it. */
  default void liveMigration(String uuid, String migrationUuid, String dataJson) {
    throw new NotImplementedException("live_migration");
  }

  /** Destination, a call: pre_live_migration; returns the data with the destination XML. */
  default String preLiveMigration(String uuid, String migrationUuid, String dataJson) {
    throw new NotImplementedException("pre_live_migration");
  }

  /** Destination, a call: post_live_migration_at_destination. */
  default boolean postLiveMigrationAtDestination(
      String uuid, String migrationUuid, String dataJson) {
    throw new NotImplementedException("post_live_migration_at_destination");
  }

  /** Destination: rollback_live_migration_at_destination. */
  default void rollbackLiveMigrationAtDestination(
      String uuid, String migrationUuid, String dataJson) {
    throw new NotImplementedException("rollback_live_migration_at_destination");
  }

  /** Source, a call: abort a queued or running live migration; false when none is. */
  default boolean liveMigrationAbort(String uuid, String migrationUuid) {
    throw new NotImplementedException("live_migration_abort");
  }

  /** Source, a call: force a running live migration to complete; false when none runs. */
  default boolean liveMigrationForceComplete(String uuid, String migrationUuid) {
    throw new NotImplementedException("live_migration_force_complete");
  }

  // ---- the rest of a server's life (rebuild, rescue); defaults for agents without them ----

  /**
   * Rebuild in place from {@code imageRef} (already written to the instance row): root disk and
   * config drive recreated, ephemeral kept when {@code preserveEphemeral}; ends in the power state
   * the instance had. {@code adminPass} (Nova's {@code new_pass}) goes on the new config drive.
   */
  default void rebuildInstance(
      String uuid, String imageRef, boolean preserveEphemeral, Optional<String> adminPass) {
    throw new NotImplementedException("rebuild is not implemented by this agent");
  }

  /**
   * Boot the rescue image with the instance's root disk attached second (vm_state rescued); the
   * password (Nova's rescue_password) goes on the rescue config drive as {@code admin_pass}.
   */
  default void rescueInstance(String uuid, String rescueImageRef, Optional<String> rescuePassword) {
    throw new NotImplementedException("rescue is not implemented by this agent");
  }

  /** Back from rescue to the instance's own domain. */
  default void unrescueInstance(String uuid) {
    throw new NotImplementedException("unrescue is not implemented by this agent");
  }

  /**
   * Shelve: clean power-off, snapshot into image {@code imageId} (an entry the API queued),
   * vm_state shelved; offloaded at once when the agent's {@code shelved_offload_time} is 0.
   */
  default void shelveInstance(String uuid, String imageId) {
    throw new NotImplementedException("shelve is not implemented by this agent");
  }

  /** Offload a shelved instance: its domain and disks go, the host is freed. */
  default void shelveOffloadInstance(String uuid) {
    throw new NotImplementedException("shelve offload is not implemented by this agent");
  }

  /**
   * Unshelve onto this host: power on a shelved instance still here, or spawn an offloaded one
   * (scheduled here by the API) from the shelve image {@code imageId}, which is then deleted.
   */
  default void unshelveInstance(String uuid, String imageId) {
    throw new NotImplementedException("unshelve is not implemented by this agent");
  }

  /** createBackup: a snapshot into {@code imageId}, then only the newest {@code rotation} kept. */
  default void backupInstance(String uuid, String imageId, String backupType, int rotation) {
    throw new NotImplementedException("backup is not implemented by this agent");
  }

  /**
   * A call: the host's uptime line, as the {@code uptime} command prints it (Nova's {@code
   * get_host_uptime}); agents that cannot tell answer 501.
   */
  default String getHostUptime() {
    throw new NotImplementedException("this compute agent does not report the host's uptime");
  }

  /** A call: the instance's diagnostics from its hypervisor (Nova's get_instance_diagnostics). */
  default InstanceDiagnostics getInstanceDiagnostics(String uuid) {
    throw new NotImplementedException("this compute agent does not report diagnostics");
  }

  /**
   * Evacuate onto this host (its claim made, the instance assigned here): recreate it from its
   * disks when this host sees them on shared storage, else rebuild from the image; then mark the
   * evacuation migration done (failed on error). {@code onSharedStorage} is the caller's claim
   * before 2.14 (empty: detect); a claim that does not match what this host finds fails the
   * evacuation (Nova's InvalidSharedStorage).
   */
  default void evacuateInstance(
      String uuid,
      String migrationUuid,
      Optional<Boolean> onSharedStorage,
      Optional<String> adminPass) {
    throw new NotImplementedException("evacuate is not implemented by this agent");
  }
}
