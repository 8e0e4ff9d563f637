package io.virga.compute;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.virga.core.InstanceUpdate;
import io.virga.core.PowerState;
import io.virga.core.TaskState;
import io.virga.core.VirgaException;
import io.virga.core.VmState;
import io.virga.rpc.Rpc;
import io.virga.virt.FakeFaults.Op;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.MDC;

class ComputeManagerTest extends AgentFixture {

  @BeforeEach
  void start() {
    startManager(options());
  }

  @Test
  void buildGoesThroughNovasTaskStates() {
    String uuid = booted();
    assertThat(conductor.taskHistory(uuid))
        .containsExactly("scheduling", "networking", "block_device_mapping", "spawning", "none");
    var row = row(uuid);
    assertThat(row.powerState()).isEqualTo(PowerState.RUNNING);
    assertThat(row.launchedAt()).isPresent();
    assertThat(driver.powerState(uuid)).contains(PowerState.RUNNING);
    assertThat(conductor.events)
        .filteredOn(e -> e.contains("compute__do_build_and_run_instance"))
        .containsExactly(
            uuid + " " + requestOf(uuid) + " start compute__do_build_and_run_instance",
            uuid + " " + requestOf(uuid) + " finish compute__do_build_and_run_instance");
    // the event's start and finish went with the first and last task-state steps
    assertThat(conductor.stepsStartingEvents).hasValue(1);
    assertThat(conductor.stepsFinishingEvents).hasValue(1);
    assertThat(manager.getConsoleOutput(uuid, 1))
        .isEqualTo("VIRGA-GUEST-UP uuid=" + uuid + " hostname=" + row.hostname() + "\n");
  }

  /** The request id the agent's build recorded its event under. */
  private String requestOf(String uuid) {
    return conductor.events.stream()
        .filter(e -> e.startsWith(uuid + " ") && e.contains(" start "))
        .findFirst()
        .orElseThrow()
        .split(" ")[1];
  }

  @Test
  void aBuildCarryingItsRequestAsksTheConductorForNoInstance() {
    String uuid = scheduled();
    var request = conductor.buildRequest(uuid);
    int reads = conductor.instanceReads.get();
    manager.buildAndRunInstance(uuid, Optional.of(request), Optional.empty());
    idle();
    assertThat(row(uuid).vmState()).isEqualTo(VmState.ACTIVE);
    assertThat(conductor.taskHistory(uuid))
        .containsExactly("scheduling", "networking", "block_device_mapping", "spawning", "none");
    assertThat(conductor.instanceReads).hasValue(reads);
  }

  @Test
  void aCarriedRequestOfAnInstanceDeletedSinceBuildsNothing() {
    String uuid = scheduled();
    var request = conductor.buildRequest(uuid); // what the scheduler sent
    apiDeletes(uuid);
    manager.buildAndRunInstance(uuid, Optional.of(request), Optional.empty());
    idle();
    assertThat(driver.getInfo(uuid)).isEmpty();
    assertThat(row(uuid).vmState()).isEqualTo(VmState.BUILDING);
    assertThat(row(uuid).taskState()).contains(TaskState.DELETING);
    assertThat(conductor.faults).isEmpty();
  }

  private void apiDeletes(String uuid) {
    assertThat(
            conductor.updateInstance(
                uuid,
                InstanceUpdate.none().task(TaskState.DELETING),
                Optional.of(TaskState.SCHEDULING)))
        .isPresent();
  }

  @Test
  void aFailedBuildEndsInErrorWithAFaultAndNoDomain() {
    driver.faults().failNext(Op.SPAWN, () -> new VirgaException("spawn: qemu refused to start"));
    String uuid = scheduled();
    manager.buildAndRunInstance(uuid, Optional.empty(), Optional.empty());
    idle();
    var row = row(uuid);
    assertThat(row.vmState()).isEqualTo(VmState.ERROR);
    assertThat(row.taskState()).isEmpty();
    assertThat(conductor.faults).containsExactly(uuid + " 500 spawn: qemu refused to start");
    assertThat(driver.getInfo(uuid)).isEmpty();
  }

  @Test
  void aBuildOfAMissingImageFailsCleanly() {
    String uuid = java.util.UUID.randomUUID().toString();
    var i =
        FakeConductor.newInstance(
            uuid, "host1", VmState.BUILDING, Optional.of(TaskState.SCHEDULING));
    conductor.add(FakeConductor.withImage(i, "no-such-image"));
    manager.buildAndRunInstance(uuid, Optional.empty(), Optional.empty());
    idle();
    assertThat(row(uuid).vmState()).isEqualTo(VmState.ERROR);
    assertThat(conductor.faults).singleElement().asString().contains("404", "no-such-image");
  }

  @Test
  void powerActionsFollowNovasTaskStates() {
    String uuid = booted();
    int mark = conductor.taskHistory(uuid).size();

    stop(uuid);
    idle();
    assertThat(row(uuid).vmState()).isEqualTo(VmState.STOPPED);
    assertThat(row(uuid).powerState()).isEqualTo(PowerState.SHUTDOWN);
    start(uuid);
    idle();
    assertThat(row(uuid).vmState()).isEqualTo(VmState.ACTIVE);
    pause(uuid);
    idle();
    assertThat(row(uuid).vmState()).isEqualTo(VmState.PAUSED);
    assertThat(row(uuid).powerState()).isEqualTo(PowerState.PAUSED);
    unpause(uuid);
    idle();
    suspend(uuid);
    idle();
    assertThat(row(uuid).vmState()).isEqualTo(VmState.SUSPENDED);
    resume(uuid);
    idle();
    reboot(uuid, false);
    idle();
    reboot(uuid, true);
    idle();
    assertThat(row(uuid).vmState()).isEqualTo(VmState.ACTIVE);
    assertThat(row(uuid).powerState()).isEqualTo(PowerState.RUNNING);

    assertThat(conductor.taskHistory(uuid).subList(mark, conductor.taskHistory(uuid).size()))
        .containsExactly(
            "powering_off",
            "none",
            "powering_on",
            "none",
            "pausing",
            "none",
            "unpausing",
            "none",
            "suspending",
            "none",
            "resuming",
            "none",
            "rebooting",
            "reboot_pending",
            "reboot_started",
            "none",
            "rebooting_hard",
            "reboot_pending_hard",
            "reboot_started_hard",
            "none");
    assertThat(conductor.events)
        .filteredOn(e -> e.contains(" finish "))
        .extracting(e -> e.substring(e.indexOf("finish ") + 7))
        .contains(
            "compute_stop_instance",
            "compute_start_instance",
            "compute_pause_instance",
            "compute_unpause_instance",
            "compute_suspend_instance",
            "compute_resume_instance",
            "compute_reboot_instance");
    assertThat(conductor.faults).isEmpty();
  }

  @Test
  void terminateDestroysTheDomainAndTheRow() {
    String uuid = booted();
    manager.terminateInstance(uuid);
    idle();
    assertThat(conductor.row(uuid)).isEmpty();
    assertThat(conductor.destroyed).containsExactly(uuid);
    assertThat(conductor.taskHistory(uuid)).endsWith("deleting");
    assertThat(driver.getInfo(uuid)).isEmpty();
  }

  @Test
  void aTaskTheApiAlreadySetIsTakenAsIs() {
    String uuid = booted();
    conductor.updateInstance(
        uuid, InstanceUpdate.none().task(TaskState.POWERING_OFF), Optional.empty());
    manager.stopInstance(uuid);
    idle();
    assertThat(row(uuid).vmState()).isEqualTo(VmState.STOPPED);
    assertThat(conductor.taskHistory(uuid)).endsWith("powering_off", "none");
  }

  @Test
  void anActionInTheWrongStateChangesNothing() {
    String uuid = booted();
    int before = conductor.taskHistory(uuid).size();
    manager.startInstance(uuid); // already active
    manager.unpauseInstance(uuid); // not paused
    manager.resumeInstance(uuid); // not suspended
    idle();
    assertThat(row(uuid).vmState()).isEqualTo(VmState.ACTIVE);
    assertThat(row(uuid).taskState()).isEmpty();
    assertThat(conductor.taskHistory(uuid)).hasSize(before);
    assertThat(driver.getConsoleOutput(FakeDriverSpecs.of(row(uuid)), -1).lines()).hasSize(1);
  }

  @Test
  void aDeleteDuringAStopWinsAndTheStopDoesNotOverwriteIt() throws Exception {
    String uuid = booted();
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch inPowerOff = block(Op.POWER_OFF, release);
    stop(uuid);
    assertThat(inPowerOff.await(5, TimeUnit.SECONDS)).isTrue();
    // the API deletes meanwhile (delete is allowed during any task) and casts terminate
    conductor.forceUpdateInstance(uuid, InstanceUpdate.none().task(TaskState.DELETING));
    manager.terminateInstance(uuid);
    // and a pause arrives too: it must wait for the stop, then be refused
    manager.pauseInstance(uuid);
    // both wait for their turn behind the blocked stop (a lifecycle event's sync may queue too),
    // and nothing has touched the row
    await().atMost(Duration.ofSeconds(5)).until(() -> manager.waitingActions(uuid) >= 2);
    assertThat(row(uuid).taskState()).contains(TaskState.DELETING);
    assertThat(conductor.destroyed).isEmpty();
    release.countDown();
    idle();
    assertThat(conductor.casLosses.get()).isGreaterThanOrEqualTo(1);
    assertThat(conductor.destroyed).containsExactly(uuid);
    assertThat(conductor.taskHistory(uuid)).doesNotContain("pausing");
    assertThat(conductor.events)
        .anyMatch(e -> e.contains("finish compute_stop_instance error: instance " + uuid));
  }

  @Test
  void aDeleteDuringTheBuildAbandonsItWithoutAnErrorAndLeavesNoDomain() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch inSpawn = block(Op.SPAWN, release);
    String uuid = scheduled();
    manager.buildAndRunInstance(uuid, Optional.empty(), Optional.empty());
    assertThat(inSpawn.await(5, TimeUnit.SECONDS)).isTrue();
    conductor.forceUpdateInstance(uuid, InstanceUpdate.none().task(TaskState.DELETING));
    manager.terminateInstance(uuid);
    release.countDown();
    idle();
    assertThat(conductor.destroyed).containsExactly(uuid);
    assertThat(conductor.faults).isEmpty();
    assertThat(driver.listInstanceUuids()).isEmpty();
    assertThat(conductor.taskHistory(uuid)).doesNotContain("none");
  }

  @Test
  void aRepeatedOrStaleCastWaitsBehindTheRunningActionAndIsDropped() throws Exception {
    String uuid = booted();
    AtomicInteger powerOffs = new AtomicInteger();
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch inPowerOff = new CountDownLatch(1);
    driver
        .faults()
        .hook(
            Op.POWER_OFF,
            u -> {
              powerOffs.incrementAndGet();
              inPowerOff.countDown();
              waitFor(release);
            });
    stop(uuid);
    assertThat(inPowerOff.await(5, TimeUnit.SECONDS)).isTrue();
    manager.stopInstance(uuid); // the same stop delivered again
    manager.pauseInstance(uuid); // a pause the API never sent (it would refuse: task powering_off)
    // both wait for their turn behind the blocked stop, which still holds the task state
    await().atMost(Duration.ofSeconds(5)).until(() -> manager.waitingActions(uuid) >= 2);
    assertThat(row(uuid).taskState()).contains(TaskState.POWERING_OFF);
    release.countDown();
    idle();
    assertThat(row(uuid).vmState()).isEqualTo(VmState.STOPPED);
    assertThat(row(uuid).taskState()).isEmpty();
    assertThat(conductor.taskHistory(uuid)).endsWith("powering_off", "none");
    assertThat(conductor.taskHistory(uuid)).doesNotContain("pausing");
    assertThat(powerOffs).as("one power-off for one stop").hasValue(1);
    // the next real request is judged on the new state
    start(uuid);
    idle();
    assertThat(row(uuid).vmState()).isEqualTo(VmState.ACTIVE);
    assertThat(conductor.taskHistory(uuid)).endsWith("powering_off", "none", "powering_on", "none");
    assertThat(conductor.faults).isEmpty();
  }

  @Test
  void actionsOnOneInstanceAreSerialisedAndOnDifferentInstancesParallel() {
    String a = booted();
    String b = booted();
    Map<String, AtomicInteger> perInstance = new ConcurrentHashMap<>();
    AtomicInteger maxPerInstance = new AtomicInteger();
    AtomicInteger active = new AtomicInteger();
    AtomicInteger maxActive = new AtomicInteger();
    for (Op op : new Op[] {Op.POWER_OFF, Op.POWER_ON}) {
      driver
          .faults()
          .hook(
              op,
              u -> {
                int mine =
                    perInstance.computeIfAbsent(u, k -> new AtomicInteger()).incrementAndGet();
                maxPerInstance.accumulateAndGet(mine, Math::max);
                maxActive.accumulateAndGet(active.incrementAndGet(), Math::max);
                sleep(150);
                active.decrementAndGet();
                perInstance.get(u).decrementAndGet();
              });
    }
    for (int k = 0; k < 3; k++) {
      for (String u : new String[] {a, b}) {
        // the API sets each task just before its cast arrives: queued here in the same order
        manager.submit(u, "api sets powering_off", rid -> apiSets(u, TaskState.POWERING_OFF));
        manager.stopInstance(u);
        manager.submit(u, "api sets powering_on", rid -> apiSets(u, TaskState.POWERING_ON));
        manager.startInstance(u);
      }
    }
    idle();
    assertThat(maxPerInstance).hasValue(1);
    assertThat(maxActive).hasValue(2);
    assertThat(conductor.taskHistory(a))
        .containsSubsequence(
            "powering_off",
            "none",
            "powering_on",
            "none",
            "powering_off",
            "none",
            "powering_on",
            "none",
            "powering_off",
            "none",
            "powering_on",
            "none");
    assertThat(row(a).vmState()).isEqualTo(VmState.ACTIVE);
    assertThat(row(b).vmState()).isEqualTo(VmState.ACTIVE);
  }

  @Test
  void theImagesShutdownTimeoutOverridesTheConfiguredOne() {
    String uuid = booted();
    var spec = FakeDriverSpecs.of(row(uuid));
    java.util.Map<String, String> props = java.util.Map.of("os_shutdown_timeout", "7");
    var image = FakeConductor.IMAGE;
    var withProp =
        new io.virga.core.ImageMeta(
            image.id(),
            image.name(),
            image.diskFormat(),
            image.containerFormat(),
            image.size(),
            image.virtualSize(),
            image.minDiskGb(),
            image.minRamMb(),
            props);
    var spec7 =
        new io.virga.virt.InstanceSpec(
            spec.uuid(),
            spec.domainName(),
            spec.displayName(),
            spec.hostname(),
            spec.projectId(),
            spec.userId(),
            spec.flavor(),
            withProp,
            spec.metadata(),
            spec.userData(),
            spec.publicKeys(),
            spec.configDrive(),
            spec.availabilityZone(),
            spec.launchIndex(),
            spec.createdAt());
    InstanceFlows flows =
        new InstanceFlows(
            new FlowContext(
                driver,
                new TaskStates(conductor),
                new SpecBuilder(conductor),
                i -> IMAGES,
                options(),
                manager.tracker()),
            manager.pendingDeletes());
    assertThat(flows.shutdownTimeout(spec7)).isEqualTo(Duration.ofSeconds(7));
    assertThat(flows.shutdownTimeout(spec)).isEqualTo(Duration.ofSeconds(2));
  }

  @Test
  void aFailedStopClearsTheTaskKeepsTheStateAndRecordsAFault() {
    String uuid = booted();
    driver.faults().failNext(Op.POWER_OFF, () -> new VirgaException("power off: libvirt said no"));
    stop(uuid);
    idle();
    assertThat(row(uuid).vmState()).isEqualTo(VmState.ACTIVE);
    assertThat(row(uuid).taskState()).isEmpty();
    assertThat(conductor.faults).containsExactly(uuid + " 500 power off: libvirt said no");
    assertThat(conductor.events)
        .anyMatch(
            e -> e.endsWith("finish compute_stop_instance error: power off: libvirt said no"));
  }

  @Test
  void aFailedRebootOfAGuestThatIsDownEndsInError() {
    String uuid = booted();
    driver.faults().hook(Op.REBOOT, driver::guestShutsDown);
    driver.faults().failNext(Op.REBOOT, () -> new VirgaException("reboot: domain would not start"));
    reboot(uuid, true);
    idle();
    assertThat(row(uuid).vmState()).isEqualTo(VmState.ERROR);
    assertThat(row(uuid).taskState()).isEmpty();
  }

  @Test
  void aDeleteThatCannotRemoveTheDomainEndsInError() {
    String uuid = booted();
    driver.faults().failNext(Op.DESTROY, () -> new VirgaException("destroy: domain is busy"));
    manager.terminateInstance(uuid);
    idle();
    assertThat(row(uuid).vmState()).isEqualTo(VmState.ERROR);
    assertThat(row(uuid).taskState()).isEmpty();
    assertThat(conductor.faults).singleElement().asString().contains("destroy: domain is busy");
    manager.terminateInstance(uuid); // the user deletes again
    idle();
    assertThat(conductor.destroyed).containsExactly(uuid);
  }

  @Test
  void theRequestIdTravelsIntoEventsAndLogs() {
    String uuid = booted();
    MDC.put(Rpc.REQUEST_ID, "req-from-api");
    try {
      stop(uuid);
    } finally {
      MDC.remove(Rpc.REQUEST_ID);
    }
    idle();
    assertThat(conductor.events).contains(uuid + " req-from-api start compute_stop_instance");
  }

  @Test
  void driverCallsRunWithTheInstanceAndRequestInTheLoggingContext() {
    String uuid = booted();
    java.util.List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
    driver
        .faults()
        .hook(Op.PAUSE, u -> seen.add(MDC.get("instance_uuid") + " " + MDC.get(Rpc.REQUEST_ID)));
    MDC.put(Rpc.REQUEST_ID, "req-mdc");
    try {
      pause(uuid);
    } finally {
      MDC.remove(Rpc.REQUEST_ID);
    }
    idle();
    assertThat(seen).containsExactly(uuid + " req-mdc");
  }

  @Test
  void consoleOutputKeepsTheLastLines() {
    String uuid = booted();
    reboot(uuid, true);
    idle();
    assertThat(manager.getConsoleOutput(uuid, -1).lines()).hasSize(2);
    assertThat(manager.getConsoleOutput(uuid, 1).lines()).hasSize(1);
    assertThat(manager.getConsoleOutput(uuid, 0)).isEmpty();
  }

  @Test
  void snapshotGoesThroughTheUploadStates() {
    String uuid = booted();
    manager.close();
    java.util.List<String> uploads = new java.util.concurrent.CopyOnWriteArrayList<>();
    manager =
        new ComputeManager(
            driver,
            conductor,
            new ImageSourceFactory() {
              @Override
              public io.virga.virt.ImageSource forInstance(io.virga.core.Instance i) {
                return IMAGES;
              }

              @Override
              public io.virga.virt.SnapshotUpload forSnapshot(
                  io.virga.core.Instance i, String imageId) {
                return (file, fmt) -> uploads.add(imageId + " " + fmt);
              }
            },
            options());
    manager.start();
    api(uuid, TaskState.IMAGE_SNAPSHOT_PENDING, u -> manager.snapshotInstance(u, "snap-1"));
    idle();
    assertThat(uploads).containsExactly("snap-1 raw");
    assertThat(conductor.taskHistory(uuid))
        .endsWith(
            "image_snapshot_pending",
            "image_snapshot",
            "image_pending_upload",
            "image_uploading",
            "none");
  }

  @Test
  void filesLeftByAFailedDeleteAreCleanedByThePeriodicTask() {
    manager.close();
    startManager(options().withIntervals(LONG, LONG, Duration.ofMillis(100)));
    String uuid = booted();
    driver.faults().failNext(Op.DELETE_FILES, () -> new VirgaException("delete: device busy"));
    driver.faults().failNext(Op.CLEANUP, () -> new VirgaException("still busy"));
    manager.terminateInstance(uuid);
    idle();
    assertThat(conductor.destroyed).containsExactly(uuid);
    assertThat(driver.leftovers()).containsExactly(uuid);
    await().atMost(Duration.ofSeconds(5)).until(() -> driver.leftovers().isEmpty());
    await().until(() -> manager.pendingDeletes().pending().isEmpty());
  }

  @Test
  void everyDeleteIsPassedToTheLeftoverCleanupOnce() {
    String uuid = booted();
    manager.terminateInstance(uuid);
    idle();
    // a driver that leaves files without failing the delete still gets them cleaned
    assertThat(manager.pendingDeletes().pending()).containsExactly(uuid);
    manager.pendingDeletes().run();
    assertThat(manager.pendingDeletes().pending()).isEmpty();
  }

  @Test
  void aChangeIsReportedWithTheNextHeartbeatAndResourcesPeriodically() {
    manager.close();
    startManager(options().withReportInterval(Duration.ofMillis(200)));
    await().until(() -> !conductor.reports.isEmpty());
    assertThat(conductor.lastReport().memoryMbUsed()).isZero();
    assertThat(conductor.lastReport().host()).isEqualTo("host1");
    String uuid = booted();
    await()
        .untilAsserted(
            () -> {
              assertThat(conductor.lastReport().memoryMbUsed()).isEqualTo(128);
              assertThat(conductor.lastReport().runningVms()).isEqualTo(1);
            });
    manager.terminateInstance(uuid);
    idle();
    await().untilAsserted(() -> assertThat(conductor.lastReport().memoryMbUsed()).isZero());
    // nothing changed since: the heartbeats go on, light, and no further report is sent
    int reports = conductor.reports.size();
    int heartbeats = conductor.heartbeats.size();
    await().until(() -> conductor.heartbeats.size() >= heartbeats + 3);
    assertThat(conductor.reports).hasSize(reports);

    manager.close();
    conductor.reports.clear();
    startManager(options().withIntervals(Duration.ofMillis(100), LONG, LONG));
    await().atMost(Duration.ofSeconds(5)).until(() -> conductor.reports.size() >= 4);
  }

  @Test
  void theHeartbeatMarksTheServiceSeenAndStopsWhileTheHypervisorIsDown() {
    manager.close();
    conductor.reports.clear();
    conductor.heartbeats.clear();
    startManager(heartbeatEvery(Duration.ofMillis(100)));
    // light: after the start's full report, heartbeats only mark the service seen
    await().atMost(Duration.ofSeconds(5)).until(() -> conductor.heartbeats.size() >= 2);
    int full = conductor.reports.size();
    await().atMost(Duration.ofSeconds(5)).until(() -> conductor.heartbeats.size() >= 5);
    assertThat(conductor.reports).hasSize(full);
    driver.hostUp(false);
    sleep(300); // a heartbeat already running may still land
    int whileDown = conductor.heartbeats.size();
    sleep(500);
    assertThat(conductor.heartbeats).hasSize(whileDown);
    driver.hostUp(true);
    await().atMost(Duration.ofSeconds(5)).until(() -> conductor.heartbeats.size() > whileDown + 2);
    assertThat(conductor.reports).hasSize(full);
  }

  @Test
  void heartbeatsGoOnWhileAPeriodicTaskIsStuck() {
    manager.close();
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch entered = block(Op.IMAGE_CACHE, release);
    try {
      startManager(
          heartbeatEvery(Duration.ofMillis(100)).withImageCacheInterval(Duration.ofMillis(50)));
      waitFor(entered);
      // the image-cache pass holds the periodic thread; the host must not look down meanwhile
      int before = conductor.heartbeats.size();
      await().atMost(Duration.ofSeconds(5)).until(() -> conductor.heartbeats.size() >= before + 3);
    } finally {
      release.countDown();
    }
  }

  @Test
  void aHeartbeatTheControlPlaneDoesNotKnowSendsTheFullReport() {
    manager.close();
    conductor.reports.clear();
    startManager(heartbeatEvery(Duration.ofMillis(100)));
    await().atMost(Duration.ofSeconds(5)).until(() -> conductor.heartbeats.size() >= 2);
    int full = conductor.reports.size();
    conductor.serviceKnown = false; // the operator deleted the service record
    await().atMost(Duration.ofSeconds(5)).until(() -> conductor.reports.size() >= full + 2);
    assertThat(conductor.lastReport().host()).isEqualTo("host1");
  }

  private ComputeOptions heartbeatEvery(Duration interval) {
    ComputeOptions o = options();
    return new ComputeOptions(
        LONG,
        interval,
        LONG,
        o.shutdownTimeout(),
        o.shutdownRetryInterval(),
        o.instanceWorkers(),
        o.stoppedEventDelay(),
        LONG,
        o.myIp(),
        LONG);
  }

  /** The driver's {@code op} blocks until {@code release}; the latch returned opens on entry. */
  private CountDownLatch block(Op op, CountDownLatch release) {
    CountDownLatch entered = new CountDownLatch(1);
    driver
        .faults()
        .hook(
            op,
            u -> {
              entered.countDown();
              waitFor(release);
            });
    return entered;
  }

  static void waitFor(CountDownLatch l) {
    try {
      if (!l.await(10, TimeUnit.SECONDS)) {
        throw new IllegalStateException("latch not released");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
