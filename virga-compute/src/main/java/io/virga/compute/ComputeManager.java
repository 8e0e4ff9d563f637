package io.virga.compute;

import io.virga.core.BuildRequest;
import io.virga.core.ComputeAgentApi;
import io.virga.core.ConductorApi;
import io.virga.core.Instance;
import io.virga.core.Migration;
import io.virga.rpc.Rpc;
import io.virga.virt.ComputeDriver;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The compute agent of one host: serves {@link ComputeAgentApi} on top of a {@link ComputeDriver},
 * talking to the control plane only through {@link ConductorApi}.
 *
 * <pre>{@code
 * var manager = new ComputeManager(driver, Rpc.conductor(transport), imageSources, options);
 * manager.start();                                   // recovery, then periodic tasks
 * var listener = Rpc.serve(transport, Rpc.computeTopic(manager.host()), ComputeAgentApi.class, manager);
 * ...
 * listener.close(); manager.close();
 * }</pre>
 *
 * <p>Actions are queued per instance and return at once (they are RPC casts): one action at a time
 * per instance, different instances in parallel on {@code instance_worker_threads} platform
 * threads. Each moves the instance through Nova's task states by compare-and-swap, records
 * instance-action events, and on failure records a fault. Log lines carry the MDC keys {@code
 * instance_uuid} and {@code request_id} (from the RPC message, or a fresh {@code req-…}).
 *
 * <p>Periodic tasks: resource report ({@code update_resources_interval}, and after each change),
 * heartbeat ({@code report_interval}), power-state sync ({@code sync_power_state_interval}, and on
 * lifecycle events), cleanup of files failed deletes left ({@code instance_delete_interval}),
 * base-image cache ageing ({@code image_cache_manager_interval}).
 */
public final class ComputeManager implements ComputeAgentApi, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ComputeManager.class);
  static final String INSTANCE_UUID = "instance_uuid";

  private final ComputeDriver driver;
  private final ConductorApi conductor;
  private final ComputeOptions options;
  private final String host;
  private final InstanceQueue queue;
  private final ScheduledExecutorService periodic;

  /**
   * The heartbeat and resource reports, on their own thread as Nova's service report_state runs on
   * its own timer: a slow periodic task (an image cache pass, a power sync against a busy libvirt)
   * must not let the host look down past service_down_time, when the API deletes its instances
   * locally and stops scheduling to it.
   */
  private final ScheduledExecutorService reporting;

  private final ResourceTracker tracker;
  private final PendingDeletes pendingDeletes;
  private final InstanceFlows flows;
  private final PowerSync powerSync;
  private final InstanceRecovery recovery;
  private final ResizeFlows resizes;
  private final LiveMigrationFlows liveMigrations;
  private final LifecycleFlows lifecycle;
  private final GroupPolicyCheck groupPolicy;
  private final ShelveFlows shelve;
  private final LifecycleOptions lifecycleOptions;
  private final MigrationOptions migrationOptions;
  private final MigrationRecovery migrationRecovery;

  public ComputeManager(
      ComputeDriver driver,
      ConductorApi conductor,
      ImageSourceFactory images,
      ComputeOptions options) {
    this(
        driver,
        conductor,
        images,
        options,
        MigrationOptions.defaults(),
        LifecycleOptions.defaults(),
        MigrationSteps.noPeers());
  }

  /**
   * @param peers the agents of other hosts (an RPC client on {@code compute.<host>}), for the
   *     migration steps that hand over from one host to the other
   */
  public ComputeManager(
      ComputeDriver driver,
      ConductorApi conductor,
      ImageSourceFactory images,
      ComputeOptions options,
      MigrationOptions migrationOptions,
      Function<String, ComputeAgentApi> peers) {
    this(driver, conductor, images, options, migrationOptions, LifecycleOptions.defaults(), peers);
  }

  /** With the shelve options ({@code shelved_offload_time}, {@code shelved_poll_interval}). */
  public ComputeManager(
      ComputeDriver driver,
      ConductorApi conductor,
      ImageSourceFactory images,
      ComputeOptions options,
      LifecycleOptions lifecycleOptions) {
    this(
        driver,
        conductor,
        images,
        options,
        MigrationOptions.defaults(),
        lifecycleOptions,
        MigrationSteps.noPeers());
  }

  /**
   * @param migrationOptions live-migration concurrency and the resize confirm window
   * @param lifecycleOptions shelve offload timing
   * @param peers the agents of other hosts, for the migration steps handed from host to host
   */
  public ComputeManager(
      ComputeDriver driver,
      ConductorApi conductor,
      ImageSourceFactory images,
      ComputeOptions options,
      MigrationOptions migrationOptions,
      LifecycleOptions lifecycleOptions,
      Function<String, ComputeAgentApi> peers) {
    this.driver = driver;
    this.lifecycleOptions = lifecycleOptions;
    this.conductor = conductor;
    this.options = options;
    this.host = driver.hostname();
    this.queue = new InstanceQueue(options.instanceWorkers());
    this.periodic = daemonScheduler("compute-periodic");
    this.reporting = daemonScheduler("compute-report");
    TaskStates tasks = new TaskStates(conductor);
    SpecBuilder specs = new SpecBuilder(conductor);
    this.tracker = new ResourceTracker(driver, conductor, host, options.myIp(), reporting);
    this.pendingDeletes = new PendingDeletes(driver);
    FlowContext ctx = new FlowContext(driver, tasks, specs, images, options, tracker);
    this.flows = new InstanceFlows(ctx, pendingDeletes);
    this.powerSync =
        new PowerSync(
            host,
            driver,
            tasks,
            flows,
            (uuid, what, task) -> submit(uuid, what, task),
            periodic,
            options.stoppedEventDelay());
    MigrationSteps steps = new MigrationSteps(tasks, peers);
    this.resizes = new ResizeFlows(driver, steps, specs, images, flows, options, tracker);
    this.liveMigrations =
        new LiveMigrationFlows(driver, steps, specs, images, flows, tracker, migrationOptions);
    this.lifecycle = new LifecycleFlows(ctx, flows);
    this.groupPolicy = new GroupPolicyCheck(host, tasks);
    this.shelve = new ShelveFlows(host, ctx, lifecycleOptions, flows);
    this.migrationOptions = migrationOptions;
    this.migrationRecovery = new MigrationRecovery(host, driver, steps, specs, images, flows);
    this.recovery = new InstanceRecovery(host, tasks, flows, migrationRecovery, lifecycle, shelve);
  }

  /** The host name this agent serves (its RPC topic is {@code compute.<host>}). */
  public String host() {
    return host;
  }

  /**
   * Connects the driver, queues Nova's start-up recovery for every instance of this host (before
   * any action that arrives later), reports the host, and starts the periodic tasks.
   */
  public void start() {
    driver.init();
    driver.registerLifecycleListener(powerSync::onEvent);
    try {
      new EvacuatedInstances(host, driver, conductor, new SpecBuilder(conductor))
          .destroyEvacuatedInstances();
    } catch (RuntimeException e) {
      log.error("cannot look for instances evacuated away from {}: {}", host, e.toString(), e);
    }
    String rid = newRequestId();
    List<Instance> mine = conductor.instancesOnHost(host);
    log.info("compute agent {} starting with {} instances", host, mine.size());
    for (Instance i : mine) {
      submit(i.uuid(), "init_instance", rid, () -> recovery.initInstance(i, rid));
    }
    scheduleStrandedResizeCheck(rid);
    tracker.reportSoon();
    every(reporting, options.updateResourcesInterval(), tracker::report);
    every(reporting, options.reportInterval(), () -> tracker.heartbeat(options.reportInterval()));
    every(periodic, options.syncPowerStateInterval(), powerSync::syncAll);
    every(periodic, options.instanceDeleteInterval(), pendingDeletes::run);
    every(
        periodic, options.imageCacheManagerInterval(), new ImageCacheTask(driver, conductor, host));
    if (lifecycleOptions.shelvedOffloadTime() > 0) {
      every(periodic, lifecycleOptions.shelvedPollInterval(), this::pollShelvedInstances);
    }
  }

  /**
   * Cold migrations caught at {@code resize_migrated} by this start: looked at again once {@code
   * resize_stranded_timeout} has passed (a queued finish_resize is delivered meanwhile), and
   * reverted to the source if still there ({@link MigrationRecovery#revertStranded}).
   */
  private void scheduleStrandedResizeCheck(String rid) {
    List<Migration> stranded;
    try {
      stranded = migrationRecovery.strandedResizes();
    } catch (RuntimeException e) {
      log.error("cannot look for cold migrations stranded at resize_migrated: {}", e.toString(), e);
      return;
    }
    if (stranded.isEmpty()) {
      return;
    }
    log.warn(
        "{} cold migration(s) at resize_migrated at start-up; checking again in {}",
        stranded.size(),
        migrationOptions.resizeStrandedTimeout());
    periodic.schedule(
        () -> {
          for (Migration m : stranded) {
            submit(
                m.instanceUuid(),
                "stranded resize",
                rid,
                () -> migrationRecovery.revertStranded(m, rid));
          }
        },
        migrationOptions.resizeStrandedTimeout().toMillis(),
        TimeUnit.MILLISECONDS);
  }

  /** Nova's _poll_shelved_instances: offload what was shelved longer than shelved_offload_time. */
  void pollShelvedInstances() {
    for (String uuid : shelve.expiredShelved()) {
      submit(uuid, "shelve offload (expired)", rid -> shelve.offloadExpired(uuid, rid));
    }
  }

  /**
   * Runs {@code task} every {@code interval}, first after a random part of it: agents started
   * together (a rack after a power cut, a thousand in one benchmark) do not send their heartbeats
   * and reports in the same second forever after — Nova's {@code periodic_fuzzy_delay}, bounded by
   * the interval so that no task runs later than it did without it.
   */
  private static void every(ScheduledExecutorService on, Duration interval, Runnable task) {
    long ms = interval.toMillis();
    long first = java.util.concurrent.ThreadLocalRandom.current().nextLong(1, Math.max(2, ms + 1));
    on.scheduleWithFixedDelay(
        () -> {
          try {
            task.run();
          } catch (RuntimeException e) {
            log.error("periodic task failed", e);
          }
        },
        first,
        ms,
        TimeUnit.MILLISECONDS);
  }

  private static ScheduledExecutorService daemonScheduler(String name) {
    return Executors.newSingleThreadScheduledExecutor(
        r -> {
          Thread t = new Thread(r, name);
          t.setDaemon(true);
          return t;
        });
  }

  /** How many actions on {@code uuid} wait behind the one running (tests). */
  int waitingActions(String uuid) {
    return queue.waiting(uuid);
  }

  /** Waits until no instance action is queued or running (tests, benchmarks, shutdown). */
  public boolean awaitIdle(Duration timeout) {
    try {
      return queue.awaitIdle(timeout);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /**
   * Stops accepting work and the periodic tasks; running driver calls are interrupted. The driver
   * is the caller's to close.
   */
  @Override
  public void close() {
    powerSync.close();
    liveMigrations.close();
    periodic.shutdownNow();
    reporting.shutdownNow();
    queue.close();
  }

  // ---- ComputeAgentApi: casts queue per instance and return; calls answer directly ----

  @Override
  public void buildAndRunInstance(
      String uuid, Optional<BuildRequest> carried, Optional<String> adminPass) {
    submit(
        uuid,
        "build",
        rid -> {
          BuildRequest request = carried.orElseGet(() -> conductor.buildRequest(uuid));
          groupPolicy
              .validate(request, rid, adminPass)
              .ifPresent(i -> flows.build(i, request.image(), rid, adminPass));
        });
  }

  @Override
  public void stopInstance(String uuid) {
    submit(uuid, "stop", rid -> flows.stop(uuid, rid));
  }

  @Override
  public void startInstance(String uuid) {
    submit(uuid, "start", rid -> flows.start(uuid, rid));
  }

  @Override
  public void rebootInstance(String uuid, boolean hard) {
    submit(uuid, hard ? "reboot hard" : "reboot soft", rid -> flows.reboot(uuid, rid, hard));
  }

  @Override
  public void pauseInstance(String uuid) {
    submit(uuid, "pause", rid -> flows.pause(uuid, rid));
  }

  @Override
  public void unpauseInstance(String uuid) {
    submit(uuid, "unpause", rid -> flows.unpause(uuid, rid));
  }

  @Override
  public void suspendInstance(String uuid) {
    submit(uuid, "suspend", rid -> flows.suspend(uuid, rid));
  }

  @Override
  public void resumeInstance(String uuid) {
    submit(uuid, "resume", rid -> flows.resume(uuid, rid));
  }

  @Override
  public void terminateInstance(String uuid) {
    submit(uuid, "terminate", rid -> flows.terminate(uuid, rid));
  }

  @Override
  public void snapshotInstance(String uuid, String imageId) {
    submit(uuid, "snapshot", rid -> flows.snapshot(uuid, rid, imageId));
  }

  @Override
  public void rebuildInstance(
      String uuid, String imageRef, boolean preserveEphemeral, Optional<String> adminPass) {
    submit(
        uuid,
        "rebuild",
        rid -> lifecycle.rebuild(uuid, rid, imageRef, preserveEphemeral, adminPass));
  }

  @Override
  public void rescueInstance(String uuid, String rescueImageRef, Optional<String> rescuePassword) {
    submit(uuid, "rescue", rid -> lifecycle.rescue(uuid, rid, rescueImageRef, rescuePassword));
  }

  @Override
  public void unrescueInstance(String uuid) {
    submit(uuid, "unrescue", rid -> lifecycle.unrescue(uuid, rid));
  }

  @Override
  public void evacuateInstance(
      String uuid,
      String migrationUuid,
      Optional<Boolean> onSharedStorage,
      Optional<String> adminPass) {
    submit(
        uuid,
        "evacuate",
        rid -> lifecycle.evacuate(uuid, rid, migrationUuid, onSharedStorage, adminPass));
  }

  @Override
  public void shelveInstance(String uuid, String imageId) {
    submit(uuid, "shelve", rid -> shelve.shelve(uuid, rid, imageId));
  }

  @Override
  public void shelveOffloadInstance(String uuid) {
    submit(uuid, "shelve offload", rid -> shelve.offload(uuid, rid));
  }

  @Override
  public void unshelveInstance(String uuid, String imageId) {
    submit(uuid, "unshelve", rid -> shelve.unshelve(uuid, rid, imageId));
  }

  @Override
  public void backupInstance(String uuid, String imageId, String backupType, int rotation) {
    submit(uuid, "backup", rid -> shelve.backup(uuid, rid, imageId, backupType, rotation));
  }

  @Override
  public String getConsoleOutput(String uuid, int maxLines) {
    return withMdc(uuid, requestId(), () -> flows.consoleOutput(uuid, maxLines));
  }

  // ---- resize and cold migration: casts queue per instance ----

  @Override
  public void prepResize(String uuid, String migrationUuid) {
    submit(uuid, "prep_resize", rid -> resizes.prepResize(uuid, migrationUuid, rid));
  }

  @Override
  public void resizeInstance(String uuid, String migrationUuid, String targetJson) {
    submit(
        uuid,
        "resize_instance",
        rid -> resizes.resizeInstance(uuid, migrationUuid, targetJson, rid));
  }

  @Override
  public void finishResize(String uuid, String migrationUuid, String disksJson) {
    submit(uuid, "finish_resize", rid -> resizes.finishResize(uuid, migrationUuid, disksJson, rid));
  }

  @Override
  public void cleanupMigrationTarget(String uuid, String migrationUuid) {
    submit(
        uuid,
        "cleanup_migration_target",
        rid -> resizes.cleanupMigrationTarget(uuid, migrationUuid));
  }

  @Override
  public void confirmResize(String uuid, String migrationUuid) {
    submit(uuid, "confirm_resize", rid -> resizes.confirmResize(uuid, migrationUuid, rid));
  }

  @Override
  public void revertResize(String uuid, String migrationUuid) {
    submit(uuid, "revert_resize", rid -> resizes.revertResize(uuid, migrationUuid, rid));
  }

  @Override
  public void finishRevertResize(String uuid, String migrationUuid) {
    submit(
        uuid, "finish_revert_resize", rid -> resizes.finishRevertResize(uuid, migrationUuid, rid));
  }

  // ---- live migration: checks and destination steps answer at once (the source waits) ----

  @Override
  public String checkCanLiveMigrateDestination(
      String uuid, String migrationUuid, String blockMigration) {
    return withMdc(
        uuid,
        requestId(),
        () -> liveMigrations.checkCanLiveMigrateDestination(uuid, migrationUuid, blockMigration));
  }

  @Override
  public String checkCanLiveMigrateSource(String uuid, String dataJson, String blockMigration) {
    return withMdc(
        uuid,
        requestId(),
        () -> liveMigrations.checkCanLiveMigrateSource(uuid, dataJson, blockMigration));
  }

  @Override
  public void liveMigration(String uuid, String migrationUuid, String dataJson) {
    String rid = requestId();
    withMdc(
        uuid,
        rid,
        () -> {
          liveMigrations.liveMigration(uuid, migrationUuid, dataJson, rid);
          return null;
        });
  }

  @Override
  public String preLiveMigration(String uuid, String migrationUuid, String dataJson) {
    return withMdc(
        uuid, requestId(), () -> liveMigrations.preLiveMigration(uuid, migrationUuid, dataJson));
  }

  @Override
  public boolean postLiveMigrationAtDestination(
      String uuid, String migrationUuid, String dataJson) {
    return withMdc(
        uuid,
        requestId(),
        () -> liveMigrations.postLiveMigrationAtDestination(uuid, migrationUuid, dataJson));
  }

  @Override
  public void rollbackLiveMigrationAtDestination(
      String uuid, String migrationUuid, String dataJson) {
    submit(
        uuid,
        "rollback_live_migration_at_destination",
        rid -> liveMigrations.rollbackLiveMigrationAtDestination(uuid, migrationUuid, dataJson));
  }

  @Override
  public boolean liveMigrationAbort(String uuid, String migrationUuid) {
    return withMdc(uuid, requestId(), () -> liveMigrations.abort(uuid, migrationUuid));
  }

  @Override
  public boolean liveMigrationForceComplete(String uuid, String migrationUuid) {
    return withMdc(uuid, requestId(), () -> liveMigrations.forceComplete(uuid, migrationUuid));
  }

  @Override
  public io.virga.core.InstanceDiagnostics getInstanceDiagnostics(String uuid) {
    return withMdc(uuid, requestId(), () -> flows.diagnostics(uuid));
  }

  @Override
  public String getHostUptime() {
    return HostUptime.read();
  }

  // ---- plumbing ----

  @FunctionalInterface
  interface Action {
    void run(String requestId);
  }

  CompletableFuture<Void> submit(String uuid, String what, Action action) {
    String rid = requestId();
    return submit(uuid, what, rid, () -> action.run(rid));
  }

  private CompletableFuture<Void> submit(String uuid, String what, Runnable task) {
    return submit(uuid, what, requestId(), task);
  }

  private CompletableFuture<Void> submit(String uuid, String what, String rid, Runnable task) {
    return queue.submit(
        uuid,
        () ->
            withMdc(
                uuid,
                rid,
                () -> {
                  long t0 = System.nanoTime();
                  boolean ok = false;
                  try {
                    task.run();
                    ok = true;
                  } catch (io.virga.core.NotFoundException e) {
                    log.warn("{} dropped: {}", what, e.getMessage());
                  } catch (RuntimeException e) {
                    log.error("{} failed: {}", what, e.toString(), e);
                  } finally {
                    observer.finished(what, Duration.ofNanos(System.nanoTime() - t0), ok);
                  }
                  return null;
                }));
  }

  /** Told of every finished instance action (metrics); must be quick and must not throw. */
  @FunctionalInterface
  public interface ActionObserver {
    void finished(String action, Duration took, boolean completed);
  }

  private volatile ActionObserver observer = (a, d, ok) -> {};

  /** Sets the observer of instance actions (one; the last set wins). */
  public void observeActions(ActionObserver o) {
    this.observer = o;
  }

  /** When the last resource report or heartbeat reached the control plane. */
  public java.util.Optional<java.time.Instant> lastReport() {
    return tracker.lastSent();
  }

  /** Whether the driver has its hypervisor (libvirt connection up). */
  public boolean hypervisorUp() {
    return driver.isHostUp();
  }

  static <T> T withMdc(String uuid, String rid, java.util.function.Supplier<T> body) {
    String prevUuid = MDC.get(INSTANCE_UUID);
    String prevRid = MDC.get(Rpc.REQUEST_ID);
    MDC.put(INSTANCE_UUID, uuid);
    MDC.put(Rpc.REQUEST_ID, rid);
    try {
      return body.get();
    } finally {
      restore(INSTANCE_UUID, prevUuid);
      restore(Rpc.REQUEST_ID, prevRid);
    }
  }

  private static void restore(String key, String value) {
    if (value == null) {
      MDC.remove(key);
    } else {
      MDC.put(key, value);
    }
  }

  /** The caller's request id (set by the RPC server from the message), or a fresh one. */
  private static String requestId() {
    String rid = MDC.get(Rpc.REQUEST_ID);
    return rid != null ? rid : newRequestId();
  }

  private static String newRequestId() {
    return "req-" + UUID.randomUUID();
  }

  // ---- package-private views for tests ----

  ResourceTracker tracker() {
    return tracker;
  }

  PendingDeletes pendingDeletes() {
    return pendingDeletes;
  }

  PowerSync powerSync() {
    return powerSync;
  }
}
