package io.virga.libvirt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.virga.core.Flavor;
import io.virga.core.PowerState;
import io.virga.virt.InstanceSpec;
import io.virga.virt.LiveMigrationData;
import io.virga.virt.MigrationProgress;
import io.virga.virt.RebootType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * Live migration between two namespaced hosts (each its own libvirtd; qemu TCG), through the driver
 * as the compute manager calls it: there and back with block migration chosen automatically and
 * with shared storage, a guest that dirties memory faster than the capped link (abort, force
 * complete), and a destination whose libvirtd dies mid-migration.
 */
class LiveMigrationIT {
  private static final Duration BOOT = Duration.ofSeconds(120);

  private static Flavor flavor(int memoryMb) {
    return new Flavor("lm", "lm.tiny", memoryMb, 1, 1, 0, 0, Map.of());
  }

  private static InstanceSpec spawn(LibvirtDriverFixture f, int memoryMb, String userData) {
    InstanceSpec spec =
        f.spec(
            "lm", flavor(memoryMb), f.diskImage(Map.of()), Optional.of("#!/bin/sh\n" + userData));
    f.spawn(spec);
    f.awaitConsole(spec, "TICK 2", BOOT);
    return spec;
  }

  private static Path console(LibvirtDriverFixture f, InstanceSpec s) {
    return f.instanceDir(s).resolve("console.log");
  }

  /** One hop: the guest keeps counting, nothing stays behind on the source. */
  private static void hop(TwoHosts h, InstanceSpec spec, LibvirtDriverFixture from, boolean shared)
      throws Exception {
    LibvirtDriverFixture to = h.other(from);
    List<MigrationProgress> progress = new CopyOnWriteArrayList<>();
    long t0 = System.nanoTime();
    LiveMigrationData d;
    try (TickWatch w = new TickWatch(() -> List.of(console(from, spec), console(to, spec)))) {
      d = h.migrate(spec, from, to, progress::add);
      long ms = (System.nanoTime() - t0) / 1_000_000;
      to.awaitConsole(spec, "TICK (\\d+)", Duration.ofSeconds(30));
      Thread.sleep(2500);
      System.out.printf(
          "live migration %s -> %s (shared %s, block %s): %d ms, TICK stood still at most %d ms%n",
          from.driver.options().instancesPath(),
          to.driver.options().instancesPath(),
          shared,
          d.blockMigration(),
          ms,
          w.longestStillMs());
      assertThat(w.reset()).as("the guest never rebooted").isFalse();
      assertThat(w.longestStillMs()).as("TICK never stood still long").isLessThan(6000);
    }
    assertThat(d.sharedInstancePath()).isEqualTo(shared);
    assertThat(d.blockMigration()).isEqualTo(!shared);
    assertThat(to.driver.getInfo(spec.uuid()).orElseThrow().powerState())
        .isEqualTo(PowerState.RUNNING);
    assertThat(from.driver.getInfo(spec.uuid())).as("source domain undefined").isEmpty();
    if (!shared) {
      assertThat(from.instanceDir(spec)).as("source files removed").doesNotExist();
      assertThat(progress).anyMatch(p -> p.diskTotal() > 0);
    }
    assertThat(progress).anyMatch(p -> p.memoryTotal() > 0 && p.memoryProcessed() > 0);
    assertThat(progress.getLast().percent()).isEqualTo(100);
    assertThat(to.instanceDir(spec).resolve(ColdMigrationDest.MARKER)).doesNotExist();
  }

  private static void thereAndBack(boolean shared) throws Exception {
    try (TwoHosts h = new TwoHosts(shared, Map.of())) {
      String marker = "live-" + UUID.randomUUID();
      InstanceSpec spec = spawn(h.one, 128, "virga-marker write " + marker + "\n");
      h.one.awaitConsole(spec, "VIRGA-MARKER-WRITTEN", BOOT);
      hop(h, spec, h.one, shared);
      int afterFirst = TwoHosts.ticks(console(h.two, spec)).getLast();
      hop(h, spec, h.two, shared);
      assertThat(TwoHosts.ticks(console(h.one, spec)).getLast()).isGreaterThan(afterFirst);
      // the disk came back intact: a reboot reads the marker from it
      h.one.driver.reboot(spec, RebootType.HARD, h.one.images);
      h.one.awaitConsole(spec, "VIRGA-MARKER " + marker, BOOT);
    }
  }

  @Test
  void blockMigrationThereAndBackKeepsTheGuestRunningAndItsDisk() throws Exception {
    thereAndBack(false);
  }

  @Test
  void sharedStorageThereAndBack() throws Exception {
    thereAndBack(true);
  }

  /** 32 MiB/s dirtied against an 8 MiB/s link; completion timeout 3 s per GiB (12 s here). */
  private static final Map<String, String> NON_CONVERGING =
      Map.of("live_migration_bandwidth", "8", "live_migration_completion_timeout", "3");

  private static InstanceSpec dirtyingGuest(LibvirtDriverFixture f) {
    InstanceSpec spec = spawn(f, 256, "virga-dirty-memory 64 32\n");
    f.awaitConsole(spec, "VIRGA-DIRTY-MEMORY mib=64 rate=32", BOOT);
    return spec;
  }

  @Test
  void nonConvergingGuestIsAbortedAtTheTimeoutAndKeepsRunningOnTheSource() throws Exception {
    Map<String, String> conf = new java.util.HashMap<>(NON_CONVERGING);
    conf.put("live_migration_timeout_action", "abort");
    try (TwoHosts h = new TwoHosts(false, conf)) {
      InstanceSpec spec = dirtyingGuest(h.one);
      long t0 = System.nanoTime();
      assertThatThrownBy(() -> h.migrate(spec, h.one, h.two, p -> {}))
          .isInstanceOf(MigrationException.class)
          .hasMessageContaining("cancelled");
      System.out.printf("aborted after %d ms%n", (System.nanoTime() - t0) / 1_000_000);
      assertThat(h.one.driver.getInfo(spec.uuid()).orElseThrow().powerState())
          .isEqualTo(PowerState.RUNNING);
      int before = h.one.lastTick(spec);
      h.one.awaitConsole(spec, "TICK " + (before + 2), Duration.ofSeconds(30));
      assertThat(h.two.driver.getInfo(spec.uuid())).isEmpty();
      assertThat(h.two.instanceDir(spec)).doesNotExist();
    }
  }

  @Test
  void nonConvergingGuestIsForcedToCompleteByPausing() throws Exception {
    Map<String, String> conf = new java.util.HashMap<>(NON_CONVERGING);
    conf.put("live_migration_timeout_action", "force_complete");
    try (TwoHosts h = new TwoHosts(false, conf)) {
      InstanceSpec spec = dirtyingGuest(h.one);
      long t0 = System.nanoTime();
      h.migrate(spec, h.one, h.two, p -> {});
      System.out.printf("forced to complete in %d ms%n", (System.nanoTime() - t0) / 1_000_000);
      assertThat(h.one.driver.getInfo(spec.uuid())).isEmpty();
      assertThat(h.two.driver.getInfo(spec.uuid()).orElseThrow().powerState())
          .isEqualTo(PowerState.RUNNING);
      int before = TwoHosts.ticks(console(h.two, spec)).stream().mapToInt(i -> i).max().orElse(0);
      h.two.awaitConsole(spec, "TICK " + (before + 2), Duration.ofSeconds(30));
    }
  }

  @Test
  void forceCompleteRequestedWithPostCopyPermitted() throws Exception {
    Map<String, String> conf = new java.util.HashMap<>(NON_CONVERGING);
    conf.put("live_migration_completion_timeout", "0");
    conf.put("live_migration_permit_post_copy", "true");
    try (TwoHosts h = new TwoHosts(false, conf)) {
      InstanceSpec spec = dirtyingGuest(h.one);
      var running = CompletableFuture.runAsync(() -> h.migrate(spec, h.one, h.two, p -> {}));
      Thread.sleep(4000);
      assertThat(h.one.driver.liveMigrationForceComplete(spec.uuid())).isTrue();
      running.get(180, java.util.concurrent.TimeUnit.SECONDS);
      assertThat(h.two.driver.getInfo(spec.uuid()).orElseThrow().powerState())
          .isEqualTo(PowerState.RUNNING);
      int before = TwoHosts.ticks(console(h.two, spec)).stream().mapToInt(i -> i).max().orElse(0);
      h.two.awaitConsole(spec, "TICK " + (before + 2), Duration.ofSeconds(30));
    }
  }

  @Test
  void abortRequestedWhileRunning() throws Exception {
    Map<String, String> conf = new java.util.HashMap<>(NON_CONVERGING);
    conf.put("live_migration_completion_timeout", "0"); // never by itself
    try (TwoHosts h = new TwoHosts(false, conf)) {
      InstanceSpec spec = dirtyingGuest(h.one);
      var running = CompletableFuture.runAsync(() -> h.migrate(spec, h.one, h.two, p -> {}));
      Thread.sleep(4000);
      assertThat(h.one.driver.liveMigrationAbort(spec.uuid())).isTrue();
      assertThatThrownBy(running::join).hasRootCauseMessage(rootMessage(running));
      assertThat(h.one.driver.getInfo(spec.uuid()).orElseThrow().powerState())
          .isEqualTo(PowerState.RUNNING);
      assertThat(h.two.instanceDir(spec)).doesNotExist();
      assertThat(h.one.driver.liveMigrationAbort(spec.uuid())).as("none runs now").isFalse();
    }
  }

  private static String rootMessage(CompletableFuture<Void> f) {
    try {
      f.join();
      return "no failure";
    } catch (RuntimeException e) {
      Throwable t = e;
      while (t.getCause() != null) {
        if (t instanceof MigrationException m) {
          assertThat(m.getMessage()).contains("cancelled");
        }
        t = t.getCause();
      }
      return t.getMessage();
    }
  }

  @Test
  void destinationLibvirtdDyingMidMigrationLeavesTheGuestOnTheSource() throws Exception {
    Map<String, String> conf = new java.util.HashMap<>(NON_CONVERGING);
    conf.put("live_migration_completion_timeout", "0");
    try (TwoHosts h = new TwoHosts(false, conf)) {
      InstanceSpec spec = dirtyingGuest(h.one);
      LiveMigrationData d = h.prepare(spec, h.one, h.two, Optional.empty());
      var running = CompletableFuture.runAsync(() -> h.one.driver.liveMigration(spec, d, p -> {}));
      Thread.sleep(4000);
      h.stopLibvirtd(2);
      assertThatThrownBy(() -> running.get(120, java.util.concurrent.TimeUnit.SECONDS))
          .hasCauseInstanceOf(MigrationException.class);
      h.two.driver.rollbackLiveMigrationAtDestination(spec, d);
      assertThat(h.one.driver.getInfo(spec.uuid()).orElseThrow().powerState())
          .isEqualTo(PowerState.RUNNING);
      int before = h.one.lastTick(spec);
      h.one.awaitConsole(spec, "TICK " + (before + 2), Duration.ofSeconds(30));
      assertThat(h.two.instanceDir(spec)).doesNotExist();
      assertThat(Files.exists(h.one.instanceDir(spec).resolve("disk"))).isTrue();
    }
  }
}
