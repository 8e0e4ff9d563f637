package io.virga.libvirt;

import static org.assertj.core.api.Assertions.assertThat;

import io.virga.core.PowerState;
import io.virga.tinyguest.TinyGuest;
import io.virga.virt.InstanceSpec;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Boot variants on real libvirt + qemu (TCG): direct kernel boot, ACPI-deaf guests, 8 at once. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LibvirtDriverBootIT {
  private static final Duration BOOT = Duration.ofSeconds(120);
  private LibvirtDriverFixture fx;

  @BeforeAll
  void setUp() {
    fx = new LibvirtDriverFixture();
  }

  @AfterAll
  void tearDown() {
    if (fx != null) {
      fx.close();
    }
  }

  @Test
  void directKernelBootFromKernelAndRamdiskImages() throws Exception {
    var image = fx.kernelBootImage();
    InstanceSpec spec =
        fx.spawn(
            fx.spec(
                "kernel-boot", LibvirtDriverFixture.flavor(128, 0, 0), image, Optional.empty()));
    fx.awaitConsole(spec, "VIRGA-GUEST-UP uuid=" + spec.uuid() + " ", BOOT);
    String xml = Files.readString(fx.instanceDir(spec).resolve("libvirt.xml"));
    var base = fx.driver.options().baseDir();
    assertThat(xml)
        .contains(
            "<kernel>"
                + base.resolve(ImageCache.baseName(image.property("kernel_id").orElseThrow()))
                + "</kernel>")
        .contains(
            "<initrd>"
                + base.resolve(ImageCache.baseName(image.property("ramdisk_id").orElseThrow()))
                + "</initrd>")
        .contains("<cmdline>" + TinyGuest.KERNEL_CMDLINE + "</cmdline>");
    fx.driver.destroy(spec, true);
    fx.assertNoDomain(spec);
  }

  @Test
  void aGuestThatIgnoresAcpiIsDestroyedAfterTheTimeout() {
    InstanceSpec spec =
        fx.spawn(
            fx.spec(
                "deaf",
                LibvirtDriverFixture.flavor(128, 0, 0),
                fx.diskImage(Map.of()),
                Optional.of("#!/bin/sh\nvirga-ignore-acpi\n")));
    fx.awaitConsole(spec, "VIRGA-ACPI-IGNORE on", BOOT);
    long t0 = System.nanoTime();
    fx.driver.powerOff(spec, Duration.ofSeconds(4), Duration.ofSeconds(1));
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertThat(fx.driver.getInfo(spec.uuid()).orElseThrow().powerState())
        .isEqualTo(PowerState.SHUTDOWN);
    assertThat(ms).as("waited for the timeout").isBetween(4_000L, 15_000L);
    Matcher m = Pattern.compile("VIRGA-ACPI-POWER ignored").matcher(fx.console(spec));
    int presses = 0;
    while (m.find()) {
      presses++;
    }
    assertThat(presses)
        .as("ACPI power button re-sent every retry interval")
        .isGreaterThanOrEqualTo(2);
    assertThat(fx.console(spec)).doesNotContain("VIRGA-POWEROFF");
    fx.driver.destroy(spec, true);
  }

  @Test
  void eightConcurrentSpawnsOfAnUncachedImageFetchItOnceAndAllBoot() throws Exception {
    // direct kernel boot: the shortest path to eight guests booting at once on two cores
    var image = fx.kernelBootImage();
    List<InstanceSpec> specs = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      specs.add(
          fx.spec("many-" + i, LibvirtDriverFixture.flavor(96, 0, 0), image, Optional.empty()));
    }
    try (ExecutorService pool = Executors.newFixedThreadPool(8)) {
      List<CompletableFuture<InstanceSpec>> all = new ArrayList<>();
      for (InstanceSpec s : specs) {
        all.add(CompletableFuture.supplyAsync(() -> fx.spawn(s), pool));
      }
      CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).join();
    }
    assertThat(fx.fetchCount(image.id())).as("fetches of the shared base").isEqualTo(1);
    assertThat(fx.fetchCount(image.property("kernel_id").orElseThrow())).isEqualTo(1);
    assertThat(fx.fetchCount(image.property("ramdisk_id").orElseThrow())).isEqualTo(1);
    for (InstanceSpec s : specs) {
      fx.awaitConsole(s, "VIRGA-GUEST-UP uuid=" + s.uuid() + " ", Duration.ofSeconds(240));
    }
    fx.assertNoPartFiles();
    for (InstanceSpec s : specs) {
      fx.driver.destroy(s, true);
      fx.assertNoDomain(s);
    }
  }

  @Test
  void rawImagesTypeAndAForcedConfigDrive() throws Exception {
    try (var raw =
        new LibvirtDriverFixture(Map.of("images_type", "raw", "force_config_drive", "true"))) {
      InstanceSpec spec =
          LibvirtDriverFixture.withConfigDrive(
              raw.spec(
                  "flat",
                  LibvirtDriverFixture.flavor(128, 0, 0),
                  raw.kernelBootImage(),
                  Optional.empty()),
              false);
      raw.spawn(spec);
      // the user asked for none; force_config_drive gave the guest its uuid anyway
      raw.awaitConsole(spec, "VIRGA-GUEST-UP uuid=" + spec.uuid() + " ", BOOT);
      String xml = Files.readString(raw.instanceDir(spec).resolve("libvirt.xml"));
      assertThat(xml).contains("<driver cache=\"none\" name=\"qemu\" type=\"raw\"/>");
      assertThat(
              new QemuImg().info(raw.instanceDir(spec).resolve("disk"), "raw", true).backingFile())
          .isEmpty();
      assertThat(raw.console(spec)).contains("VIRGA-DISK vda bytes=" + (1L << 30));
    }
  }
}
