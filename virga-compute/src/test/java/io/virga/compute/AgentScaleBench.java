package io.virga.compute;

import static org.assertj.core.api.Assertions.assertThat;

import io.virga.core.ConductorApi;
import io.virga.core.TaskState;
import io.virga.core.VmState;
import io.virga.rpc.InProcessTransport;
import io.virga.rpc.Rpc;
import io.virga.virt.FakeDriver;
import io.virga.virt.FakeFaults.Op;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Control-plane scale benchmark (not part of the normal suite; run by {@code
 * bench/agent-scale.sh}). Boots N instances on one FakeDriver host through the ComputeManager, then
 * stops, starts and deletes them all, and prints the throughput of each phase. The conductor is the
 * in-memory fake, reached directly or over the in-process RPC transport (JSON both ways), so the
 * figures measure the agent and RPC, not a database. Every phase must end with every instance in
 * the right state.
 *
 * <p>System properties: {@code bench.n} (instances, 1000), {@code bench.workers} (instance worker
 * threads, 16), {@code bench.spawnMs} (simulated hypervisor time per spawn, 0), {@code bench.rpc}
 * (true: conductor over RPC).
 */
class AgentScaleBench {
  @Test
  void bootStopStartDelete() {
    int n = Integer.getInteger("bench.n", 1000);
    int workers = Integer.getInteger("bench.workers", 16);
    long spawnMs = Long.getLong("bench.spawnMs", 0);
    boolean rpc = Boolean.parseBoolean(System.getProperty("bench.rpc", "true"));
    round(Math.max(1, n / 10), workers, spawnMs, rpc, false); // warm-up: JIT, thread pools
    round(n, workers, spawnMs, rpc, true);
  }

  private void round(int n, int workers, long spawnMs, boolean rpc, boolean print) {

    FakeDriver driver = new FakeDriver("bench-host", 100_000, 100_000_000, 1_000_000);
    if (spawnMs > 0) {
      driver.faults().delay(Op.SPAWN, Duration.ofMillis(spawnMs));
    }
    FakeConductor rows = new FakeConductor();
    InProcessTransport transport = new InProcessTransport();
    ConductorApi conductor = rows;
    if (rpc) {
      Rpc.serve(transport, Rpc.CONDUCTOR, ConductorApi.class, rows);
      conductor = Rpc.conductor(transport);
    }
    ComputeOptions options =
        ComputeOptions.defaults()
            .withInstanceWorkers(workers)
            .withShutdown(Duration.ZERO, Duration.ofSeconds(1));
    try (ComputeManager manager =
        new ComputeManager(driver, conductor, i -> AgentFixture.IMAGES, options)) {
      manager.start(); // before the rows exist: recovery would rightly fail stuck builds
      List<String> uuids = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        String uuid = UUID.randomUUID().toString();
        rows.add(
            FakeConductor.newInstance(
                uuid, "bench-host", VmState.BUILDING, Optional.of(TaskState.SCHEDULING)));
        uuids.add(uuid);
      }
      if (print) {
        System.out.printf(
            Locale.ROOT,
            "agent-scale: n=%d workers=%d spawnMs=%d conductor=%s cores=%d%n",
            n,
            workers,
            spawnMs,
            rpc ? "in-process-rpc" : "direct",
            Runtime.getRuntime().availableProcessors());
      }
      phase(
          "boot",
          n,
          print,
          manager,
          () ->
              uuids.forEach(
                  u ->
                      manager.buildAndRunInstance(
                          u, java.util.Optional.empty(), java.util.Optional.empty())));
      check(rows, uuids, VmState.ACTIVE);
      phase("stop", n, print, manager, () -> uuids.forEach(manager::stopInstance));
      check(rows, uuids, VmState.STOPPED);
      phase("start", n, print, manager, () -> uuids.forEach(manager::startInstance));
      check(rows, uuids, VmState.ACTIVE);
      phase("delete", n, print, manager, () -> uuids.forEach(manager::terminateInstance));
      assertThat(rows.destroyed).hasSize(n);
      assertThat(driver.listInstanceUuids()).isEmpty();
      assertThat(driver.imageFetchCount(FakeConductor.IMAGE.id())).isEqualTo(1);
    } finally {
      transport.close();
      driver.close();
    }
  }

  private static void phase(
      String name, int n, boolean print, ComputeManager manager, Runnable cast) {
    long t0 = System.nanoTime();
    cast.run();
    assertThat(manager.awaitIdle(Duration.ofMinutes(10))).isTrue();
    double s = (System.nanoTime() - t0) / 1e9;
    if (!print) {
      return;
    }
    System.out.printf(
        Locale.ROOT,
        "agent-scale: %-6s %6d instances in %7.3f s = %8.0f instances/s%n",
        name,
        n,
        s,
        n / s);
  }

  private static void check(FakeConductor rows, List<String> uuids, VmState vm) {
    for (String u : uuids) {
      var row = rows.row(u).orElseThrow();
      assertThat(row.vmState()).as(u).isEqualTo(vm);
      assertThat(row.taskState()).as(u).isEmpty();
    }
  }
}
