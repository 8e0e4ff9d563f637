package io.virga.api;

import io.virga.core.ConductorApi;
import io.virga.core.HostReport;
import io.virga.core.ImageMeta;
import io.virga.core.Instance;
import io.virga.core.InstanceUpdate;
import io.virga.core.Migration;
import io.virga.core.MigrationStatus;
import io.virga.core.NotFoundException;
import io.virga.core.TaskState;
import io.virga.db.HostRepository;
import io.virga.db.InstanceActionRepository;
import io.virga.db.InstanceRecord;
import io.virga.db.InstanceRepository;
import io.virga.db.MigrationRepository;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * The control plane's side of the agent contract (Nova's conductor): agents read and write
 * instances only through these calls, served on RPC topic {@code conductor}.
 */
public final class Conductor implements ConductorApi {
  private final InstanceRepository instances;
  private final InstanceActionRepository actions;
  private final HostRepository hosts;
  private final Function<String, ImageMeta> images;
  private final MigrationRepository migrations;
  private volatile Optional<BuildReschedule> reschedules = Optional.empty();

  /**
   * @param images image metadata by id (the image service's get)
   */
  public Conductor(
      InstanceRepository instances,
      InstanceActionRepository actions,
      HostRepository hosts,
      Function<String, ImageMeta> images) {
    this(instances, actions, hosts, images, null);
  }

  /**
   * @param migrations migration records; null when this control plane serves no migrations
   */
  public Conductor(
      InstanceRepository instances,
      InstanceActionRepository actions,
      HostRepository hosts,
      Function<String, ImageMeta> images,
      MigrationRepository migrations) {
    this.instances = instances;
    this.actions = actions;
    this.hosts = hosts;
    this.images = images;
    this.migrations = migrations;
  }

  @Override
  public Instance getInstance(String uuid) {
    return record(uuid).toInstance();
  }

  /** The full row, including the numeric id behind the domain name. */
  public InstanceRecord record(String uuid) {
    return instances
        .find(uuid)
        .orElseThrow(() -> new NotFoundException("Instance " + uuid + " could not be found."));
  }

  @Override
  public List<Instance> instancesOnHost(String host) {
    return instances.onHost(host).stream().map(InstanceRecord::toInstance).toList();
  }

  @Override
  public Optional<Instance> updateInstance(
      String uuid, InstanceUpdate update, Optional<TaskState> expectedTaskState) {
    return instances
        .compareAndSwap(uuid, update, List.of(expectedTaskState))
        .map(InstanceRecord::toInstance);
  }

  @Override
  public Instance forceUpdateInstance(String uuid, InstanceUpdate update) {
    return instances
        .compareAndSwap(uuid, update, null)
        .map(InstanceRecord::toInstance)
        .orElseThrow(() -> new NotFoundException("Instance " + uuid + " could not be found."));
  }

  @Override
  public void instanceDestroyed(String uuid) {
    instances.markDeleted(uuid);
  }

  @Override
  public void recordFault(String uuid, int code, String message, Optional<String> details) {
    Optional<String> host = instances.find(uuid).flatMap(InstanceRecord::host);
    instances.recordFault(uuid, code, message, details, host);
  }

  @Override
  public void actionEventStart(String uuid, String requestId, String event) {
    Optional<String> host = instances.find(uuid).flatMap(InstanceRecord::host);
    actions.eventStart(uuid, requestId, event, host.orElse(null));
  }

  @Override
  public void actionEventFinish(
      String uuid, String requestId, String event, Optional<String> error) {
    actions.eventFinish(uuid, requestId, event, error);
  }

  @Override
  public ImageMeta getImage(String imageId) {
    return images.apply(imageId);
  }

  @Override
  public void reportHost(HostReport report) {
    hosts.report(report);
  }

  @Override
  public boolean serviceHeartbeat(String host) {
    return hosts.heartbeat(host);
  }

  // ---- migrations ----

  private MigrationRepository migrations() {
    if (migrations == null) {
      throw new io.virga.core.NotImplementedException("this conductor has no migration records");
    }
    return migrations;
  }

  @Override
  public Migration getMigration(String migrationUuid) {
    return migrations().get(migrationUuid);
  }

  @Override
  public Optional<Migration> updateMigrationStatus(
      String migrationUuid,
      List<MigrationStatus> expected,
      MigrationStatus status,
      Optional<String> errorStep) {
    return migrations().updateStatus(migrationUuid, expected, status, errorStep);
  }

  @Override
  public void migrationProgress(String migrationUuid, Migration.Progress progress, int percent) {
    migrations().progress(migrationUuid, progress, percent);
  }

  @Override
  public Instance applyMigration(String uuid, String migrationUuid, boolean toDest) {
    Migration m = migrations().get(migrationUuid);
    return migrations().apply(uuid, m, toDest).toInstance();
  }

  @Override
  public List<Migration> migrationsInProgress(String host) {
    return migrations().inProgress(host);
  }

  @Override
  public Optional<Instance> instanceOffloaded(String uuid, Optional<TaskState> expectedTaskState) {
    if (!instances.lifecycle().offloaded(uuid, expectedTaskState)) {
      return Optional.empty();
    }
    return Optional.of(getInstance(uuid));
  }

  @Override
  public java.util.Map<String, String> systemMetadata(String uuid) {
    return instances.lifecycle().systemMetadata(uuid);
  }

  @Override
  public void removeSystemMetadata(String uuid, String key) {
    instances.lifecycle().removeSystemMetadata(uuid, key);
  }

  public List<Migration> evacuationsFrom(String host) {
    java.util.Set<MigrationStatus> pending =
        java.util.EnumSet.of(
            MigrationStatus.ACCEPTED, MigrationStatus.PRE_MIGRATING, MigrationStatus.DONE);
    return migrations().list(io.virga.db.MigrationFilter.all()).stream()
        .filter(
            m ->
                m.type() == io.virga.core.MigrationType.EVACUATION
                    && m.sourceCompute().equals(host)
                    && pending.contains(m.status()))
        .toList();
  }

  /**
   * Lets this conductor reschedule builds the agents refuse (Nova's {@code build_instances} on a
   * RescheduledException), at most {@code maxAttempts} hosts per build; returns this conductor.
   */
  public Conductor withBuildReschedules(ComputeDeps deps, int maxAttempts) {
    this.reschedules = Optional.of(new BuildReschedule(deps, maxAttempts));
    return this;
  }

  @Override
  public Optional<io.virga.core.ServerGroupMembers> serverGroupOf(String uuid) {
    return reschedules().serverGroupOf(uuid);
  }

  @Override
  public void rescheduleBuild(String uuid, String host, String reason, Optional<String> adminPass) {
    reschedules().reschedule(uuid, host, reason, adminPass);
  }

  private BuildReschedule reschedules() {
    return reschedules.orElseThrow(
        () -> new io.virga.core.NotImplementedException("builds are not rescheduled here"));
  }
}
