package io.virga.virt;

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
