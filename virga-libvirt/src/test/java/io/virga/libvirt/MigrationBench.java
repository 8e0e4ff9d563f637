package io.virga.libvirt;

import io.virga.core.Command;
import io.virga.core.Flavor;
import io.virga.core.ImageMeta;
import io.virga.core.PowerState;
import io.virga.virt.InstanceSpec;
import io.virga.virt.MigrationDisks;
import io.virga.virt.MigrationTarget;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * Migration benchmarks between two namespaced hosts (bench/README.md): {@code live} — the driver's
 * live migration flow against {@code virsh migrate --live --p2p} (with {@code --copy-storage-inc}
 * and a pre-created destination disk), interleaved, total time and downtime; {@code cold} — the
 * driver's cold migration of a stopped guest with 256 MiB written against a sparse copy of the same
 * files plus define and start on the destination.
 */
public final class MigrationBench {
  private static final Duration BOOT = Duration.ofSeconds(180);
  private final TwoHosts h;
  private final ImageMeta image;

  private MigrationBench(TwoHosts h) {
    this.h = h;
    this.image = h.one.diskImage(Map.of());
  }

  public static void main(String[] args) throws Exception {
    String mode = args.length > 0 ? args[0] : "live";
    int runs = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    try (TwoHosts h = new TwoHosts(false, Map.of())) {
      MigrationBench b = new MigrationBench(h);
      if (mode.equals("cold")) {
        b.cold(runs);
      } else {
        b.live(runs);
      }
    }
  }

  private InstanceSpec boot(int memoryMb, String userData, String waitFor) {
    Flavor f = new Flavor("b", "bench", memoryMb, 1, 1, 0, 0, Map.of());
    InstanceSpec s = h.one.spec("bench", f, image, Optional.of("#!/bin/sh\n" + userData));
    h.one.spawn(s);
    h.one.awaitConsole(s, waitFor, BOOT);
    return s;
  }

  private static Path console(LibvirtDriverFixture f, InstanceSpec s) {
    return f.instanceDir(s).resolve("console.log");
  }

  private static String virsh(String uri, String... args) {
    List<String> cmd = new ArrayList<>(List.of("virsh", "-c", uri));
    cmd.addAll(List.of(args));
    return Command.of(cmd).timeout(Duration.ofMinutes(5)).check().stdout().strip();
  }

  /**
   * libvirt's downtime of the last migration: the destination's completed job stats (the source
   * domain is gone with UNDEFINE_SOURCE); -1 when libvirt kept none.
   */
  private long downtimeMs(InstanceSpec s) {
    try (Guest g = h.two.driver.host().lookup(s.uuid()).orElseThrow()) {
      MigrationJobStats st = g.jobStats(true);
      if (st.type() == MigrationJobStats.COMPLETED) {
        return st.downtimeMs();
      }
      System.out.println("no completed job stats on the destination (type " + st.type() + ")");
      return -1;
    }
  }

  record Sample(long totalMs, long downtimeMs, long tickGapMs) {}

  /**
   * A cold sample: total time, and the copy of the disk data alone (Virga's transfer: from its
   * first progress report, at 0 bytes, to its last; the floor: the {@code cp} of the files).
   */
  record Cold(long totalMs, long copyMs, long dataBytes) {
    double mibPerSecond() {
      return dataBytes / 1048576.0 / Math.max(copyMs, 1) * 1000;
    }
  }

  private Sample virgaLive() throws Exception {
    InstanceSpec s = boot(128, "true\n", "TICK 3");
    long t0 = System.nanoTime();
    try (TickWatch w = new TickWatch(() -> List.of(console(h.one, s), console(h.two, s)))) {
      h.migrate(s, h.one, h.two, p -> {});
      long ms = (System.nanoTime() - t0) / 1_000_000;
      h.two.awaitConsole(s, "TICK \\d+", Duration.ofSeconds(30));
      long down = downtimeMs(s);
      Thread.sleep(2500);
      h.two.driver.destroy(s, true);
      return new Sample(ms, down, w.longestStillMs());
    }
  }

  /** virsh's floor: the destination disk pre-created (timed too), then virsh migrate. */
  private Sample virshLive() throws Exception {
    InstanceSpec s = boot(128, "true\n", "TICK 3");
    Path src = h.one.instanceDir(s);
    Path dst = h.two.instanceDir(s);
    long t0 = System.nanoTime();
    try (TickWatch w = new TickWatch(() -> List.of(console(h.one, s), console(h.two, s)))) {
      Files.createDirectories(dst);
      QemuImg q = new QemuImg();
      QemuImg.Info info = q.info(src.resolve("disk"), "qcow2", true);
      Path base = Path.of(info.backingFile().orElseThrow());
      Path destBase = h.two.driver.options().baseDir().resolve(base.getFileName());
      if (!Files.exists(destBase)) { // the driver's flow fetches it too; the first run pays it
        Files.createDirectories(destBase.getParent());
        Files.copy(base, destBase);
      }
      Files.copy(src.resolve("disk.config"), dst.resolve("disk.config"));
      q.createOverlay(
          dst.resolve("disk"), base, info.backingFormat().orElseThrow(), info.virtualSize());
      virsh(
          h.hosts.host(1).uri(),
          "migrate",
          "--live",
          "--p2p",
          "--persistent",
          "--undefinesource",
          "--copy-storage-inc",
          s.domainName(),
          h.hosts.host(2).tcpUri());
      long ms = (System.nanoTime() - t0) / 1_000_000;
      long down = downtimeMs(s);
      Thread.sleep(2500);
      h.two.driver.destroy(s, true);
      FileTreesQuiet.delete(src);
      return new Sample(ms, down, w.longestStillMs());
    }
  }

  private void live(int runs) throws Exception {
    virgaLive(); // warm-up: both hosts' base caches filled
    List<Sample> virga = new ArrayList<>();
    List<Sample> floor = new ArrayList<>();
    for (int i = 0; i < runs; i++) {
      if (i % 2 == 0) {
        virga.add(virgaLive());
        floor.add(virshLive());
      } else {
        floor.add(virshLive());
        virga.add(virgaLive());
      }
      System.out.printf("run %d: virga %s | virsh %s%n", i + 1, virga.getLast(), floor.getLast());
    }
    report("live block migration, 128 MiB tiny guest", virga, floor);
  }

  private static long median(List<Long> v) {
    List<Long> s = v.stream().sorted().toList();
    return s.get(s.size() / 2);
  }

  private static void report(String what, List<Sample> virga, List<Sample> floor) {
    long vt = median(virga.stream().map(Sample::totalMs).toList());
    long ft = median(floor.stream().map(Sample::totalMs).toList());
    long vd = median(virga.stream().map(Sample::downtimeMs).toList());
    long fd = median(floor.stream().map(Sample::downtimeMs).toList());
    long vg = median(virga.stream().map(Sample::tickGapMs).toList());
    long fg = median(floor.stream().map(Sample::tickGapMs).toList());
    System.out.printf(
        "%n== %s, %d runs (medians)%n total    virga %6d ms  floor %6d ms  ratio %.2f%n"
            + " downtime virga %6d ms  floor %6d ms  ratio %.2f (libvirt job stats)%n"
            + " TICK gap virga %6d ms  floor %6d ms  ratio %.2f%n",
        what,
        virga.size(),
        vt,
        ft,
        (double) vt / ft,
        vd,
        fd,
        (double) vd / Math.max(fd, 1),
        vg,
        fg,
        (double) vg / Math.max(fg, 1));
  }

  /** A stopped guest with 256 MiB of non-zero data written past its filesystem. */
  private InstanceSpec stoppedWithData() {
    InstanceSpec s =
        boot(
            128,
            // one MiB of 'x' made once (busybox tr is slow under TCG), written 256 times
            "dd if=/dev/zero bs=1048576 count=1 2>/dev/null | tr '\\000' 'x' > /run/blk\n"
                + "i=0; while [ $i -lt 256 ]; do cat /run/blk; i=$((i + 1)); done"
                + " | dd of=/dev/vda bs=1048576 seek=512 conv=fsync 2>/dev/null\n"
                + "echo VIRGA-DATA-WRITTEN\n",
            "VIRGA-DATA-WRITTEN");
    h.one.driver.powerOff(s, Duration.ofSeconds(30), Duration.ofSeconds(3));
    return s;
  }

  private Cold virgaCold() {
    InstanceSpec s = stoppedWithData();
    long[] first = {0};
    long[] last = {0};
    long[] bytes = {0};
    long t0 = System.nanoTime();
    MigrationTarget t = h.two.driver.prepareMigrationTarget(s, UUID.randomUUID().toString());
    MigrationDisks d =
        h.one.driver.migrateDiskAndPowerOff(
            s,
            s.flavor(),
            t,
            Duration.ofSeconds(30),
            Duration.ofSeconds(3),
            p -> {
              long now = System.nanoTime();
              if (first[0] == 0) {
                first[0] = now;
              }
              last[0] = now;
              bytes[0] = p.diskProcessed();
            });
    h.two.driver.finishMigration(s, d, h.one.images, true);
    long ms = (System.nanoTime() - t0) / 1_000_000;
    h.one.driver.confirmMigration(s);
    h.two.driver.destroy(s, true);
    return new Cold(ms, (last[0] - first[0]) / 1_000_000, bytes[0]);
  }

  /** The floor: cp --sparse of the same files, define the same XML there, start. */
  private Cold floorCold() {
    InstanceSpec s = stoppedWithData();
    Path src = h.one.instanceDir(s);
    Path dst = h.two.instanceDir(s);
    long t0 = System.nanoTime();
    try {
      Files.createDirectories(dst);
      long copy0 = System.nanoTime();
      for (String f : List.of("disk", "disk.info", "disk.config", "console.log")) {
        Command.of("cp", "--sparse=always", src.resolve(f).toString(), dst.resolve(f).toString())
            .check();
      }
      long copyMs = (System.nanoTime() - copy0) / 1_000_000;
      // inside host 2, host 1's paths show host 2's instances: the same XML is valid there
      String xml = Files.readString(src.resolve("libvirt.xml"));
      try (Guest g = h.two.driver.host().define(xml)) {
        g.launch(false);
        g.waitFor(PowerState.RUNNING, Duration.ofSeconds(60));
      }
      long ms = (System.nanoTime() - t0) / 1_000_000;
      long data = 0;
      for (String f : List.of("disk", "disk.info", "disk.config", "console.log")) {
        Path p = src.resolve(f);
        data += SparseFiles.dataExtents(p, Files.size(p)).stream().mapToLong(e -> e.length()).sum();
      }
      h.one.driver.destroy(s, true);
      h.two.driver.destroy(s, true);
      return new Cold(ms, copyMs, data);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private void cold(int runs) {
    virgaCold(); // warm-up: host 2's base cache filled
    List<Cold> virga = new ArrayList<>();
    List<Cold> floor = new ArrayList<>();
    for (int i = 0; i < runs; i++) {
      if (i % 2 == 0) {
        virga.add(virgaCold());
        floor.add(floorCold());
      } else {
        floor.add(floorCold());
        virga.add(virgaCold());
      }
      System.out.printf("run %d: virga %s | floor %s%n", i + 1, virga.getLast(), floor.getLast());
    }
    long vt = median(virga.stream().map(Cold::totalMs).toList());
    long ft = median(floor.stream().map(Cold::totalMs).toList());
    double vr = medianD(virga.stream().map(Cold::mibPerSecond).toList());
    double fr = medianD(floor.stream().map(Cold::mibPerSecond).toList());
    System.out.printf(
        "%n== cold migration of a stopped guest with 256 MiB written, %d runs (medians)%n"
            + " total virga %d ms  floor (cp --sparse + define + start) %d ms  ratio %.2f%n"
            + " copy of the data: virga transfer %.0f MiB/s  floor cp --sparse %.0f MiB/s"
            + "  (virga/floor %.2f)%n",
        runs, vt, ft, (double) vt / ft, vr, fr, vr / fr);
  }

  private static double medianD(List<Double> v) {
    List<Double> s = v.stream().sorted().toList();
    return s.get(s.size() / 2);
  }

  /** Removes a directory tree, ignoring what is already gone. */
  static final class FileTreesQuiet {
    static void delete(Path p) {
      io.virga.core.FileTrees.deleteTree(p);
    }
  }
}
