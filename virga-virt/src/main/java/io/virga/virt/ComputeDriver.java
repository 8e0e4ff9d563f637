package io.virga.virt;

import io.virga.core.Flavor;
import io.virga.core.NotImplementedException;
import io.virga.core.TaskState;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The hypervisor driver SPI: Nova's {@code ComputeDriver}, one method per step a compute manager
 * drives. Implementations are thread-safe; the manager serialises calls per instance.
 *
 * <p>Every method that can fail throws a {@link io.virga.core.VirgaException} whose message names
 * the step that failed. Operations a driver does not support throw {@link NotImplementedException}.
 */
public interface ComputeDriver extends AutoCloseable {

  /** Connect to the hypervisor and start delivering events. Idempotent. */
  void init();

  /** The hostname this driver reports for its node (also the compute service's host name). */
  String hostname();

  /**
   * False while the driver has lost its hypervisor connection (it reconnects by itself); the
   * compute service reports itself down meanwhile.
   */
  default boolean isHostUp() {
    return true;
  }

  /**
   * Build and start a new instance (DESIGN §3.1). On failure everything this call created is
   * removed before the exception propagates.
   *
   * @param taskState told each time spawn enters a new task state (networking,
   *     block_device_mapping, spawning)
   */
  void spawn(InstanceSpec spec, ImageSource images, Consumer<TaskState> taskState);

  /** Stop the domain, undefine it and (when {@code destroyDisks}) remove its files. */
  void destroy(InstanceSpec spec, boolean destroyDisks);

  /**
   * Clean shutdown: ACPI power button re-sent every {@code retryInterval} up to {@code timeout},
   * then a hard power off. A zero timeout powers off at once.
   */
  void powerOff(InstanceSpec spec, Duration timeout, Duration retryInterval);

  void powerOn(InstanceSpec spec, ImageSource images);

  void reboot(InstanceSpec spec, RebootType type, ImageSource images);

  void pause(InstanceSpec spec);

  void unpause(InstanceSpec spec);

  void suspend(InstanceSpec spec);

  void resume(InstanceSpec spec);

  /** Current state, or empty when the hypervisor does not know the instance. */
  Optional<InstanceInfo> getInfo(String uuid);

  /** UUIDs of all instances this host's hypervisor knows. */
  List<String> listInstanceUuids();

  HostResources getAvailableResource();

  /**
   * The serial console log (tail, at most {@code maxBytes}; all of it when {@code maxBytes} is
   * negative). Throws {@link io.virga.core.NotFoundException} for an instance the host does not
   * have.
   */
  String getConsoleOutput(InstanceSpec spec, int maxBytes);

  /** Register the single listener for lifecycle events; it is called on a driver thread. */
  void registerLifecycleListener(Consumer<LifecycleEvent> listener);

  /**
   * Snapshot the root disk into {@code upload} (DESIGN §3.5), telling task-state changes
   * (image_pending_upload, image_uploading) as they happen.
   */
  default void snapshot(
      InstanceSpec spec, String imageId, SnapshotUpload upload, Consumer<TaskState> taskState) {
    throw new NotImplementedException("snapshot is not implemented by this driver");
  }

  // ---- Cold migration and resize (DESIGN §3.3), Nova's names ----

  /**
   * Destination, {@code prep_resize}: create a shared-storage probe file in the instances path and
   * open a receiver for the disks of {@code migrationId}, accepting only the returned token.
   */
  default MigrationTarget prepareMigrationTarget(InstanceSpec spec, String migrationId) {
    throw new NotImplementedException("cold migration is not implemented by this driver");
  }

  /**
   * Source, {@code migrate_disk_and_power_off}: refuse shrinking disks, detect shared storage
   * through {@code target}'s probe, power off cleanly, rename {@code <uuid>} to {@code
   * <uuid>_resize}, and (without shared storage) send every disk but swap to {@code target}, sparse
   * and verified, telling {@code progress} as bytes go. On failure the instance is back in place on
   * this host (directory renamed back; the caller restarts it if it was running).
   */
  default MigrationDisks migrateDiskAndPowerOff(
      InstanceSpec spec,
      Flavor newFlavor,
      MigrationTarget target,
      Duration timeout,
      Duration retryInterval,
      Consumer<MigrationProgress> progress) {
    throw new NotImplementedException("cold migration is not implemented by this driver");
  }

  /**
   * Destination, {@code finish_migration}: {@code spec} carries the new flavor. Rebuild missing
   * bases from {@code images}, grow disks to the new flavor, write a new config drive and XML,
   * define, and start only when {@code powerOn}. On failure nothing of it is left on this host.
   */
  default void finishMigration(
      InstanceSpec spec, MigrationDisks disks, ImageSource images, boolean powerOn) {
    throw new NotImplementedException("cold migration is not implemented by this driver");
  }

  /**
   * Destination: undo {@link #prepareMigrationTarget} and anything received or built for {@code
   * migrationId} (failure before finish, or the destination half of a revert). Idempotent.
   */
  default void cleanupMigrationTarget(InstanceSpec spec, String migrationId) {}

  /** Source, {@code confirm_migration}: remove {@code <uuid>_resize} and the old domain. */
  default void confirmMigration(InstanceSpec spec) {
    throw new NotImplementedException("cold migration is not implemented by this driver");
  }

  /**
   * Source, {@code finish_revert_migration}: {@code spec} carries the old flavor. Move {@code
   * <uuid>_resize} back to {@code <uuid>}, define the domain again and start it only when {@code
   * powerOn}. Also the recovery step when a migration fails on the source after the rename.
   */
  default void finishRevertMigration(InstanceSpec spec, ImageSource images, boolean powerOn) {
    throw new NotImplementedException("cold migration is not implemented by this driver");
  }

  // ---- Live migration (DESIGN §3.4), Nova's names ----

  /**
   * Destination, {@code check_can_live_migrate_destination}: free disk, hypervisor type and CPU
   * compatibility; creates a shared-storage probe. Throws {@link
   * io.virga.core.InvalidStateException} or {@link io.virga.core.InvalidInputException} with the
   * reason when this host cannot take it.
   *
   * @param blockMigration empty for "auto" (decided by the source's shared-storage check)
   */
  default LiveMigrationData checkCanLiveMigrateDestination(
      InstanceSpec spec, Optional<Boolean> blockMigration) {
    throw new NotImplementedException("live migration is not implemented by this driver");
  }

  /** Destination: remove the probe {@link #checkCanLiveMigrateDestination} created. */
  default void cleanupLiveMigrationDestinationCheck(LiveMigrationData data) {}

  /**
   * Source, {@code check_can_live_migrate_source}: decide shared instance path from the probe,
   * settle block migration ("auto" → block when not shared; explicit block on shared storage is
   * refused), and return the data with the disks to copy.
   */
  default LiveMigrationData checkCanLiveMigrateSource(
      InstanceSpec spec, LiveMigrationData dest, Optional<Boolean> blockMigration) {
    throw new NotImplementedException("live migration is not implemented by this driver");
  }

  /**
   * Destination, {@code pre_live_migration}: instance directory, disk.info, backing files in its
   * own {@code _base}, empty target disks of the right virtual size for block migration, console
   * log, config drive; returns the data with the destination XML.
   */
  default LiveMigrationData preLiveMigration(
      InstanceSpec spec, LiveMigrationData data, ImageSource images) {
    throw new NotImplementedException("live migration is not implemented by this driver");
  }

  /**
   * Source: migrate peer-to-peer and monitor until it completes (returns), fails or is aborted
   * (throws; the guest is still running here). {@code progress} is told every poll.
   */
  default void liveMigration(
      InstanceSpec spec, LiveMigrationData data, Consumer<MigrationProgress> progress) {
    throw new NotImplementedException("live migration is not implemented by this driver");
  }

  /** Source: abort the running live migration of {@code uuid}; false when none runs. */
  default boolean liveMigrationAbort(String uuid) {
    return false;
  }

  /**
   * Source: force the running live migration of {@code uuid} to complete (post-copy when permitted
   * and supported, else pause the guest); false when none runs.
   */
  default boolean liveMigrationForceComplete(String uuid) {
    return false;
  }

  /** Source, after success: remove the instance's files here unless the path is shared. */
  default void postLiveMigrationAtSource(InstanceSpec spec, LiveMigrationData data) {}

  /** Destination, after success: make sure the domain is persistent and its files complete. */
  default void postLiveMigrationAtDestination(InstanceSpec spec, LiveMigrationData data) {}

  /**
   * Destination, after failure or abort: remove any domain and (without shared storage) the
   * instance directory {@link #preLiveMigration} made. Idempotent.
   */
  default void rollbackLiveMigrationAtDestination(InstanceSpec spec, LiveMigrationData data) {}

  /**
   * Rebuild (DESIGN §3.7): destroy the domain and the root disk and config drive (the ephemeral
   * disk too unless {@code preserveEphemeral}), then spawn again from {@code spec.image()} with the
   * same uuid and domain name, telling rebuild_block_device_mapping and rebuild_spawning. The guest
   * ends running; the manager powers it off again when it was stopped.
   */
  default void rebuild(
      InstanceSpec spec,
      ImageSource images,
      boolean preserveEphemeral,
      Consumer<TaskState> taskState) {
    throw new NotImplementedException("rebuild is not implemented by this driver");
  }

  /**
   * Nova's {@code instance_on_disk}: whether this host sees the instance's files (an instances path
   * shared with the host it lived on), so an evacuation can recreate it from its disks.
   */
  default boolean instanceOnDisk(InstanceSpec spec) {
    return false;
  }

  /**
   * Evacuate on shared storage (Nova's rebuild with recreate and on_shared_storage): define and
   * start the instance on this host from the disks it already has — nothing recreated from the
   * image, the user's data kept; the domain XML and the config drive are made afresh, backing files
   * missing from this host's base cache recreated. Tells rebuild_block_device_mapping and
   * rebuild_spawning; the guest ends running. A failure removes the domain, never the disks.
   */
  default void recreateFromDisks(
      InstanceSpec spec, ImageSource images, Consumer<TaskState> taskState) {
    throw new NotImplementedException("evacuate on shared storage is not implemented");
  }

  /**
   * Whether another host recreated this instance from the disks this host sees (an evacuation on
   * shared storage): they are that host's now, so this host's cleanup of its leftover copy must
   * destroy the domain only (Nova's {@code _destroy_evacuated_instances} with shared storage).
   */
  default boolean instanceDisksTakenOver(InstanceSpec spec) {
    return false;
  }

  /**
   * Rescue: keep the instance's own domain definition for {@link #unrescue}, then boot a rescue
   * domain from {@code rescueImage} (first disk) with the instance's root disk as second disk.
   */
  default void rescue(InstanceSpec spec, io.virga.core.ImageMeta rescueImage, ImageSource images) {
    throw new NotImplementedException("rescue is not implemented by this driver");
  }

  /**
   * Unrescue: destroy the rescue domain, remove its disks and start the instance's own domain
   * again. Idempotent: on an instance that is not rescued it only makes sure the domain runs.
   */
  default void unrescue(InstanceSpec spec, ImageSource images) {
    throw new NotImplementedException("unrescue is not implemented by this driver");
  }

  /** Periodic cleanup of files a failed delete left behind; returns the uuids still not cleaned. */
  default List<String> cleanupLeftovers(List<String> deletedUuids) {
    return List.of();
  }

  /**
   * Periodic image cache ageing (Nova's manage_image_cache): {@code imageIdsInUse} are the image,
   * kernel and ramdisk ids of every instance the control plane places on this host; the driver
   * keeps their cached bases (and whatever its instance directories still use) and removes unused
   * bases older than its configured minimum ages. Drivers without a cache do nothing.
   */
  default void manageImageCache(java.util.Collection<String> imageIdsInUse) {}

  /** The instance's CPU, memory and disk counters (Nova's get_instance_diagnostics). */
  default io.virga.core.InstanceDiagnostics getDiagnostics(InstanceSpec spec) {
    throw new io.virga.core.NotImplementedException(
        "this compute driver does not report diagnostics");
  }

  @Override
  void close();
}
