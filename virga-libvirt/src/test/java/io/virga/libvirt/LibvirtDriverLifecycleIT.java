package io.virga.libvirt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.virga.core.PowerState;
import io.virga.core.TaskState;
import io.virga.virt.HostResources;
import io.virga.virt.InstanceSpec;
import io.virga.virt.LifecycleEvent;
import io.virga.virt.RebootType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.xmlunit.builder.Input;
import org.xmlunit.xpath.JAXPXPathEngine;

/**
 * One tiny guest taken through its whole life on real libvirt + qemu (TCG): spawn with ephemeral,
 * swap and config drive under a hostile display name, then pause, suspend, stop, start, reboots and
 * delete. The steps share the guest (a boot costs seconds) and run in order.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LibvirtDriverLifecycleIT {
  private static final Duration BOOT = Duration.ofSeconds(90);
  static final String HOSTILE = "it's \"a\" <b>bold</b> & ]]> name";

  private LibvirtDriverFixture fx;
  private InstanceSpec spec;
  private final List<TaskState> taskStates = Collections.synchronizedList(new ArrayList<>());
  private final List<LifecycleEvent.Transition> events = new CopyOnWriteArrayList<>();

  @BeforeAll
  void spawn() {
    fx = new LibvirtDriverFixture();
    spec =
        fx.spec(
            HOSTILE,
            LibvirtDriverFixture.flavor(128, 1, 64),
            fx.diskImage(Map.of()),
            Optional.empty());
    fx.driver.registerLifecycleListener(
        e -> {
          if (e.uuid().equals(spec.uuid())) {
            events.add(e.transition());
          }
        });
    fx.driver.spawn(spec, fx.images, taskStates::add);
  }

  @AfterAll
  void cleanup() {
    if (fx != null) {
      fx.close();
    }
  }

  /** The lifecycle event libvirt sends for what we just did reaches the listener. */
  private void awaitEvent(LifecycleEvent.Transition t) {
    await().atMost(Duration.ofSeconds(20)).until(() -> events.contains(t));
    events.clear();
  }

  private String libvirtXml() {
    try (Guest g = fx.driver.host().lookup(spec.uuid()).orElseThrow()) {
      return g.xml(2); // VIR_DOMAIN_XML_INACTIVE: the persistent definition
    }
  }

  private static String xpath(String xml, String expr) {
    var engine = new JAXPXPathEngine();
    engine.setNamespaceContext(Map.of("nova", GuestXmlWriter.NOVA_NS));
    return engine.evaluate(expr, Input.fromString(xml).build());
  }

  @Test
  @Order(1)
  void spawnReachesRunningAndTheGuestReadsItsUuidFromTheConfigDrive() {
    assertThat(taskStates)
        .containsExactly(TaskState.NETWORKING, TaskState.BLOCK_DEVICE_MAPPING, TaskState.SPAWNING);
    assertThat(fx.driver.getInfo(spec.uuid()).orElseThrow().powerState())
        .isEqualTo(PowerState.RUNNING);
    fx.awaitConsole(spec, "VIRGA-GUEST-UP uuid=" + spec.uuid() + " ", BOOT);
    assertThat(fx.driver.listInstanceUuids()).contains(spec.uuid());
    awaitEvent(LifecycleEvent.Transition.STARTED);
  }

  @Test
  @Order(2)
  void instanceDirAndBaseLookAsDesignSixSays() throws Exception {
    Path dir = fx.instanceDir(spec);
    for (String f :
        List.of(
            "disk",
            "disk.local",
            "disk.swap",
            "disk.config",
            "disk.info",
            "console.log",
            "libvirt.xml")) {
      assertThat(dir.resolve(f)).as(f).isRegularFile();
    }
    Path base = fx.driver.options().baseDir();
    assertThat(base.resolve(ImageCache.baseName(spec.image().id()))).isRegularFile();
    try (var files = Files.list(base)) {
      List<String> names = files.map(p -> p.getFileName().toString()).toList();
      assertThat(names).anyMatch(n -> n.startsWith("ephemeral_1_")).contains("swap_64");
      assertThat(names).noneMatch(n -> n.endsWith(".part"));
    }
    var info = new QemuImg().info(dir.resolve("disk"), "qcow2", true);
    assertThat(info.backingFile())
        .contains(base.resolve(ImageCache.baseName(spec.image().id())).toString());
    assertThat(info.backingFormat()).contains("raw");
    assertThat(info.virtualSize()).isEqualTo(1L << 30);
  }

  @Test
  @Order(3)
  void ephemeralAndSwapAppearInTheGuestWithTheFlavorsSizes() {
    fx.awaitConsole(spec, "VIRGA-GUEST-UP", BOOT);
    String console = fx.console(spec);
    assertThat(console).contains("VIRGA-DISK vda bytes=" + (1L << 30));
    assertThat(console).contains("VIRGA-DISK vdb bytes=" + (1L << 30) + " label=ephemeral0");
    assertThat(console).containsPattern("VIRGA-DISK vdc bytes=" + (64L << 20) + "( |\\r?\\n)");
  }

  @Test
  @Order(4)
  void libvirtXmlEqualsWhatLibvirtReportsForEveryFieldWeSet() throws Exception {
    String ours = Files.readString(fx.instanceDir(spec).resolve("libvirt.xml"));
    String theirs = libvirtXml();
    DomainXmlAssert.assertLibvirtKeepsEverythingWeSet(ours, theirs);
    // the diff must be able to fail: a changed value is caught
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                DomainXmlAssert.assertLibvirtKeepsEverythingWeSet(
                    ours.replace("<on_crash>destroy<", "<on_crash>restart<"), theirs))
        .isInstanceOf(AssertionError.class);
  }

  @Test
  @Order(5)
  void hostileDisplayNameSurvivesIntoValidXml() {
    String theirs = libvirtXml();
    assertThat(xpath(theirs, "/domain/metadata/nova:instance/nova:name")).isEqualTo(HOSTILE);
    assertThat(xpath(theirs, "/domain/name")).isEqualTo(spec.domainName());
  }

  @Test
  @Order(6)
  void pauseStopsTheTickCounterAndUnpauseContinuesIt() {
    fx.awaitConsole(spec, "TICK 2\\b", BOOT);
    fx.driver.pause(spec);
    awaitEvent(LifecycleEvent.Transition.PAUSED);
    assertThat(fx.driver.getInfo(spec.uuid()).orElseThrow().powerState())
        .isEqualTo(PowerState.PAUSED);
    int atPause = fx.lastTick(spec);
    Guest.sleep(3000);
    assertThat(fx.lastTick(spec)).as("ticks while paused").isLessThanOrEqualTo(atPause + 1);
    int paused = fx.lastTick(spec);
    fx.driver.unpause(spec);
    awaitEvent(LifecycleEvent.Transition.RESUMED);
    fx.awaitConsole(spec, "TICK " + (paused + 1) + "\\b", Duration.ofSeconds(20));
    assertTicksNeverRestarted();
  }

  @Test
  @Order(7)
  void suspendAndResumeKeepTheTickCounterGoing() {
    int before = fx.lastTick(spec);
    fx.driver.suspend(spec);
    awaitEvent(LifecycleEvent.Transition.SUSPENDED);
    assertThat(fx.driver.getInfo(spec.uuid()).orElseThrow().powerState())
        .isEqualTo(PowerState.SHUTDOWN);
    try (Guest g = fx.driver.host().lookup(spec.uuid()).orElseThrow()) {
      assertThat(g.hasManagedSave()).isTrue();
    }
    fx.driver.resume(spec);
    assertThat(fx.driver.getInfo(spec.uuid()).orElseThrow().powerState())
        .isEqualTo(PowerState.RUNNING);
    fx.awaitConsole(spec, "TICK (" + (before + 2) + ")\\b", Duration.ofSeconds(30));
    assertTicksNeverRestarted();
  }

  /** The ticks the console shows are strictly increasing: the guest never rebooted. */
  private void assertTicksNeverRestarted() {
    Matcher m = Pattern.compile("TICK (\\d+)").matcher(fx.console(spec));
    int prev = 0;
    while (m.find()) {
      int n = Integer.parseInt(m.group(1));
      assertThat(n).as("tick after " + prev).isGreaterThan(prev);
      prev = n;
    }
    assertThat(prev).isGreaterThan(2);
  }

  @Test
  @Order(8)
  void cleanShutdownIsHonouredWithoutDestroy() {
    long t0 = System.nanoTime();
    fx.driver.powerOff(spec, Duration.ofSeconds(30), Duration.ofSeconds(5));
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertThat(fx.driver.getInfo(spec.uuid()).orElseThrow().powerState())
        .isEqualTo(PowerState.SHUTDOWN);
    awaitEvent(LifecycleEvent.Transition.STOPPED);
    assertThat(fx.console(spec)).contains("VIRGA-ACPI-POWER poweroff").contains("VIRGA-POWEROFF");
    assertThat(ms).as("shutdown took %d ms", ms).isLessThan(30_000);
  }

  @Test
  @Order(9)
  void powerOnBootsItAgain() {
    fx.driver.powerOn(spec, fx.images);
    awaitFreshBoot();
  }

  /** console.log is truncated at each qemu start (append=off): a fresh boot shows TICK 1 anew. */
  private void awaitFreshBoot() {
    fx.awaitConsole(spec, "VIRGA-GUEST-UP uuid=" + spec.uuid() + " ", BOOT);
    assertThat(fx.console(spec)).doesNotContain("VIRGA-POWEROFF");
    fx.awaitConsole(spec, "TICK 1\\b", BOOT);
  }

  @Test
  @Order(10)
  void softRebootShutsDownAndStartsAgain() {
    fx.awaitConsole(spec, "TICK 1\\b", BOOT);
    fx.driver.reboot(spec, RebootType.SOFT, fx.images);
    assertThat(fx.driver.getInfo(spec.uuid()).orElseThrow().powerState())
        .isEqualTo(PowerState.RUNNING);
    awaitFreshBoot();
  }

  @Test
  @Order(11)
  void hardRebootAfterTheBaseWasRemovedRecreatesItAndBoots() throws Exception {
    Path base = fx.driver.options().baseDir().resolve(ImageCache.baseName(spec.image().id()));
    int fetchesBefore = fx.fetchCount(spec.image().id());
    Files.delete(base);
    fx.driver.reboot(spec, RebootType.HARD, fx.images);
    assertThat(base).isRegularFile();
    assertThat(fx.fetchCount(spec.image().id())).isEqualTo(fetchesBefore + 1);
    awaitFreshBoot();
  }

  @Test
  @Order(12)
  void snapshotThroughTheDriverUploadsTheRootDiskWhileTheGuestRuns() throws Exception {
    Path out = fx.home.resolve("snapshot.out");
    String[] format = new String[1];
    List<TaskState> states = new ArrayList<>();
    int tick = fx.lastTick(spec);
    fx.driver.snapshot(
        spec,
        "snap-image",
        (file, diskFormat) -> {
          format[0] = diskFormat;
          try {
            Files.copy(file, out);
          } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        },
        states::add);
    assertThat(states).contains(TaskState.IMAGE_UPLOADING);
    assertThat(new QemuImg().info(out, format[0], false).virtualSize()).isEqualTo(1L << 30);
    assertThat(fx.driver.getInfo(spec.uuid()).orElseThrow().powerState())
        .isEqualTo(PowerState.RUNNING);
    fx.awaitConsole(spec, "TICK " + (tick + 2) + "\\b", Duration.ofSeconds(30));
  }

  @Test
  @Order(13)
  void diagnosticsCountTheRunningGuestsCpuMemoryAndDisks() {
    var d = fx.driver.getDiagnostics(spec);
    assertThat(d.state()).isEqualTo("running");
    assertThat(d.driver()).isEqualTo("libvirt");
    assertThat(d.hypervisor()).isIn("qemu", "kvm");
    assertThat(d.cpus()).hasSize(1);
    assertThat(d.cpus().get(0).timeNs()).isPositive();
    assertThat(d.memoryMaxKib()).isEqualTo(128 * 1024);
    assertThat(d.configDrive()).isTrue();
    assertThat(d.disks().get(0).device()).isEqualTo("vda");
    assertThat(d.disks().get(0).readBytes()).as("the guest booted from vda").isPositive();
    assertThat(d.disks().get(0).readRequests()).isPositive();
    assertThat(d.disks())
        .extracting(io.virga.core.InstanceDiagnostics.Disk::device)
        .contains("hdd");
  }

  @Test
  @Order(13)
  void availableResourcesDescribeThisHost() {
    HostResources r = fx.driver.getAvailableResource();
    assertThat(r.hypervisorType()).isEqualTo("QEMU");
    assertThat(r.hypervisorVersion()).isGreaterThan(7_000_000L); // qemu 7.x as Nova encodes it
    assertThat(r.vcpus()).isEqualTo(Runtime.getRuntime().availableProcessors());
    assertThat(r.vcpusUsed()).isGreaterThanOrEqualTo(1);
    assertThat(r.memoryMb()).isGreaterThan(r.memoryMbUsed()).isPositive();
    assertThat(r.localGb()).isPositive();
    assertThat(r.diskAvailableLeastGb()).isLessThanOrEqualTo(r.localGb() - r.localGbUsed());
    assertThat(r.cpuInfoJson()).contains("\"arch\":\"x86_64\"").contains("\"topology\"");
    assertThat(r.hypervisorHostname()).isEqualTo(fx.driver.hostname());
  }

  @Test
  @Order(14)
  void destroyRemovesTheDomainAndTheInstanceDirButNotTheBase() {
    fx.driver.destroy(spec, true);
    fx.assertNoDomain(spec);
    assertThat(fx.instanceDir(spec)).doesNotExist();
    assertThat(fx.driver.options().instancesPath().resolve(spec.uuid() + "_del")).doesNotExist();
    assertThat(fx.driver.options().baseDir().resolve(ImageCache.baseName(spec.image().id())))
        .isRegularFile();
    assertThat(fx.driver.cleanupLeftovers(List.of(spec.uuid()))).isEmpty();
  }
}
