package io.virga.core;

import java.util.List;
import java.util.Optional;

/**
 * What a compute agent asks of the control plane (Nova's conductor rule: agents never touch the
 * database). Served on RPC topic {@code conductor}; all methods are calls. Add methods as flows
 * need them.
 */
public interface ConductorApi {
  /** The instance, or NotFoundException. */
  Instance getInstance(String uuid);

  /** Instances assigned to a host (for recovery and power sync). */
  List<Instance> instancesOnHost(String host);

  /**
   * Compare-and-swap: writes the update only if the instance's task_state currently equals {@code
   * expectedTaskState} (empty meaning "no task"). Returns the new row, or empty if the CAS lost.
   */
  Optional<Instance> updateInstance(
      String uuid, InstanceUpdate update, Optional<TaskState> expectedTaskState);

  /**
   * An action's first task-state step together with the start of its action event, in one call
   * where the two follow each other at once (a build's first step comes right after its event
   * starts): the event starts, then the compare-and-swap as {@link #updateInstance}.
   */
  default Optional<Instance> updateInstanceStartingEvent(
      String uuid,
      String requestId,
      String event,
      InstanceUpdate update,
      Optional<TaskState> expectedTaskState) {
    try {
      actionEventStart(uuid, requestId, event);
    } catch (RuntimeException e) {
      // as an event start of its own would: never fails the step (the finish records the event)
      EVENT_LOG.log(System.Logger.Level.WARNING, "could not record the start of " + event, e);
    }
    return updateInstance(uuid, update, expectedTaskState);
  }

  /** Where the combined steps log an event they could not record. */
  System.Logger EVENT_LOG = System.getLogger(ConductorApi.class.getName());

  /**
   * An action's last task-state step together with the finish of its action event, in one call: the
   * compare-and-swap as {@link #updateInstance}, then the event finished — with the lost task as
   * its error when the swap lost.
   */
  default Optional<Instance> updateInstanceFinishingEvent(
      String uuid,
      String requestId,
      String event,
      InstanceUpdate update,
      Optional<TaskState> expectedTaskState) {
    Optional<Instance> done = updateInstance(uuid, update, expectedTaskState);
    try {
      actionEventFinish(
          uuid,
          requestId,
          event,
          done.isPresent() ? Optional.empty() : Optional.of(lostTask(uuid, expectedTaskState)));
    } catch (RuntimeException e) {
      // the step is done: an event that cannot be recorded never undoes it
      EVENT_LOG.log(System.Logger.Level.WARNING, "could not record the end of " + event, e);
    }
    return done;
  }

  /** Why a compare-and-swap from {@code expected} lost: someone else moved the task. */
  static String lostTask(String uuid, Optional<TaskState> expected) {
    return "instance "
        + uuid
        + " left task "
        + expected.map(TaskState::value).orElse("none")
        + " behind our back";
  }

  /** Unconditional update (agent-side recovery and power sync). */
  Instance forceUpdateInstance(String uuid, InstanceUpdate update);

  /** Marks the instance deleted and releases its resources (end of terminate). */
  void instanceDestroyed(String uuid);

  /** Records the instance fault shown by the API. */
  void recordFault(String uuid, int code, String message, Optional<String> details);

  /** Start/finish of an instance action event (os-instance-actions). */
  void actionEventStart(String uuid, String requestId, String event);

  void actionEventFinish(String uuid, String requestId, String event, Optional<String> error);

  ImageMeta getImage(String imageId);

  /**
   * The instance, its image and its server group in one call (run on the control plane's side when
   * called over RPC, so a build costs one round trip instead of three).
   */
  default BuildRequest buildRequest(String uuid) {
    Instance i = getInstance(uuid);
    Optional<ImageMeta> image;
    try {
      image = Optional.of(getImage(i.imageRef()));
    } catch (NotFoundException e) {
      image = Optional.empty();
    }
    Optional<ServerGroupMembers> group;
    try {
      group = serverGroupOf(uuid);
    } catch (NotImplementedException e) {
      group = Optional.empty(); // a control plane without server groups
    }
    return new BuildRequest(i, image, group);
  }

  /** Creates or refreshes this host's compute node record and service heartbeat. */
  void reportHost(HostReport report);

  /**
   * The service heartbeat between resource reports (Nova's servicegroup {@code report_state}):
   * marks this host's compute service seen now, and writes nothing else. False when the control
   * plane has no service record for the host (never reported, or deleted by an operator): the agent
   * then sends a full {@link #reportHost report}, which creates it.
   */
  default boolean serviceHeartbeat(String host) {
    throw new NotImplementedException("this conductor takes full host reports only");
  }

  // ---- migrations (resize, cold and live migration) ----

  default Migration getMigration(String migrationUuid) {
    throw new NotImplementedException("getMigration");
  }

  /**
   * Moves the migration to {@code status} when it is in one of {@code expected} (any when empty);
   * {@code errorStep} is kept for an error. Returns the new record, or empty when the CAS lost.
   */
  default Optional<Migration> updateMigrationStatus(
      String migrationUuid,
      List<MigrationStatus> expected,
      MigrationStatus status,
      Optional<String> errorStep) {
    throw new NotImplementedException("updateMigrationStatus");
  }

  /** Records progress on the migration and {@code percent} as the instance's progress. */
  default void migrationProgress(String migrationUuid, Migration.Progress progress, int percent) {
    throw new NotImplementedException("migrationProgress");
  }

  /**
   * Moves the instance to the migration's destination host and node with its new flavor, keeping
   * the old one for a revert ({@code toDest}); or back to the source with the old flavor.
   */
  default Instance applyMigration(String uuid, String migrationUuid, boolean toDest) {
    throw new NotImplementedException("applyMigration");
  }

  /** Migrations still in progress whose source or destination is {@code host} (recovery). */
  default List<Migration> migrationsInProgress(String host) {
    throw new NotImplementedException("migrationsInProgress");
  }

  // ---- the rest of a server's life (issue 16); defaults for conductors without it ----

  /**
   * Compare-and-swap from {@code expectedTaskState} to shelved_offloaded with no task, no power
   * state and no host (its resources freed), in one write. Empty when the swap lost.
   */
  default Optional<Instance> instanceOffloaded(String uuid, Optional<TaskState> expectedTaskState) {
    throw new NotImplementedException("offload is not implemented by this conductor");
  }

  /** Nova's instance system metadata (shelved_image_id, shelved_at …). */
  default java.util.Map<String, String> systemMetadata(String uuid) {
    throw new NotImplementedException("system metadata is not implemented by this conductor");
  }

  default void removeSystemMetadata(String uuid, String key) {
    throw new NotImplementedException("system metadata is not implemented by this conductor");
  }

  /**
   * Evacuations away from {@code host} whose source copy is still to be destroyed (Nova's accepted,
   * pre-migrating and done), for {@code _destroy_evacuated_instances}.
   */
  default List<Migration> evacuationsFrom(String host) {
    throw new NotImplementedException("evacuationsFrom");
  }

  // ---- the agent's late server group check (Nova's _validate_instance_group_policy) ----

  /** The instance's server group with its other live members; empty when it is in none. */
  default Optional<ServerGroupMembers> serverGroupOf(String uuid) {
    throw new NotImplementedException("server groups are not served by this conductor");
  }

  /**
   * A build the agent on {@code host} refused (Nova's RescheduledException → the conductor's
   * build_instances again): the instance is scheduled anew away from every host that refused it and
   * cast to the next one with the same {@code adminPass}; when the attempts are used up or no host
   * is left it goes to ERROR with a NoValidHost fault.
   */
  default void rescheduleBuild(
      String uuid, String host, String reason, Optional<String> adminPass) {
    throw new NotImplementedException("rescheduling is not served by this conductor");
  }
}
