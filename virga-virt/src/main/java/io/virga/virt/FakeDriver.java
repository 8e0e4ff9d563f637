package io.virga.virt;

import io.virga.core.ConflictException;
import io.virga.core.NotFoundException;
import io.virga.core.PowerState;
import io.virga.core.TaskState;
import io.virga.core.VirgaException;
import io.virga.virt.FakeFaults.Op;
import io.virga.virt.LifecycleEvent.Transition;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * An in-memory {@link ComputeDriver} for control-plane tests and scale benchmarks. It honours the
 * real driver's contract: spawn reports networking → block_device_mapping → spawning, fetches the
 * image once per host through the {@link ImageSource} into a private base cache, and removes what
 * it created when it fails; actions in the wrong power state fail with a {@link ConflictException}
 * naming the step; unknown instances give {@link NotFoundException}; lifecycle events go to the
 * listener on a driver thread; resources grow and shrink with the instances defined; the console
 * shows {@code VIRGA-GUEST-UP uuid=<uuid> hostname=<hostname>} at every boot, like the tiny guest.
 *
 * <p>Like libvirt, a suspended (managed-saved) guest reports power state SHUTDOWN. {@link
 * #faults()} injects failures, delays and blocking hooks per operation.
 */
public final class FakeDriver implements ComputeDriver {
  private final String hostname;
  private final int vcpus;
  private final int memoryMb;
  private final int localGb;
  private final Map<String, FakeGuest> guests = new ConcurrentHashMap<>();
  private final FakeBaseCache bases = new FakeBaseCache();
  private final Set<String> leftovers = ConcurrentHashMap.newKeySet();
  private final List<Set<String>> imageCachePasses =
      new java.util.concurrent.CopyOnWriteArrayList<>();
  private final AtomicInteger spawns = new AtomicInteger();
  private final FakeFaults faults = new FakeFaults();
  private final ExecutorService events =
      Executors.newSingleThreadExecutor(
          r -> {
            Thread t = new Thread(r, "fake-driver-events");
            t.setDaemon(true);
            return t;
          });
  private final FakeMigrations migrations;
  private volatile Consumer<LifecycleEvent> listener = e -> {};
  private volatile boolean hostUp = true;
  private volatile FakeDisks disks = new FakeDisks();
  private final Map<String, String> rescuePasswords = new ConcurrentHashMap<>();

  /** A host with 16 vCPUs, 32 GiB of memory and 500 GB of disk. */
  public FakeDriver(String hostname) {
    this(hostname, 16, 32768, 500);
  }

  public FakeDriver(String hostname, int vcpus, int memoryMb, int localGb) {
    this.hostname = hostname;
    this.vcpus = vcpus;
    this.memoryMb = memoryMb;
    this.localGb = localGb;
    this.migrations = new FakeMigrations(hostname, guests, faults, bases, this::emit);
  }

  /** Failures, delays and hooks to inject. */
  public FakeFaults faults() {
    return faults;
  }

  @Override
  public void init() {}

  @Override
  public String hostname() {
    return hostname;
  }

  @Override
  public boolean isHostUp() {
    return hostUp;
  }

  /** Simulates losing (false) and regaining (true) the hypervisor connection. */
  public void hostUp(boolean up) {
    hostUp = up;
  }

  @Override
  public void spawn(InstanceSpec spec, ImageSource images, Consumer<TaskState> taskState) {
    if (guests.containsKey(spec.uuid())) {
      throw new ConflictException(
          "spawn: domain " + spec.domainName() + " for instance " + spec.uuid() + " exists");
    }
    taskState.accept(TaskState.NETWORKING);
    taskState.accept(TaskState.BLOCK_DEVICE_MAPPING);
    bases.ensure(spec.image(), images, () -> faults.apply(Op.FETCH_IMAGE, spec.uuid()));
    taskState.accept(TaskState.SPAWNING);
    faults.apply(Op.SPAWN, spec.uuid());
    FakeGuest guest = new FakeGuest(spec);
    if (guests.putIfAbsent(spec.uuid(), guest) != null) {
      throw new ConflictException("spawn: domain " + spec.domainName() + " defined concurrently");
    }
    spawns.incrementAndGet();
    disks.createFromImage(spec.uuid(), spec.image().id());
    guest.boot();
    emit(spec.uuid(), Transition.STARTED);
  }

  @Override
  public void destroy(InstanceSpec spec, boolean destroyDisks) {
    faults.apply(Op.DESTROY, spec.uuid());
    FakeGuest guest = guests.remove(spec.uuid());
    if (guest != null && guest.power() != PowerState.SHUTDOWN) {
      emit(spec.uuid(), Transition.STOPPED);
    }
    if (destroyDisks) {
      try {
        faults.apply(Op.DELETE_FILES, spec.uuid());
      } catch (RuntimeException e) {
        leftovers.add(spec.uuid());
        throw e;
      }
      disks.remove(spec.uuid());
    }
  }

  @Override
  public void powerOff(InstanceSpec spec, Duration timeout, Duration retryInterval) {
    faults.apply(Op.POWER_OFF, spec.uuid());
    FakeGuest guest = guest(spec.uuid(), "power off");
    if (guest.power() == PowerState.SHUTDOWN || guest.power() == PowerState.CRASHED) {
      return;
    }
    if (guest.ignoresAcpi() && !timeout.isZero()) {
      // the guest ignores every power-button press: wait the whole timeout, then pull the plug
      sleep(timeout);
    }
    guest.power(PowerState.SHUTDOWN);
    emit(spec.uuid(), Transition.STOPPED);
  }

  @Override
  public void powerOn(InstanceSpec spec, ImageSource images) {
    faults.apply(Op.POWER_ON, spec.uuid());
    FakeGuest guest = guest(spec.uuid(), "power on");
    if (guest.power() == PowerState.RUNNING) {
      return;
    }
    guest.boot();
    emit(spec.uuid(), Transition.STARTED);
  }

  @Override
  public void reboot(InstanceSpec spec, RebootType type, ImageSource images) {
    faults.apply(Op.REBOOT, spec.uuid());
    FakeGuest guest = guest(spec.uuid(), "reboot");
    // a soft reboot of a guest that is not running falls back to a hard one, as Nova's does
    if (guest.power() != PowerState.SHUTDOWN) {
      emit(spec.uuid(), Transition.STOPPED);
    }
    guest.boot();
    emit(spec.uuid(), Transition.STARTED);
  }

  @Override
  public void pause(InstanceSpec spec) {
    faults.apply(Op.PAUSE, spec.uuid());
    FakeGuest guest = guest(spec.uuid(), "pause");
    guest.expect("pause", PowerState.RUNNING);
    guest.power(PowerState.PAUSED);
    emit(spec.uuid(), Transition.PAUSED);
  }

  @Override
  public void unpause(InstanceSpec spec) {
    faults.apply(Op.UNPAUSE, spec.uuid());
    FakeGuest guest = guest(spec.uuid(), "unpause");
    guest.expect("unpause", PowerState.PAUSED);
    guest.power(PowerState.RUNNING);
    emit(spec.uuid(), Transition.RESUMED);
  }

  @Override
  public void suspend(InstanceSpec spec) {
    faults.apply(Op.SUSPEND, spec.uuid());
    FakeGuest guest = guest(spec.uuid(), "suspend");
    guest.expect("suspend", PowerState.RUNNING, PowerState.PAUSED);
    guest.save();
    emit(spec.uuid(), Transition.SUSPENDED);
  }

  @Override
  public void resume(InstanceSpec spec) {
    faults.apply(Op.RESUME, spec.uuid());
    FakeGuest guest = guest(spec.uuid(), "resume");
    if (!guest.saved()) {
      throw new ConflictException(
          "resume: instance " + spec.uuid() + " has no saved state (" + guest.power() + ")");
    }
    guest.restore();
    emit(spec.uuid(), Transition.STARTED);
  }

  @Override
  public Optional<InstanceInfo> getInfo(String uuid) {
    return Optional.ofNullable(guests.get(uuid)).map(FakeGuest::info);
  }

  @Override
  public List<String> listInstanceUuids() {
    return List.copyOf(guests.keySet());
  }

  @Override
  public HostResources getAvailableResource() {
    int cpuUsed = 0;
    int memUsed = 0;
    int diskUsed = 0;
    for (FakeGuest g : guests.values()) {
      var f = g.spec().flavor();
      cpuUsed += f.vcpus();
      memUsed += f.memoryMb();
      diskUsed += f.rootGb() + f.ephemeralGb() + (f.swapMb() + 1023) / 1024;
    }
    return new HostResources(
        hostname,
        "QEMU",
        8_002_000L,
        vcpus,
        cpuUsed,
        memoryMb,
        memUsed,
        localGb,
        diskUsed,
        localGb - diskUsed,
        "{\"arch\": \"x86_64\", \"model\": \"qemu64\", \"vendor\": \"Virga\","
            + " \"topology\": {\"sockets\": 1, \"cores\": "
            + vcpus
            + ", \"threads\": 1}, \"features\": []}");
  }

  @Override
  public String getConsoleOutput(InstanceSpec spec, int maxBytes) {
    return guest(spec.uuid(), "get console output").console(maxBytes);
  }

  /** Counters derived from the fake guest's flavor, so tests can check the API's shapes. */
  @Override
  public io.virga.core.InstanceDiagnostics getDiagnostics(InstanceSpec spec) {
    FakeGuest g = guest(spec.uuid(), "get diagnostics");
    java.util.List<io.virga.core.InstanceDiagnostics.Cpu> cpus = new java.util.ArrayList<>();
    for (int i = 0; i < spec.flavor().vcpus(); i++) {
      cpus.add(new io.virga.core.InstanceDiagnostics.Cpu(i, 1_000_000L * (i + 1)));
    }
    long kib = spec.flavor().memoryMb() * 1024L;
    return new io.virga.core.InstanceDiagnostics(
        io.virga.core.InstanceDiagnostics.stateName(g.power()),
        "fake",
        "fake",
        spec.configDrive(),
        cpus,
        kib,
        kib,
        java.util.Map.of("actual", kib),
        java.util.List.of(new io.virga.core.InstanceDiagnostics.Disk("vda", 4096, 1, 0, 0, -1)));
  }

  @Override
  public void registerLifecycleListener(Consumer<LifecycleEvent> listener) {
    this.listener = listener;
  }

  @Override
  public void snapshot(
      InstanceSpec spec, String imageId, SnapshotUpload upload, Consumer<TaskState> taskState) {
    faults.apply(Op.SNAPSHOT, spec.uuid());
    guest(spec.uuid(), "snapshot");
    taskState.accept(TaskState.IMAGE_PENDING_UPLOAD);
    Path file = bases.scratch("snapshot-" + imageId);
    try {
      Files.writeString(file, "fake snapshot of " + spec.uuid() + "\n");
      taskState.accept(TaskState.IMAGE_UPLOADING);
      // plain bytes: what the image service's inspector accepts only as raw
      upload.upload(file, "raw");
    } catch (IOException e) {
      throw new VirgaException("snapshot: writing " + file + " failed", e);
    } finally {
      try {
        Files.deleteIfExists(file);
      } catch (IOException e) {
        // a scratch file inside the base cache's temp dir; close() removes it
      }
    }
  }

  // ---- cold migration and resize (FakeMigrations) ----

  @Override
  public MigrationTarget prepareMigrationTarget(InstanceSpec spec, String migrationId) {
    return migrations.prepareMigrationTarget(spec, migrationId);
  }

  @Override
  public MigrationDisks migrateDiskAndPowerOff(
      InstanceSpec spec,
      io.virga.core.Flavor newFlavor,
      MigrationTarget target,
      Duration timeout,
      Duration retryInterval,
      Consumer<MigrationProgress> progress) {
    return migrations.migrateDiskAndPowerOff(spec, newFlavor, progress);
  }

  @Override
  public void finishMigration(
      InstanceSpec spec, MigrationDisks disks, ImageSource images, boolean powerOn) {
    migrations.finishMigration(spec, images, powerOn);
  }

  @Override
  public void cleanupMigrationTarget(InstanceSpec spec, String migrationId) {
    migrations.cleanupMigrationTarget(migrationId);
  }

  @Override
  public void confirmMigration(InstanceSpec spec) {
    migrations.confirmMigration(spec);
  }

  @Override
  public void finishRevertMigration(InstanceSpec spec, ImageSource images, boolean powerOn) {
    migrations.finishRevertMigration(spec, powerOn);
  }

  // ---- live migration ----

  @Override
  public LiveMigrationData checkCanLiveMigrateDestination(
      InstanceSpec spec, Optional<Boolean> blockMigration) {
    return migrations.checkCanLiveMigrateDestination(spec, blockMigration);
  }

  @Override
  public LiveMigrationData checkCanLiveMigrateSource(
      InstanceSpec spec, LiveMigrationData dest, Optional<Boolean> blockMigration) {
    return migrations.checkCanLiveMigrateSource(spec, dest, blockMigration);
  }

  @Override
  public LiveMigrationData preLiveMigration(
      InstanceSpec spec, LiveMigrationData data, ImageSource images) {
    return migrations.preLiveMigration(spec, data, images);
  }

  @Override
  public void liveMigration(
      InstanceSpec spec, LiveMigrationData data, Consumer<MigrationProgress> progress) {
    migrations.liveMigration(spec, progress);
  }

  @Override
  public boolean liveMigrationAbort(String uuid) {
    return migrations.abort(uuid);
  }

  @Override
  public boolean liveMigrationForceComplete(String uuid) {
    return migrations.forceComplete(uuid);
  }

  @Override
  public void postLiveMigrationAtDestination(InstanceSpec spec, LiveMigrationData data) {
    migrations.postLiveMigrationAtDestination(spec);
  }

  @Override
  public void rollbackLiveMigrationAtDestination(InstanceSpec spec, LiveMigrationData data) {
    migrations.rollbackLiveMigrationAtDestination(spec);
  }

  /** Instances whose {@code <uuid>_resize} holding area is on this host (until confirm/revert). */
  public Set<String> resizeLeftovers() {
    return migrations.resizeSources();
  }

  /** Migration ids with a target prepared here and not cleaned up. */
  public Set<String> openMigrationTargets() {
    return migrations.openTargets();
  }

  /** Instances prepared here for an incoming live migration that has not finished. */
  public Set<String> incomingLiveMigrations() {
    return migrations.incoming();
  }

  /** How long each monitor poll of a fake live migration takes (5 polls per migration). */
  public void livePollInterval(Duration d) {
    migrations.livePollInterval = d;
  }

  /** Re-creates the guest from the new image: a fresh console boot, the old "disk" gone. */
  @Override
  public void rebuild(
      InstanceSpec spec,
      ImageSource images,
      boolean preserveEphemeral,
      Consumer<TaskState> taskState) {
    faults.apply(Op.REBUILD, spec.uuid());
    FakeGuest old = guests.remove(spec.uuid());
    if (old != null) {
      emit(spec.uuid(), Transition.STOPPED);
    }
    taskState.accept(TaskState.REBUILD_BLOCK_DEVICE_MAPPING);
    bases.ensure(spec.image(), images, () -> faults.apply(Op.FETCH_IMAGE, spec.uuid()));
    taskState.accept(TaskState.REBUILD_SPAWNING);
    FakeGuest guest = old == null ? new FakeGuest(spec) : new FakeGuest(spec, old);
    guests.put(spec.uuid(), guest);
    disks.createFromImage(spec.uuid(), spec.image().id());
    guest.boot();
    emit(spec.uuid(), Transition.STARTED);
  }

  // ---- evacuate on shared storage (FakeDisks) ----

  /** This host's instances path: give two drivers the same one to share their storage. */
  public FakeDisks disks() {
    return disks;
  }

  /** The admin password the guest's last spawn, rebuild or recreate put on its config drive. */
  public Optional<String> adminPass(String uuid) {
    return Optional.ofNullable(guests.get(uuid)).flatMap(g -> g.spec().adminPass());
  }

  public void shareDisks(FakeDisks shared) {
    this.disks = shared;
  }

  @Override
  public boolean instanceOnDisk(InstanceSpec spec) {
    return disks.exists(spec.uuid());
  }

  /** A guest defined here over the disks it has: their content stays as the guest left it. */
  @Override
  public void recreateFromDisks(
      InstanceSpec spec, ImageSource images, Consumer<TaskState> taskState) {
    faults.apply(Op.REBUILD, spec.uuid());
    taskState.accept(TaskState.REBUILD_BLOCK_DEVICE_MAPPING);
    if (!disks.exists(spec.uuid())) {
      throw new NotFoundException("recreate: instance " + spec.uuid() + " has no disks here");
    }
    if (guests.containsKey(spec.uuid())) {
      throw new ConflictException("recreate: domain " + spec.domainName() + " exists here");
    }
    bases.ensure(spec.image(), images, () -> faults.apply(Op.FETCH_IMAGE, spec.uuid()));
    taskState.accept(TaskState.REBUILD_SPAWNING);
    FakeGuest guest = new FakeGuest(spec);
    guests.put(spec.uuid(), guest);
    disks.recreatedBy(spec.uuid(), hostname);
    guest.boot();
    emit(spec.uuid(), Transition.STARTED);
  }

  @Override
  public boolean instanceDisksTakenOver(InstanceSpec spec) {
    return disks.recreatedBy(spec.uuid()).filter(h -> !h.equals(hostname)).isPresent();
  }

  /** The guest reboots into the rescue image (its console says which). */
  @Override
  public void rescue(InstanceSpec spec, io.virga.core.ImageMeta rescueImage, ImageSource images) {
    faults.apply(Op.RESCUE, spec.uuid());
    FakeGuest guest = guest(spec.uuid(), "rescue");
    bases.ensure(rescueImage, images, () -> faults.apply(Op.FETCH_IMAGE, spec.uuid()));
    guest.rescue(Optional.of(rescueImage.id()));
    spec.adminPass().ifPresentOrElse(p -> rescuePasswords.put(spec.uuid(), p), () -> {});
    emit(spec.uuid(), Transition.STARTED);
  }

  @Override
  public void unrescue(InstanceSpec spec, ImageSource images) {
    faults.apply(Op.UNRESCUE, spec.uuid());
    guest(spec.uuid(), "unrescue").rescue(Optional.empty());
    rescuePasswords.remove(spec.uuid());
    emit(spec.uuid(), Transition.STARTED);
  }

  /** The admin password on the rescue config drive while the guest is rescued. */
  public Optional<String> rescueAdminPass(String uuid) {
    return Optional.ofNullable(rescuePasswords.get(uuid));
  }

  /** The rescue image the guest runs, empty when it runs its own disk. */
  public Optional<String> rescueImage(String uuid) {
    return guest(uuid, "rescue image").rescueImage();
  }

  @Override
  public List<String> cleanupLeftovers(List<String> deletedUuids) {
    List<String> still = new ArrayList<>();
    for (String uuid : deletedUuids) {
      if (!leftovers.contains(uuid)) {
        continue;
      }
      try {
        faults.apply(Op.CLEANUP, uuid);
        leftovers.remove(uuid);
      } catch (RuntimeException e) {
        still.add(uuid);
      }
    }
    return still;
  }

  /** Records each image-cache pass; the fake keeps no bases worth ageing. */
  @Override
  public void manageImageCache(java.util.Collection<String> imageIdsInUse) {
    faults.apply(Op.IMAGE_CACHE, "");
    imageCachePasses.add(Set.copyOf(imageIdsInUse));
  }

  /** The image ids of every {@link #manageImageCache} pass so far, oldest first. */
  public List<Set<String>> imageCachePasses() {
    return List.copyOf(imageCachePasses);
  }

  @Override
  public void close() {
    events.shutdownNow();
    bases.close();
  }

  // ---- test and benchmark helpers: what a real hypervisor or guest would do on its own ----

  /** Defines a guest as a previous agent run would have left it (recovery tests). */
  public void defineGuest(InstanceSpec spec, PowerState power) {
    FakeGuest g = new FakeGuest(spec);
    g.power(power);
    guests.put(spec.uuid(), g);
  }

  /**
   * The guest powers itself off (as after {@code poweroff} inside it): SHUTDOWN + STOPPED event.
   */
  public void guestShutsDown(String uuid) {
    guest(uuid, "guest shutdown").power(PowerState.SHUTDOWN);
    emit(uuid, Transition.STOPPED);
  }

  /** The guest boots again on its own (a STARTED event, e.g. a reboot from inside). */
  public void guestStarts(String uuid) {
    guest(uuid, "guest start").boot();
    emit(uuid, Transition.STARTED);
  }

  /** The qemu process dies: CRASHED power state and a CRASHED event. */
  public void guestCrashes(String uuid) {
    guest(uuid, "guest crash").power(PowerState.CRASHED);
    emit(uuid, Transition.CRASHED);
  }

  /** Make the guest ignore (or obey) the ACPI power button, like {@code virga-ignore-acpi}. */
  public void ignoreAcpi(String uuid, boolean ignore) {
    guest(uuid, "ignore acpi").ignoreAcpi(ignore);
  }

  /** The domain disappears behind the driver's back (an operator's {@code virsh undefine}). */
  public void vanish(String uuid) {
    guests.remove(uuid);
  }

  /** Sends a raw lifecycle event, whatever the guest's state. */
  public void emit(String uuid, Transition transition) {
    Consumer<LifecycleEvent> l = listener;
    LifecycleEvent event = new LifecycleEvent(uuid, transition, Instant.now());
    if (!events.isShutdown()) {
      events.execute(() -> l.accept(event));
    }
  }

  /** How many times the image was fetched from its source. */
  public int imageFetchCount(String imageId) {
    return bases.fetchCount(imageId);
  }

  /** Successful spawns since this driver was created. */
  public int spawnCount() {
    return spawns.get();
  }

  /** Instances whose files a failed delete left behind. */
  public Set<String> leftovers() {
    return Set.copyOf(leftovers);
  }

  /** The instance's power state, or empty when no such domain. */
  public Optional<PowerState> powerState(String uuid) {
    return getInfo(uuid).map(InstanceInfo::powerState);
  }

  private FakeGuest guest(String uuid, String step) {
    FakeGuest g = guests.get(uuid);
    if (g == null) {
      throw new NotFoundException(step + ": instance " + uuid + " is not defined on " + hostname);
    }
    return g;
  }

  private static void sleep(Duration d) {
    try {
      Thread.sleep(d);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new VirgaException("interrupted", e);
    }
  }
}
