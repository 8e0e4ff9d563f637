package io.virga.compute;

import static io.virga.compute.MigrationSteps.quietly;

import io.virga.core.ConflictException;
import io.virga.core.Instance;
import io.virga.core.InstanceUpdate;
import io.virga.core.Migration;
import io.virga.core.MigrationStatus;
import io.virga.core.TaskState;
import io.virga.core.VirgaException;
import io.virga.rpc.Rpc;
import io.virga.virt.ComputeDriver;
import io.virga.virt.InstanceSpec;
import io.virga.virt.LiveMigrationData;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Live migration (DESIGN §3.4), Nova's steps: {@code check_can_live_migrate_destination} (which
 * asks the source's {@code check_can_live_migrate_source}) → source {@code live_migration}, queued
 * in a pool of {@code max_concurrent_live_migrations} → destination {@code pre_live_migration} →
 * the driver's migration and monitor → {@code post_live_migration} (destination becomes the host)
 * or {@code rollback_live_migration} (the guest stays on the source, the destination is cleaned).
 */
final class LiveMigrationFlows implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LiveMigrationFlows.class);
  static final String EVENT = "compute_live_migration";

  private final ComputeDriver driver;
  private final MigrationSteps steps;
  private final SpecBuilder specs;
  private final ImageSourceFactory images;
  private final InstanceFlows flows;
  private final ResourceTracker tracker;
  private final ExecutorService pool;
  // migrations whose abort was asked for while queued or preparing, by migration uuid
  private final Set<String> abortRequested = ConcurrentHashMap.newKeySet();
  private final Map<String, String> requestIds = new ConcurrentHashMap<>();

  LiveMigrationFlows(
      ComputeDriver driver,
      MigrationSteps steps,
      SpecBuilder specs,
      ImageSourceFactory images,
      InstanceFlows flows,
      ResourceTracker tracker,
      MigrationOptions options) {
    this.driver = driver;
    this.steps = steps;
    this.specs = specs;
    this.images = images;
    this.flows = flows;
    this.tracker = tracker;
    AtomicInteger n = new AtomicInteger();
    this.pool =
        new ThreadPoolExecutor(
            options.poolSize(),
            options.poolSize(),
            60,
            TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(),
            r -> {
              Thread t = new Thread(r, "live-migration-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
  }

  // ---- checks (calls, answered at once) ----

  /** Destination: can this host take it? Then the source's check; returns the settled data. */
  String checkCanLiveMigrateDestination(String uuid, String migrationUuid, String block) {
    Instance i = steps.conductor.getInstance(uuid);
    InstanceSpec spec = specs.build(i);
    LiveMigrationData dest = driver.checkCanLiveMigrateDestination(spec, parseBlock(block));
    try {
      Migration m = steps.conductor.getMigration(migrationUuid);
      String settled =
          steps.peer(m.sourceCompute()).checkCanLiveMigrateSource(uuid, Rpc.toJson(dest), block);
      return settled;
    } finally {
      quietly(
          "cleanup the destination check", () -> driver.cleanupLiveMigrationDestinationCheck(dest));
    }
  }

  String checkCanLiveMigrateSource(String uuid, String destJson, String block) {
    Instance i = steps.conductor.getInstance(uuid);
    LiveMigrationData dest = Rpc.fromJson(destJson, LiveMigrationData.class);
    return Rpc.toJson(driver.checkCanLiveMigrateSource(specs.build(i), dest, parseBlock(block)));
  }

  static Optional<Boolean> parseBlock(String block) {
    return switch (block) {
      case "true" -> Optional.of(true);
      case "false" -> Optional.of(false);
      default -> Optional.empty();
    };
  }

  // ---- source: queue, then migrate ----

  /** Source: accepted → queued; runs when the pool has room. */
  void liveMigration(String uuid, String migrationUuid, String dataJson, String rid) {
    Migration m = steps.conductor.getMigration(migrationUuid);
    if (steps.status(m, MigrationStatus.QUEUED, MigrationStatus.ACCEPTED).isEmpty()) {
      log.warn("live migration {} is no longer accepted; not queueing it", migrationUuid);
      return;
    }
    requestIds.put(migrationUuid, rid);
    pool.execute(
        () ->
            ComputeManager.withMdc(
                uuid,
                rid,
                () -> {
                  run(uuid, migrationUuid, dataJson, rid);
                  return null;
                }));
  }

  private void run(String uuid, String migrationUuid, String dataJson, String rid) {
    Migration m = steps.conductor.getMigration(migrationUuid);
    if (steps.status(m, MigrationStatus.PREPARING, MigrationStatus.QUEUED).isEmpty()) {
      log.info(
          "live migration {} left the queue ({}); not running it",
          migrationUuid,
          steps.conductor.getMigration(migrationUuid).status().value());
      requestIds.remove(migrationUuid);
      return;
    }
    steps.tasks.eventStart(uuid, rid, EVENT);
    LiveMigrationData data = Rpc.fromJson(dataJson, LiveMigrationData.class);
    String step = "pre_live_migration";
    try {
      Instance i = steps.conductor.getInstance(uuid);
      InstanceSpec spec = specs.build(i);
      data =
          Rpc.fromJson(
              steps.peer(m.destCompute()).preLiveMigration(uuid, migrationUuid, Rpc.toJson(data)),
              LiveMigrationData.class);
      if (abortRequested.remove(migrationUuid)) {
        throw new Cancelled();
      }
      step = "live_migration";
      if (steps.status(m, MigrationStatus.RUNNING, MigrationStatus.PREPARING).isEmpty()) {
        throw new Cancelled();
      }
      driver.liveMigration(spec, data, steps.progress(m));
      step = "post_live_migration";
      postLiveMigration(spec, m, data);
      steps.tasks.eventFinish(uuid, rid, EVENT, Optional.empty());
      log.info("instance live-migrated to {} (migration {})", m.destCompute(), m.uuid());
    } catch (RuntimeException e) {
      if (step.equals("post_live_migration")) {
        // the guest already runs on the destination: the records follow it, nothing rolls back
        followGuest(m, e, rid);
        return;
      }
      boolean cancelled = e instanceof Cancelled || cancelling(migrationUuid);
      rollbackLiveMigration(m, data, step, e, cancelled, rid);
    } finally {
      requestIds.remove(migrationUuid);
      abortRequested.remove(migrationUuid);
      tracker.changed();
    }
  }

  private boolean cancelling(String migrationUuid) {
    return steps.conductor.getMigration(migrationUuid).status() == MigrationStatus.CANCELLING;
  }

  /** post_live_migration: source cleanup, destination takes the instance, record completed. */
  private void postLiveMigration(InstanceSpec spec, Migration m, LiveMigrationData data) {
    quietly("post_live_migration_at_source", () -> driver.postLiveMigrationAtSource(spec, data));
    steps
        .peer(m.destCompute())
        .postLiveMigrationAtDestination(spec.uuid(), m.uuid(), Rpc.toJson(data));
    steps.status(m, MigrationStatus.COMPLETED, MigrationStatus.RUNNING, MigrationStatus.CANCELLING);
  }

  /** A failure after the guest moved: the instance is where the guest is, with a fault. */
  private void followGuest(Migration m, RuntimeException e, String rid) {
    String uuid = m.instanceUuid();
    steps.failed(m, "post_live_migration", e, MigrationStatus.ERROR, rid, EVENT);
    quietly(
        "move the instance to the destination",
        () -> steps.conductor.applyMigration(uuid, m.uuid(), true));
    steps.tasks.tryCas(
        uuid, Optional.of(TaskState.MIGRATING), InstanceUpdate.none().clearTask().progress(0));
  }

  /** rollback_live_migration: the guest stays here, the destination is cleaned. */
  private void rollbackLiveMigration(
      Migration m,
      LiveMigrationData data,
      String step,
      RuntimeException e,
      boolean cancelled,
      String rid) {
    String uuid = m.instanceUuid();
    quietly(
        "rollback_live_migration_at_destination",
        () ->
            steps
                .peer(m.destCompute())
                .rollbackLiveMigrationAtDestination(uuid, m.uuid(), Rpc.toJson(data)));
    if (cancelled) {
      log.info("live migration {} cancelled at {}", m.uuid(), step);
      steps.failed(m, step, e, MigrationStatus.CANCELLED, rid, EVENT);
    } else {
      steps.failed(m, step, e, MigrationStatus.ERROR, rid, EVENT);
    }
    steps.tasks.tryCas(
        uuid,
        Optional.of(TaskState.MIGRATING),
        InstanceUpdate.none().clearTask().power(flows.powerState(uuid)).progress(0));
  }

  // ---- destination ----

  String preLiveMigration(String uuid, String migrationUuid, String dataJson) {
    Instance i = steps.conductor.getInstance(uuid);
    LiveMigrationData data = Rpc.fromJson(dataJson, LiveMigrationData.class);
    return Rpc.toJson(driver.preLiveMigration(specs.build(i), data, images.forInstance(i)));
  }

  /** The guest runs here now: the instance's host and node follow, its task ends. */
  boolean postLiveMigrationAtDestination(String uuid, String migrationUuid, String dataJson) {
    Instance i = steps.conductor.getInstance(uuid);
    LiveMigrationData data = Rpc.fromJson(dataJson, LiveMigrationData.class);
    driver.postLiveMigrationAtDestination(specs.build(i), data);
    steps.conductor.applyMigration(uuid, migrationUuid, true);
    steps.tasks.tryCas(
        uuid,
        Optional.of(TaskState.MIGRATING),
        InstanceUpdate.none().clearTask().power(flows.powerState(uuid)).progress(0));
    tracker.changed();
    return true;
  }

  void rollbackLiveMigrationAtDestination(String uuid, String migrationUuid, String dataJson) {
    Instance i = steps.conductor.getInstance(uuid);
    LiveMigrationData data = Rpc.fromJson(dataJson, LiveMigrationData.class);
    driver.rollbackLiveMigrationAtDestination(specs.build(i), data);
    tracker.changed();
  }

  // ---- abort and force-complete (calls on the source) ----

  boolean abort(String uuid, String migrationUuid) {
    Migration m = steps.conductor.getMigration(migrationUuid);
    switch (m.status()) {
      case QUEUED, ACCEPTED -> {
        if (steps
            .status(m, MigrationStatus.CANCELLED, MigrationStatus.QUEUED, MigrationStatus.ACCEPTED)
            .isEmpty()) {
          return abort(uuid, migrationUuid);
        }
        String rid = requestIds.getOrDefault(migrationUuid, "req-abort-" + migrationUuid);
        quietly(
            "rollback_live_migration_at_destination",
            () ->
                steps
                    .peer(m.destCompute())
                    .rollbackLiveMigrationAtDestination(
                        uuid, migrationUuid, Rpc.toJson(emptyData(m))));
        steps.tasks.tryCas(
            uuid, Optional.of(TaskState.MIGRATING), InstanceUpdate.none().clearTask().progress(0));
        steps.tasks.eventFinish(
            uuid, rid, EVENT, Optional.of(new VirgaException("aborted while queued")));
        log.info("queued live migration {} aborted", migrationUuid);
        tracker.changed();
        return true;
      }
      case PREPARING -> {
        abortRequested.add(migrationUuid);
        steps.status(m, MigrationStatus.CANCELLING, MigrationStatus.PREPARING);
        return true;
      }
      case RUNNING -> {
        steps.status(m, MigrationStatus.CANCELLING, MigrationStatus.RUNNING);
        return driver.liveMigrationAbort(uuid);
      }
      default -> {
        return false;
      }
    }
  }

  boolean forceComplete(String uuid, String migrationUuid) {
    Migration m = steps.conductor.getMigration(migrationUuid);
    if (m.status() != MigrationStatus.RUNNING) {
      throw new ConflictException(
          "Migration " + migrationUuid + " is " + m.status().value() + ", not running");
    }
    return driver.liveMigrationForceComplete(uuid);
  }

  private static LiveMigrationData emptyData(Migration m) {
    return new LiveMigrationData(
        m.destCompute(),
        "",
        "",
        false,
        false,
        Optional.empty(),
        Optional.empty(),
        java.util.List.of());
  }

  /** An abort that arrived while the migration was queued or preparing. */
  private static final class Cancelled extends VirgaException {
    private static final long serialVersionUID = 1L;

    Cancelled() {
      super("live migration aborted by request");
    }
  }

  @Override
  public void close() {
    pool.shutdownNow();
  }
}
