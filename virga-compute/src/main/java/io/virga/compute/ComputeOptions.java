package io.virga.compute;

import io.virga.core.Config;
import java.time.Duration;

/**
 * The compute agent's options (configuration names in parentheses, defaults as in Nova where Nova
 * has the option).
 *
 * @param updateResourcesInterval how often the host's resources are refreshed from the hypervisor
 *     and reported to the conductor ({@code update_resources_interval}, 60 s); they are also
 *     reported after every change
 * @param reportInterval how often the agent's heartbeat (the last report, sent again) reaches the
 *     conductor ({@code report_interval}, 10 s); keep it well under the API's {@code
 *     service_down_time}. No heartbeat is sent while the driver says the hypervisor is down
 * @param syncPowerStateInterval how often every instance's power state is compared with the
 *     hypervisor's ({@code sync_power_state_interval}, 600 s)
 * @param shutdownTimeout how long a clean stop waits for the guest before powering it off ({@code
 *     shutdown_timeout}, 60 s)
 * @param shutdownRetryInterval how often the ACPI power button is pressed again meanwhile ({@code
 *     shutdown_retry_interval}, 10 s)
 * @param instanceWorkers platform threads running instance actions; actions on one instance run one
 *     at a time, different instances in parallel up to this many ({@code instance_worker_threads},
 *     16)
 * @param stoppedEventDelay how long a STOPPED lifecycle event is held before it is acted on; any
 *     newer event for the instance cancels it ({@code lifecycle_event_delay}, 15 s)
 * @param instanceDeleteInterval how often files left by failed deletes are cleaned ({@code
 *     instance_delete_interval}, 300 s)
 * @param myIp the host address reported for this compute node ({@code my_ip}, 127.0.0.1)
 * @param imageCacheManagerInterval how often the driver's base-image cache is aged: bases of this
 *     host's instances (image, kernel, ramdisk) are kept, others removed once old enough ({@code
 *     image_cache_manager_interval}, 2400 s as in Nova)
 */
public record ComputeOptions(
    Duration updateResourcesInterval,
    Duration reportInterval,
    Duration syncPowerStateInterval,
    Duration shutdownTimeout,
    Duration shutdownRetryInterval,
    int instanceWorkers,
    Duration stoppedEventDelay,
    Duration instanceDeleteInterval,
    String myIp,
    Duration imageCacheManagerInterval) {

  public ComputeOptions {
    if (instanceWorkers < 1) {
      throw new IllegalArgumentException("instance_worker_threads must be at least 1");
    }
  }

  public static ComputeOptions defaults() {
    return fromConfig(Config.of(java.util.Map.of()));
  }

  public static ComputeOptions fromConfig(Config c) {
    return new ComputeOptions(
        c.seconds("update_resources_interval", 60),
        c.seconds("report_interval", 10),
        c.seconds("sync_power_state_interval", 600),
        c.seconds("shutdown_timeout", 60),
        c.seconds("shutdown_retry_interval", 10),
        c.integer("instance_worker_threads", 16),
        c.seconds("lifecycle_event_delay", 15),
        c.seconds("instance_delete_interval", 300),
        c.string("my_ip", "127.0.0.1"),
        c.seconds("image_cache_manager_interval", 2400));
  }

  public ComputeOptions withStoppedEventDelay(Duration d) {
    return new ComputeOptions(
        updateResourcesInterval,
        reportInterval,
        syncPowerStateInterval,
        shutdownTimeout,
        shutdownRetryInterval,
        instanceWorkers,
        d,
        instanceDeleteInterval,
        myIp,
        imageCacheManagerInterval);
  }

  public ComputeOptions withInstanceWorkers(int n) {
    return new ComputeOptions(
        updateResourcesInterval,
        reportInterval,
        syncPowerStateInterval,
        shutdownTimeout,
        shutdownRetryInterval,
        n,
        stoppedEventDelay,
        instanceDeleteInterval,
        myIp,
        imageCacheManagerInterval);
  }

  public ComputeOptions withIntervals(
      Duration updateResources, Duration syncPowerState, Duration instanceDelete) {
    return new ComputeOptions(
        updateResources,
        updateResources.compareTo(reportInterval) < 0 ? updateResources : reportInterval,
        syncPowerState,
        shutdownTimeout,
        shutdownRetryInterval,
        instanceWorkers,
        stoppedEventDelay,
        instanceDelete,
        myIp,
        imageCacheManagerInterval);
  }

  /** Heartbeats (and the report of a change) every {@code interval}. */
  public ComputeOptions withReportInterval(Duration interval) {
    return new ComputeOptions(
        updateResourcesInterval,
        interval,
        syncPowerStateInterval,
        shutdownTimeout,
        shutdownRetryInterval,
        instanceWorkers,
        stoppedEventDelay,
        instanceDeleteInterval,
        myIp,
        imageCacheManagerInterval);
  }

  public ComputeOptions withImageCacheInterval(Duration interval) {
    return new ComputeOptions(
        updateResourcesInterval,
        reportInterval,
        syncPowerStateInterval,
        shutdownTimeout,
        shutdownRetryInterval,
        instanceWorkers,
        stoppedEventDelay,
        instanceDeleteInterval,
        myIp,
        interval);
  }

  public ComputeOptions withShutdown(Duration timeout, Duration retryInterval) {
    return new ComputeOptions(
        updateResourcesInterval,
        reportInterval,
        syncPowerStateInterval,
        timeout,
        retryInterval,
        instanceWorkers,
        stoppedEventDelay,
        instanceDeleteInterval,
        myIp,
        imageCacheManagerInterval);
  }
}
