package io.virga.compute;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.virga.core.ComputeAgentApi;
import io.virga.core.ConductorApi;
import io.virga.core.Instance;
import io.virga.core.InstanceUpdate;
import io.virga.core.TaskState;
import io.virga.core.VmState;
import io.virga.rpc.InProcessTransport;
import io.virga.rpc.Rpc;
import io.virga.rpc.RpcTransport;
import io.virga.virt.FakeFaults.Op;
import io.virga.virt.ImageSource;
import io.virga.virt.SnapshotUpload;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A cast delivered twice (a publisher's retry, a broker's redelivery) or late is harmless: the
 * second delivery finds the task the first one ended and is dropped, through the real RPC path
 * (messages encoded by {@link Rpc}, dispatched by {@link Rpc#serve} to the {@link ComputeManager}).
 */
class RepeatedCastTest extends AgentFixture {
  private final InProcessTransport wire = new InProcessTransport();
  private final RepeatingTransport transport = new RepeatingTransport(wire);
  private final Map<Op, AtomicInteger> driverCalls = new ConcurrentHashMap<>();
  private final List<String> uploads = new CopyOnWriteArrayList<>();
  private RpcTransport.Listener conductorListener;
  private RpcTransport.Listener agentListener;
  private ComputeAgentApi agent;

  @BeforeEach
  void wire() {
    conductorListener = Rpc.serve(wire, Rpc.CONDUCTOR, ConductorApi.class, conductor);
    manager =
        new ComputeManager(
            driver,
            Rpc.conductor(wire),
            new ImageSourceFactory() {
              @Override
              public ImageSource forInstance(Instance i) {
                return IMAGES;
              }

              @Override
              public SnapshotUpload forSnapshot(Instance i, String imageId) {
                return (file, fmt) -> uploads.add(imageId);
              }

              @Override
              public void abandonSnapshot(Instance i, Optional<String> imageId) {
                // the image is active after the first delivery: the image API keeps it
              }
            },
            options());
    manager.start();
    agentListener = Rpc.serve(wire, Rpc.computeTopic("host1"), ComputeAgentApi.class, manager);
    agent = Rpc.computeAgent(transport, "host1");
    for (Op op : Op.values()) {
      driver
          .faults()
          .hook(
              op, u -> driverCalls.computeIfAbsent(op, k -> new AtomicInteger()).incrementAndGet());
    }
  }

  @AfterEach
  void unwire() {
    agentListener.close();
    conductorListener.close();
    wire.close();
  }

  @Test
  void everyCastDeliveredTwiceActsOnce() {
    transport.deliveries = 2;
    String uuid = scheduled();
    agent.buildAndRunInstance(uuid, Optional.empty(), Optional.empty());
    settle(uuid, VmState.ACTIVE);
    api(uuid, TaskState.POWERING_OFF, agent::stopInstance);
    settle(uuid, VmState.STOPPED);
    api(uuid, TaskState.POWERING_ON, agent::startInstance);
    settle(uuid, VmState.ACTIVE);
    api(uuid, TaskState.REBOOTING, u -> agent.rebootInstance(u, false));
    settle(uuid, VmState.ACTIVE);
    api(uuid, TaskState.PAUSING, agent::pauseInstance);
    settle(uuid, VmState.PAUSED);
    api(uuid, TaskState.UNPAUSING, agent::unpauseInstance);
    settle(uuid, VmState.ACTIVE);
    api(uuid, TaskState.SUSPENDING, agent::suspendInstance);
    settle(uuid, VmState.SUSPENDED);
    api(uuid, TaskState.RESUMING, agent::resumeInstance);
    settle(uuid, VmState.ACTIVE);
    api(uuid, TaskState.IMAGE_SNAPSHOT_PENDING, u -> agent.snapshotInstance(u, "snap-1"));
    settle(uuid, VmState.ACTIVE);
    assertThat(transport.casts.get()).as("casts sent, each delivered twice").isEqualTo(9);

    assertThat(calls(Op.SPAWN)).as("spawns").isEqualTo(1);
    assertThat(calls(Op.POWER_OFF)).as("power-offs (stop)").isEqualTo(1);
    assertThat(calls(Op.POWER_ON)).as("power-ons (start)").isEqualTo(1);
    assertThat(calls(Op.REBOOT)).as("reboots").isEqualTo(1);
    assertThat(calls(Op.PAUSE) + calls(Op.UNPAUSE)).isEqualTo(2);
    assertThat(calls(Op.SUSPEND) + calls(Op.RESUME)).isEqualTo(2);
    assertThat(uploads).containsExactly("snap-1");
    assertThat(conductor.taskHistory(uuid))
        .containsExactly(
            "scheduling",
            "networking",
            "block_device_mapping",
            "spawning",
            "none",
            "powering_off",
            "none",
            "powering_on",
            "none",
            "rebooting",
            "reboot_pending",
            "reboot_started",
            "none",
            "pausing",
            "none",
            "unpausing",
            "none",
            "suspending",
            "none",
            "resuming",
            "none",
            "image_snapshot_pending",
            "image_snapshot",
            "image_pending_upload",
            "image_uploading",
            "none");
    assertThat(conductor.faults).isEmpty();

    // delete: the API sets deleting whatever the task, the terminate arrives twice
    conductor.forceUpdateInstance(uuid, InstanceUpdate.none().task(TaskState.DELETING));
    agent.terminateInstance(uuid);
    await().atMost(Duration.ofSeconds(10)).until(() -> conductor.row(uuid).isEmpty());
    idleAfterDeliveries();
    assertThat(conductor.destroyed).containsExactly(uuid);
    assertThat(calls(Op.DESTROY)).as("destroys").isEqualTo(1);
    assertThat(conductor.faults).isEmpty();
  }

  @Test
  void aStopDeliveredAgainAfterALaterStartLeavesTheServerRunning() {
    String uuid = scheduled();
    agent.buildAndRunInstance(uuid, Optional.empty(), Optional.empty());
    settle(uuid, VmState.ACTIVE);
    api(uuid, TaskState.POWERING_OFF, agent::stopInstance);
    settle(uuid, VmState.STOPPED);
    byte[] stop = transport.last;
    api(uuid, TaskState.POWERING_ON, agent::startInstance);
    settle(uuid, VmState.ACTIVE);
    api(uuid, TaskState.REBOOTING_HARD, u -> agent.rebootInstance(u, true));
    settle(uuid, VmState.ACTIVE);
    byte[] reboot = transport.last;
    int historyBefore = conductor.taskHistory(uuid).size();

    // the old stop and the old reboot arrive again, long after they were done
    wire.cast(Rpc.computeTopic("host1"), stop);
    wire.cast(Rpc.computeTopic("host1"), reboot);
    idleAfterDeliveries();

    assertThat(row(uuid).vmState()).isEqualTo(VmState.ACTIVE);
    assertThat(row(uuid).taskState()).isEmpty();
    assertThat(driver.powerState(uuid)).contains(io.virga.core.PowerState.RUNNING);
    assertThat(conductor.taskHistory(uuid)).hasSize(historyBefore);
    assertThat(calls(Op.POWER_OFF)).isEqualTo(1);
    assertThat(calls(Op.REBOOT)).isEqualTo(1);
    assertThat(conductor.faults).isEmpty();
  }

  private int calls(Op op) {
    return driverCalls.getOrDefault(op, new AtomicInteger()).get();
  }

  /** Waits for the instance to reach {@code vm} with no task, then for every delivery to run. */
  private void settle(String uuid, VmState vm) {
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> row(uuid).vmState() == vm && row(uuid).taskState().isEmpty());
    idleAfterDeliveries();
    assertThat(row(uuid).vmState()).isEqualTo(vm);
    assertThat(row(uuid).taskState()).isEmpty();
  }

  /**
   * The repeated deliveries reach the manager's queue on RPC threads: give them time, then idle.
   */
  private void idleAfterDeliveries() {
    try {
      Thread.sleep(200);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    idle();
  }

  /** Delivers every cast {@code deliveries} times; calls pass once. Remembers the last cast. */
  static final class RepeatingTransport implements RpcTransport {
    private final RpcTransport inner;
    volatile int deliveries = 1;
    volatile byte[] last;
    final AtomicInteger casts = new AtomicInteger();

    RepeatingTransport(RpcTransport inner) {
      this.inner = inner;
    }

    @Override
    public void cast(String topic, byte[] message) {
      casts.incrementAndGet();
      last = message.clone();
      for (int i = 0; i < deliveries; i++) {
        inner.cast(topic, message.clone());
      }
    }

    @Override
    public CompletableFuture<byte[]> call(String topic, byte[] message, Duration timeout) {
      return inner.call(topic, message, timeout);
    }

    @Override
    public Listener listen(String topic, Handler handler) {
      return inner.listen(topic, handler);
    }

    @Override
    public void close() {}
  }
}
