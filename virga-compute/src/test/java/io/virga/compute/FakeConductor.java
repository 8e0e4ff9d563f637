package io.virga.compute;

import io.virga.core.ConductorApi;
import io.virga.core.DiskFormat;
import io.virga.core.Flavor;
import io.virga.core.HostReport;
import io.virga.core.ImageMeta;
import io.virga.core.Instance;
import io.virga.core.InstanceUpdate;
import io.virga.core.NotFoundException;
import io.virga.core.PowerState;
import io.virga.core.TaskState;
import io.virga.core.VmState;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/** The control plane's side for agent tests: instance rows with CAS, faults, events, reports. */
final class FakeConductor implements ConductorApi {
  static final Flavor TINY = new Flavor("1", "m1.tiny", 128, 1, 1, 0, 0, Map.of());
  static final ImageMeta IMAGE =
      new ImageMeta("img-1", "tiny", DiskFormat.QCOW2, "bare", 10, 20, 0, 0, Map.of());

  final Map<String, ImageMeta> images =
      new java.util.concurrent.ConcurrentHashMap<>(Map.of(IMAGE.id(), IMAGE));
  private final Map<String, Instance> rows = new HashMap<>();
  private final Map<String, List<String>> taskHistory = new HashMap<>();
  final List<String> faults = new CopyOnWriteArrayList<>();
  final List<String> events = new CopyOnWriteArrayList<>();
  final List<HostReport> reports = new CopyOnWriteArrayList<>();
  final List<String> destroyed = new CopyOnWriteArrayList<>();
  final AtomicInteger casLosses = new AtomicInteger();
  private final AtomicLong ids = new AtomicLong();

  static Instance newInstance(String uuid, String host, VmState vm, Optional<TaskState> task) {
    return new Instance(
        uuid,
        "vm-" + uuid.substring(0, 4),
        "vm-" + uuid.substring(0, 4),
        "project",
        "user",
        TINY,
        IMAGE.id(),
        vm,
        task,
        vm == VmState.ACTIVE ? PowerState.RUNNING : PowerState.NOSTATE,
        Optional.of(host),
        "nova",
        Map.of(),
        Optional.of("IyEvYmluL3NoCmVjaG8gaGk="),
        Optional.empty(),
        Optional.empty(),
        true,
        0,
        0,
        Instant.now(),
        Optional.empty(),
        0);
  }

  synchronized Instance add(Instance i) {
    Instance withId = copy(i, i.vmState(), i.taskState(), i.powerState(), i.launchedAt());
    withId = withId(withId, ids.incrementAndGet());
    rows.put(i.uuid(), withId);
    history(i.uuid()).add(name(i.taskState()));
    return withId;
  }

  synchronized Optional<Instance> row(String uuid) {
    return Optional.ofNullable(rows.get(uuid));
  }

  synchronized List<String> taskHistory(String uuid) {
    return List.copyOf(history(uuid));
  }

  private List<String> history(String uuid) {
    return taskHistory.computeIfAbsent(uuid, k -> new ArrayList<>());
  }

  /** getInstance calls made by the agent (not this class's own lookups). */
  final java.util.concurrent.atomic.AtomicInteger instanceReads =
      new java.util.concurrent.atomic.AtomicInteger();

  @Override
  public synchronized Instance getInstance(String uuid) {
    instanceReads.incrementAndGet();
    return stored(uuid);
  }

  private Instance stored(String uuid) {
    Instance i = rows.get(uuid);
    if (i == null) {
      throw new NotFoundException("Instance " + uuid + " could not be found.");
    }
    return i;
  }

  @Override
  public synchronized List<Instance> instancesOnHost(String host) {
    // like the database: rows marked deleted (a local delete) are no longer this host's
    return rows.values().stream()
        .filter(i -> i.host().equals(Optional.of(host)) && i.vmState() != VmState.DELETED)
        .toList();
  }

  @Override
  public synchronized Optional<Instance> updateInstance(
      String uuid, InstanceUpdate update, Optional<TaskState> expectedTaskState) {
    Instance i = stored(uuid);
    if (!i.taskState().equals(expectedTaskState)) {
      casLosses.incrementAndGet();
      return Optional.empty();
    }
    return Optional.of(apply(i, update));
  }

  @Override
  public synchronized Instance forceUpdateInstance(String uuid, InstanceUpdate update) {
    return apply(stored(uuid), update);
  }

  private Instance apply(Instance i, InstanceUpdate u) {
    Optional<TaskState> task = u.taskState().orElse(i.taskState());
    Instance n =
        copy(
            i,
            u.vmState().orElse(i.vmState()),
            task,
            u.powerState().orElse(i.powerState()),
            u.markLaunched() ? Optional.of(Instant.now()) : i.launchedAt());
    rows.put(i.uuid(), n);
    if (u.taskState().isPresent() && !u.taskState().get().equals(i.taskState())) {
      history(i.uuid()).add(name(task));
    }
    return n;
  }

  private static String name(Optional<TaskState> t) {
    return t.map(TaskState::value).orElse("none");
  }

  static Instance copy(
      Instance i, VmState vm, Optional<TaskState> task, PowerState p, Optional<Instant> launched) {
    return rebuild(i, i.imageRef(), vm, task, p, launched, i.id());
  }

  private static Instance withId(Instance i, long id) {
    return rebuild(i, i.imageRef(), i.vmState(), i.taskState(), i.powerState(), i.launchedAt(), id);
  }

  static Instance withImage(Instance i, String imageRef) {
    return rebuild(i, imageRef, i.vmState(), i.taskState(), i.powerState(), i.launchedAt(), i.id());
  }

  private static Instance rebuild(
      Instance i,
      String imageRef,
      VmState vm,
      Optional<TaskState> task,
      PowerState p,
      Optional<Instant> launched,
      long id) {
    return new Instance(
        i.uuid(),
        i.displayName(),
        i.hostname(),
        i.projectId(),
        i.userId(),
        i.flavor(),
        imageRef,
        vm,
        task,
        p,
        i.host(),
        i.availabilityZone(),
        i.metadata(),
        i.userData(),
        i.keyName(),
        i.keyData(),
        i.configDrive(),
        i.launchIndex(),
        i.progress(),
        i.createdAt(),
        launched,
        id);
  }

  @Override
  public synchronized void instanceDestroyed(String uuid) {
    rows.remove(uuid);
    destroyed.add(uuid);
  }

  @Override
  public void recordFault(String uuid, int code, String message, Optional<String> details) {
    faults.add(uuid + " " + code + " " + message);
  }

  /** Task-state steps that carried their action event's finish. */
  final java.util.concurrent.atomic.AtomicInteger stepsFinishingEvents =
      new java.util.concurrent.atomic.AtomicInteger();

  @Override
  public Optional<Instance> updateInstanceFinishingEvent(
      String uuid,
      String requestId,
      String event,
      InstanceUpdate update,
      Optional<TaskState> expectedTaskState) {
    stepsFinishingEvents.incrementAndGet();
    return ConductorApi.super.updateInstanceFinishingEvent(
        uuid, requestId, event, update, expectedTaskState);
  }

  /** Task-state steps that carried their action event's start (one call for the two). */
  final java.util.concurrent.atomic.AtomicInteger stepsStartingEvents =
      new java.util.concurrent.atomic.AtomicInteger();

  @Override
  public Optional<Instance> updateInstanceStartingEvent(
      String uuid,
      String requestId,
      String event,
      InstanceUpdate update,
      Optional<TaskState> expectedTaskState) {
    stepsStartingEvents.incrementAndGet();
    return ConductorApi.super.updateInstanceStartingEvent(
        uuid, requestId, event, update, expectedTaskState);
  }

  @Override
  public void actionEventStart(String uuid, String requestId, String event) {
    events.add(uuid + " " + requestId + " start " + event);
  }

  @Override
  public void actionEventFinish(
      String uuid, String requestId, String event, Optional<String> error) {
    events.add(
        uuid + " " + requestId + " finish " + event + error.map(e -> " error: " + e).orElse(""));
  }

  @Override
  public ImageMeta getImage(String imageId) {
    ImageMeta image = images.get(imageId);
    if (image == null) {
      throw new NotFoundException("Image " + imageId + " could not be found.");
    }
    return image;
  }

  @Override
  public void reportHost(HostReport report) {
    reports.add(report);
  }

  /** Light heartbeats received; answered "known" once a full report created the service. */
  final List<String> heartbeats = new CopyOnWriteArrayList<>();

  /** False: the control plane forgot the service (an operator deleted it). */
  volatile boolean serviceKnown = true;

  @Override
  public boolean serviceHeartbeat(String host) {
    heartbeats.add(host);
    return serviceKnown && !reports.isEmpty();
  }

  HostReport lastReport() {
    return reports.get(reports.size() - 1);
  }

  // ---- migrations: records kept in memory, the move of an instance between hosts ----

  private final Map<String, io.virga.core.Migration> migrations = new HashMap<>();

  synchronized io.virga.core.Migration addMigration(io.virga.core.Migration m) {
    migrations.put(m.uuid(), m);
    return m;
  }

  /** A migration of {@code i} from its host to {@code dest}, in {@code status}. */
  static io.virga.core.Migration migration(
      Instance i,
      io.virga.core.MigrationType type,
      io.virga.core.MigrationStatus status,
      String dest,
      Flavor newFlavor) {
    String src = i.host().orElseThrow();
    Instant now = Instant.now();
    return new io.virga.core.Migration(
        1,
        java.util.UUID.randomUUID().toString(),
        i.uuid(),
        type,
        status,
        src,
        src,
        dest,
        dest,
        i.flavor(),
        newFlavor,
        1,
        2,
        Optional.of(i.vmState()),
        i.userId(),
        i.projectId(),
        io.virga.core.Migration.Progress.NONE,
        Optional.empty(),
        now,
        now);
  }

  @Override
  public synchronized io.virga.core.Migration getMigration(String migrationUuid) {
    io.virga.core.Migration m = migrations.get(migrationUuid);
    if (m == null) {
      throw new NotFoundException("Migration " + migrationUuid + " could not be found.");
    }
    return m;
  }

  @Override
  public synchronized Optional<io.virga.core.Migration> updateMigrationStatus(
      String migrationUuid,
      List<io.virga.core.MigrationStatus> expected,
      io.virga.core.MigrationStatus status,
      Optional<String> errorStep) {
    io.virga.core.Migration m = getMigration(migrationUuid);
    if (!expected.isEmpty() && !expected.contains(m.status())) {
      return Optional.empty();
    }
    io.virga.core.Migration n =
        new io.virga.core.Migration(
            m.id(),
            m.uuid(),
            m.instanceUuid(),
            m.type(),
            status,
            m.sourceCompute(),
            m.sourceNode(),
            m.destCompute(),
            m.destNode(),
            m.oldFlavor(),
            m.newFlavor(),
            m.oldInstanceTypeId(),
            m.newInstanceTypeId(),
            m.oldVmState(),
            m.userId(),
            m.projectId(),
            m.progress(),
            errorStep.or(m::errorStep),
            m.createdAt(),
            Instant.now());
    migrations.put(m.uuid(), n);
    return Optional.of(n);
  }

  @Override
  public synchronized void migrationProgress(
      String migrationUuid, io.virga.core.Migration.Progress progress, int percent) {
    getMigration(migrationUuid);
  }

  @Override
  public synchronized Instance applyMigration(String uuid, String migrationUuid, boolean toDest) {
    io.virga.core.Migration m = getMigration(migrationUuid);
    Instance i = stored(uuid);
    Instance n =
        new Instance(
            i.uuid(),
            i.displayName(),
            i.hostname(),
            i.projectId(),
            i.userId(),
            toDest ? m.newFlavor() : m.oldFlavor(),
            i.imageRef(),
            i.vmState(),
            i.taskState(),
            i.powerState(),
            Optional.of(toDest ? m.destCompute() : m.sourceCompute()),
            i.availabilityZone(),
            i.metadata(),
            i.userData(),
            i.keyName(),
            i.keyData(),
            i.configDrive(),
            i.launchIndex(),
            i.progress(),
            i.createdAt(),
            i.launchedAt(),
            i.id());
    rows.put(uuid, n);
    return n;
  }

  @Override
  public synchronized List<io.virga.core.Migration> migrationsInProgress(String host) {
    return migrations.values().stream()
        .filter(m -> io.virga.core.Migration.IN_PROGRESS.contains(m.status()))
        .filter(m -> m.sourceCompute().equals(host) || m.destCompute().equals(host))
        .toList();
  }

  // ---- server groups and reschedules (the agent's late group policy check) ----

  /** group uuid → policy and max_server_per_host; instance uuid → group uuid. */
  private final Map<String, io.virga.core.ServerGroupMembers> groups = new HashMap<>();

  private final Map<String, String> memberOf = new HashMap<>();
  final List<String> reschedules = new CopyOnWriteArrayList<>();
  volatile RuntimeException rescheduleFailure;

  synchronized void group(String group, String policy, Optional<Integer> max, String... members) {
    groups.put(group, new io.virga.core.ServerGroupMembers(group, policy, max, List.of()));
    for (String m : members) {
      memberOf.put(m, group);
    }
  }

  @Override
  public synchronized Optional<io.virga.core.ServerGroupMembers> serverGroupOf(String uuid) {
    String g = memberOf.get(uuid);
    if (g == null) {
      return Optional.empty();
    }
    var group = groups.get(g);
    List<io.virga.core.ServerGroupMembers.Member> others = new ArrayList<>();
    memberOf.forEach(
        (m, of) -> {
          if (of.equals(g) && !m.equals(uuid) && rows.containsKey(m)) {
            Instance i = rows.get(m);
            others.add(
                new io.virga.core.ServerGroupMembers.Member(
                    m, i.host(), i.vmState(), i.taskState()));
          }
        });
    return Optional.of(
        new io.virga.core.ServerGroupMembers(g, group.policy(), group.maxServerPerHost(), others));
  }

  @Override
  public void rescheduleBuild(String uuid, String host, String reason, Optional<String> adminPass) {
    if (rescheduleFailure != null) {
      throw rescheduleFailure;
    }
    reschedules.add(uuid + " from " + host + ": " + reason + " pass=" + adminPass.orElse("-"));
  }
}
