package io.virga.virt;

import io.virga.core.ConflictException;
import io.virga.core.Flavor;
import io.virga.core.InvalidInputException;
import io.virga.core.NotFoundException;
import io.virga.core.PowerState;
import io.virga.core.VirgaException;
import io.virga.virt.FakeFaults.Op;
import io.virga.virt.LifecycleEvent.Transition;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * The migration half of {@link FakeDriver}: cold migration moves a guest into a {@code _resize}
 * holding area on the source and defines it on the destination; live migration hands the running
 * guest over through an in-JVM "wire" that the destination's post step picks it up from. Every step
 * has a {@link FakeFaults.Op} so tests can fail or hold it.
 */
final class FakeMigrations {
  static final long CHUNK = 64L << 20;
  static final int LIVE_POLLS = 5;
  // the network between fake hosts in one JVM: guests in flight, by instance uuid
  private static final Map<String, FakeGuest> WIRE = new ConcurrentHashMap<>();

  private final String hostname;
  private final Map<String, FakeGuest> guests;
  private final FakeFaults faults;
  private final FakeBaseCache bases;
  private final BiConsumer<String, Transition> emit;
  private final Map<String, FakeGuest> resizeSources = new ConcurrentHashMap<>();
  private final Map<String, String> targets = new ConcurrentHashMap<>();
  private final Set<String> incoming = ConcurrentHashMap.newKeySet();
  private final Map<String, LiveJob> running = new ConcurrentHashMap<>();
  volatile Duration livePollInterval = Duration.ofMillis(20);

  FakeMigrations(
      String hostname,
      Map<String, FakeGuest> guests,
      FakeFaults faults,
      FakeBaseCache bases,
      BiConsumer<String, Transition> emit) {
    this.hostname = hostname;
    this.guests = guests;
    this.faults = faults;
    this.bases = bases;
    this.emit = emit;
  }

  private static final class LiveJob {
    volatile boolean abort;
    volatile boolean forceComplete;
  }

  MigrationTarget prepareMigrationTarget(InstanceSpec spec, String migrationId) {
    faults.apply(Op.PREPARE_MIGRATION, spec.uuid());
    String token = UUID.randomUUID().toString();
    targets.put(migrationId, spec.uuid());
    return new MigrationTarget(
        hostname, "127.0.0.1", 0, token, Optional.of(".virga-probe-" + migrationId));
  }

  MigrationDisks migrateDiskAndPowerOff(
      InstanceSpec spec, Flavor newFlavor, Consumer<MigrationProgress> progress) {
    faults.apply(Op.MIGRATE_DISK, spec.uuid());
    Flavor old = spec.flavor();
    if (newFlavor.rootGb() < old.rootGb() || newFlavor.ephemeralGb() < old.ephemeralGb()) {
      throw new InvalidInputException(
          "migrate_disk_and_power_off: resizing disks of instance "
              + spec.uuid()
              + " to a smaller size is not supported");
    }
    FakeGuest g = guest(spec.uuid(), "migrate_disk_and_power_off");
    if (g.power() != PowerState.SHUTDOWN) {
      g.power(PowerState.SHUTDOWN);
      emit.accept(spec.uuid(), Transition.STOPPED);
    }
    // rename <uuid> to <uuid>_resize
    guests.remove(spec.uuid());
    resizeSources.put(spec.uuid(), g);
    long total = Math.max(1, old.rootGb()) * CHUNK;
    try {
      for (long done = 0; done < total; ) {
        faults.apply(Op.COPY_DISK, spec.uuid());
        done = Math.min(total, done + CHUNK);
        progress.accept(new MigrationProgress(0, 0, 0, total, done, total - done));
      }
    } catch (RuntimeException e) {
      // put the instance back in place, powered off: the caller restarts it if it was running
      resizeSources.remove(spec.uuid());
      guests.put(spec.uuid(), g);
      throw e;
    }
    return new MigrationDisks(
        false, List.of(new MigrationDisks.Disk("disk", "qcow2", total, spec.image().id())));
  }

  void finishMigration(InstanceSpec spec, ImageSource images, boolean powerOn) {
    faults.apply(Op.FINISH_MIGRATION, spec.uuid());
    bases.ensure(spec.image(), images, () -> {});
    FakeGuest g = new FakeGuest(spec);
    if (guests.putIfAbsent(spec.uuid(), g) != null) {
      throw new ConflictException(
          "finish_migration: domain " + spec.domainName() + " exists on " + hostname);
    }
    if (powerOn) {
      g.boot();
      emit.accept(spec.uuid(), Transition.STARTED);
    } else {
      g.power(PowerState.SHUTDOWN);
    }
  }

  void cleanupMigrationTarget(String migrationId) {
    targets.remove(migrationId);
  }

  void confirmMigration(InstanceSpec spec) {
    faults.apply(Op.CONFIRM_MIGRATION, spec.uuid());
    resizeSources.remove(spec.uuid());
  }

  void finishRevertMigration(InstanceSpec spec, boolean powerOn) {
    faults.apply(Op.FINISH_REVERT_MIGRATION, spec.uuid());
    FakeGuest moved = resizeSources.remove(spec.uuid());
    FakeGuest g = new FakeGuest(spec);
    if (moved == null) {
      FakeGuest inPlace = guests.get(spec.uuid());
      if (inPlace == null) {
        throw new NotFoundException(
            "finish_revert_migration: instance " + spec.uuid() + " has no files on " + hostname);
      }
      g = inPlace;
    }
    guests.put(spec.uuid(), g);
    if (powerOn && g.power() != PowerState.RUNNING) {
      g.boot();
      emit.accept(spec.uuid(), Transition.STARTED);
    } else if (!powerOn) {
      g.power(PowerState.SHUTDOWN);
    }
  }

  LiveMigrationData checkCanLiveMigrateDestination(InstanceSpec spec, Optional<Boolean> block) {
    faults.apply(Op.LIVE_CHECK_DESTINATION, spec.uuid());
    if (guests.containsKey(spec.uuid())) {
      throw new ConflictException(
          "check_can_live_migrate_destination: instance " + spec.uuid() + " is already here");
    }
    return new LiveMigrationData(
        hostname,
        "qemu+tcp://" + hostname + "/system",
        "127.0.0.1",
        false,
        block.orElse(false),
        Optional.of(".virga-probe-" + spec.uuid()),
        Optional.empty(),
        List.of());
  }

  LiveMigrationData checkCanLiveMigrateSource(
      InstanceSpec spec, LiveMigrationData dest, Optional<Boolean> block) {
    faults.apply(Op.LIVE_CHECK_SOURCE, spec.uuid());
    guest(spec.uuid(), "check_can_live_migrate_source");
    // fake hosts never share an instances path: "auto" means block migration
    if (block.isPresent() && !block.get()) {
      throw new InvalidInputException(
          "check_can_live_migrate_source: "
              + hostname
              + " and "
              + dest.destHost()
              + " do not share storage; use block migration");
    }
    return dest.withBlockMigration(true, List.of("vda"));
  }

  LiveMigrationData preLiveMigration(
      InstanceSpec spec, LiveMigrationData data, ImageSource images) {
    faults.apply(Op.PRE_LIVE_MIGRATION, spec.uuid());
    bases.ensure(spec.image(), images, () -> {});
    incoming.add(spec.uuid());
    return data.withDestinationXml("<domain type='qemu'><uuid>" + spec.uuid() + "</uuid></domain>");
  }

  void liveMigration(InstanceSpec spec, Consumer<MigrationProgress> progress) {
    faults.apply(Op.LIVE_MIGRATION, spec.uuid());
    FakeGuest g = guest(spec.uuid(), "live_migration");
    LiveJob job = new LiveJob();
    if (running.putIfAbsent(spec.uuid(), job) != null) {
      throw new ConflictException("live_migration: instance " + spec.uuid() + " already migrating");
    }
    try {
      long mem = (long) spec.flavor().memoryMb() << 20;
      long disk = Math.max(1, spec.flavor().rootGb()) * CHUNK;
      for (int i = 1; i <= LIVE_POLLS && !job.forceComplete; i++) {
        faults.apply(Op.LIVE_MIGRATION_STEP, spec.uuid());
        if (job.abort) {
          throw new VirgaException("live_migration: migration job cancelled by request");
        }
        long m = mem * i / LIVE_POLLS;
        long d = disk * i / LIVE_POLLS;
        progress.accept(new MigrationProgress(mem, m, mem - m, disk, d, disk - d));
        sleep(livePollInterval);
      }
      if (job.abort) {
        throw new VirgaException("live_migration: migration job cancelled by request");
      }
      guests.remove(spec.uuid());
      WIRE.put(spec.uuid(), g);
    } finally {
      running.remove(spec.uuid());
    }
  }

  boolean abort(String uuid) {
    LiveJob j = running.get(uuid);
    if (j == null) {
      return false;
    }
    j.abort = true;
    return true;
  }

  boolean forceComplete(String uuid) {
    LiveJob j = running.get(uuid);
    if (j == null) {
      return false;
    }
    j.forceComplete = true;
    return true;
  }

  void postLiveMigrationAtDestination(InstanceSpec spec) {
    incoming.remove(spec.uuid());
    FakeGuest g = WIRE.remove(spec.uuid());
    if (g == null) {
      throw new NotFoundException(
          "post_live_migration_at_destination: instance " + spec.uuid() + " did not arrive");
    }
    guests.put(spec.uuid(), g);
    // after the guest arrived, as libvirt's: a failure here leaves it running on this host
    faults.apply(Op.POST_LIVE_MIGRATION, spec.uuid());
  }

  void rollbackLiveMigrationAtDestination(InstanceSpec spec) {
    incoming.remove(spec.uuid());
  }

  Set<String> resizeSources() {
    return Set.copyOf(resizeSources.keySet());
  }

  Set<String> openTargets() {
    return Set.copyOf(targets.keySet());
  }

  Set<String> incoming() {
    return Set.copyOf(incoming);
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
      throw new VirgaException("live_migration interrupted", e);
    }
  }
}
