package io.virga.libvirt;

import io.virga.tinyguest.TinyGuest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.libvirt.Connect;

/**
 * Snapshot benchmark (run by bench/snapshot.sh; not a test): the tiny guest runs over a raw base
 * with 16 MiB of data in its qcow2 overlay. Each run times, in rotating order, the floor ({@code
 * qemu-img convert -U -f qcow2 -O qcow2} of the same running disk), a live snapshot and a cold
 * snapshot (managedSave, convert, restore), and notes the largest gap between the guest's TICK
 * lines around each snapshot. Prints every run, then medians and ratios.
 */
final class SnapshotBench {
  private SnapshotBench() {}

  public static void main(String[] args) throws Exception {
    int runs = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    Path home = Files.createTempDirectory("virga-snapbench-");
    Path instances = home.resolve("instances");
    Path instanceDir = Files.createDirectories(instances.resolve(UUID.randomUUID().toString()));
    QemuImg qemuImg = new QemuImg();
    TinyGuest.Artifacts guest = TinyGuest.ensureBuilt(TinyGuest.defaultCacheDir());
    Path base = home.resolve("base.raw");
    qemuImg.convert(guest.disk(), "qcow2", base, "raw", false);
    Path disk = instanceDir.resolve("disk");
    qemuImg.createOverlay(disk, base, "raw", 64L << 20);
    // data the snapshot must copy, past the end of the guest's filesystem
    SnapshotTestImages.run(
        "qemu-io", "-f", "qcow2", "-c", "write -P 0x3c 40M 16M", disk.toString());
    DiskInfo.record(instanceDir, "disk", io.virga.core.DiskFormat.QCOW2);

    Connect conn = new Connect("qemu:///system");
    LibvirtHost host = new LibvirtHost("qemu:///system");
    SnapshotTestDomain dom =
        SnapshotTestDomain.define(conn, "virga-snapbench", instanceDir, "qcow2", Optional.empty());
    SnapshotFlow live = new SnapshotFlow(SnapshotOptions.defaults(instances), qemuImg);
    SnapshotFlow cold =
        new SnapshotFlow(
            SnapshotOptions.defaults(instances).withLiveSnapshotDisabled(true), qemuImg);
    List<double[]> rows = new ArrayList<>();
    try (SnapshotConsoleWatch watch = new SnapshotConsoleWatch(dom.console)) {
      dom.domain.create();
      String uuid = dom.domain.getUUIDString();
      watch.awaitTick(2, 120_000);
      // warm-up, not counted: opens the libvirt connection and loads the classes
      live.snapshot(host, uuid, instanceDir, (f, fmt) -> {}, s -> {});
      System.out.printf(
          "%-4s %10s %10s %10s %12s %12s%n",
          "run", "floor_ms", "live_ms", "cold_ms", "live_gap_ms", "cold_gap_ms");
      for (int i = 0; i < runs; i++) {
        double[] r = new double[5];
        for (int k = 0; k < 3; k++) {
          int which = (i + k) % 3;
          long t0 = System.nanoTime();
          switch (which) {
            case 0 -> {
              Path out = home.resolve("floor.qcow2");
              SnapshotTestImages.run(
                  "qemu-img",
                  "convert",
                  "-U",
                  "-f",
                  "qcow2",
                  "-O",
                  "qcow2",
                  disk.toString(),
                  out.toString());
              Files.delete(out);
            }
            case 1 -> live.snapshot(host, uuid, instanceDir, (f, fmt) -> {}, s -> {});
            default -> cold.snapshot(host, uuid, instanceDir, (f, fmt) -> {}, s -> {});
          }
          long t1 = System.nanoTime();
          r[which] = (t1 - t0) / 1e6;
          if (which > 0) {
            // let two more ticks arrive so a stall at the end of the window is measured
            watch.awaitTick(watch.lastTick() + 2, 60_000);
            r[2 + which] = watch.maxGapMs(t0, t1);
          }
        }
        rows.add(r);
        System.out.printf(
            "%-4d %10.0f %10.0f %10.0f %12.0f %12.0f%n", i + 1, r[0], r[1], r[2], r[3], r[4]);
      }
      if (!watch.contiguous()) {
        System.out.println("WARNING: the TICK counter was not contiguous: " + watch.ticks());
      }
    } finally {
      dom.close();
      host.close();
      conn.close();
      SnapshotRecovery.deleteTree(home);
    }
    double floor = median(rows, 0);
    double liveMs = median(rows, 1);
    double coldMs = median(rows, 2);
    System.out.printf(
        "median over %d runs: floor %.0f ms, live %.0f ms (%.2fx floor), cold %.0f ms (%.2fx"
            + " floor); largest TICK gap: live %.0f ms, cold %.0f ms (a tick is 1000 ms)%n",
        runs,
        floor,
        liveMs,
        liveMs / floor,
        coldMs,
        coldMs / floor,
        median(rows, 3),
        median(rows, 4));
  }

  private static double median(List<double[]> rows, int col) {
    double[] v = rows.stream().mapToDouble(r -> r[col]).sorted().toArray();
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }
}
