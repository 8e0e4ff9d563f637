package io.virga.rpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.virga.core.ComputeAgentApi;
import io.virga.core.ConductorApi;
import io.virga.core.Flavor;
import io.virga.core.HostReport;
import io.virga.core.ImageMeta;
import io.virga.core.Instance;
import io.virga.core.InstanceUpdate;
import io.virga.core.InvalidStateException;
import io.virga.core.NotFoundException;
import io.virga.core.PowerState;
import io.virga.core.TaskState;
import io.virga.core.VmState;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.MDC;

/**
 * What every transport must do, run against each ({@link RpcTest} in-process, {@link
 * RabbitTransportIT} against a real broker).
 */
abstract class RpcContract {
  RpcTransport transport;

  abstract RpcTransport newTransport();

  @org.junit.jupiter.api.BeforeEach
  void open() {
    transport = newTransport();
  }

  @AfterEach
  void close() {
    if (transport != null) {
      transport.close();
    }
    MDC.clear();
  }

  static Instance instance(String uuid) {
    return new Instance(
        uuid,
        "vm",
        "vm",
        "p",
        "u",
        new Flavor("1", "m1.tiny", 128, 1, 1, 0, 0, Map.of("quota:cpu_shares", "512")),
        "img",
        VmState.ACTIVE,
        Optional.of(TaskState.POWERING_OFF),
        PowerState.RUNNING,
        Optional.of("host1"),
        "nova",
        Map.of("k", "v"),
        Optional.empty(),
        Optional.of("key"),
        Optional.empty(),
        true,
        0,
        0,
        Instant.now().truncatedTo(ChronoUnit.MILLIS),
        Optional.of(Instant.parse("2026-01-01T00:00:00Z")),
        42);
  }

  /** A conductor that records what it was asked, enough for the wire tests. */
  static class RecordingConductor implements ConductorApi {
    final Map<String, Instance> rows = new ConcurrentHashMap<>();
    final List<InstanceUpdate> updates = new CopyOnWriteArrayList<>();
    final List<String> requestIds = new CopyOnWriteArrayList<>();

    @Override
    public Instance getInstance(String uuid) {
      requestIds.add(String.valueOf(MDC.get(Rpc.REQUEST_ID)));
      Instance i = rows.get(uuid);
      if (i == null) {
        throw new NotFoundException("Instance " + uuid + " could not be found.");
      }
      return i;
    }

    @Override
    public List<Instance> instancesOnHost(String host) {
      return List.copyOf(rows.values());
    }

    @Override
    public Optional<Instance> updateInstance(
        String uuid, InstanceUpdate update, Optional<TaskState> expected) {
      updates.add(update);
      Instance i = getInstance(uuid);
      return expected.equals(i.taskState()) ? Optional.of(i) : Optional.empty();
    }

    @Override
    public Instance forceUpdateInstance(String uuid, InstanceUpdate update) {
      updates.add(update);
      return getInstance(uuid);
    }

    @Override
    public void instanceDestroyed(String uuid) {
      rows.remove(uuid);
    }

    @Override
    public void recordFault(String uuid, int code, String message, Optional<String> details) {
      throw new InvalidStateException("fault for " + uuid + ": " + code);
    }

    @Override
    public void actionEventStart(String uuid, String requestId, String event) {
      throw new IllegalStateException("boom in " + event);
    }

    @Override
    public void actionEventFinish(
        String uuid, String requestId, String event, Optional<String> error) {}

    @Override
    public ImageMeta getImage(String imageId) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void reportHost(HostReport report) {}
  }

  @Test
  void callsCarryRecordsWithOptionalsAndTimesBothWays() {
    RecordingConductor impl = new RecordingConductor();
    Instance row = instance("u-1");
    impl.rows.put("u-1", row);
    try (var l = Rpc.serve(transport, Rpc.CONDUCTOR, ConductorApi.class, impl)) {
      ConductorApi c = Rpc.client(ConductorApi.class, transport, Rpc.CONDUCTOR);
      Instance back = c.getInstance("u-1");
      assertThat(back).isEqualTo(row);
      assertThat(back.domainName()).isEqualTo("instance-0000002a");
      assertThat(c.instancesOnHost("host1")).containsExactly(row);
      assertThat(
              c.updateInstance("u-1", InstanceUpdate.none(), Optional.of(TaskState.POWERING_OFF)))
          .contains(row);
      assertThat(c.updateInstance("u-1", InstanceUpdate.none(), Optional.empty())).isEmpty();
    }
  }

  @Test
  void clearingTheTaskSurvivesTheWire() {
    RecordingConductor impl = new RecordingConductor();
    impl.rows.put("u-1", instance("u-1"));
    try (var l = Rpc.serve(transport, Rpc.CONDUCTOR, ConductorApi.class, impl)) {
      ConductorApi c = Rpc.client(ConductorApi.class, transport, Rpc.CONDUCTOR);
      InstanceUpdate clear =
          InstanceUpdate.none().vm(VmState.STOPPED).clearTask().power(PowerState.SHUTDOWN);
      InstanceUpdate set = InstanceUpdate.none().task(TaskState.SPAWNING).launched().progress(5);
      c.forceUpdateInstance("u-1", clear);
      c.forceUpdateInstance("u-1", set);
      c.forceUpdateInstance("u-1", InstanceUpdate.none());
      assertThat(impl.updates).containsExactly(clear, set, InstanceUpdate.none());
      assertThat(impl.updates.get(0).taskState()).contains(Optional.empty());
    }
  }

  @Test
  void exceptionsKeepTheirTypeMessageAndStatus() {
    try (var l =
        Rpc.serve(transport, Rpc.CONDUCTOR, ConductorApi.class, new RecordingConductor())) {
      ConductorApi c = Rpc.conductor(transport);
      assertThatThrownBy(() -> c.getInstance("nope"))
          .isExactlyInstanceOf(NotFoundException.class)
          .hasMessage("Instance nope could not be found.");
      assertThatThrownBy(() -> c.recordFault("u", 500, "m", Optional.empty()))
          .isExactlyInstanceOf(InvalidStateException.class)
          .hasMessage("fault for u: 500")
          .satisfies(e -> assertThat(((InvalidStateException) e).httpStatus()).isEqualTo(409));
      // with casts for void methods, the server's error stays on the server
      Rpc.client(ConductorApi.class, transport, Rpc.CONDUCTOR)
          .actionEventStart("u", "req-1", "compute_stop_instance");
      assertThatThrownBy(() -> c.actionEventStart("u", "req-1", "compute_stop_instance"))
          .isExactlyInstanceOf(RemoteException.class)
          .hasMessageContaining("boom in compute_stop_instance");
      assertThatThrownBy(() -> c.getImage("x"))
          .isExactlyInstanceOf(RemoteException.class)
          .satisfies(
              e -> {
                RemoteException r = (RemoteException) e;
                assertThat(r.remoteType()).isEqualTo("java.lang.UnsupportedOperationException");
                assertThat(r.httpStatus()).isEqualTo(500);
              });
    }
  }

  @Test
  void voidMethodsAreCastsQueuedUntilSomeoneListens() throws Exception {
    ComputeAgentApi agent = Rpc.client(ComputeAgentApi.class, transport, Rpc.computeTopic("host1"));
    CountDownLatch release = new CountDownLatch(1);
    List<String> got = new CopyOnWriteArrayList<>();
    long t0 = System.nanoTime();
    agent.stopInstance("u-1"); // nobody listens yet: queued
    agent.rebootInstance("u-1", true);
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(1));
    ComputeAgentApi impl = new AgentRecorder(got, release);
    try (var l = Rpc.serve(transport, "compute.host1", ComputeAgentApi.class, impl)) {
      // the first cast blocks in the server; the caller was never held
      await().until(() -> got.size() >= 1);
      release.countDown();
      await().untilAsserted(() -> assertThat(got).contains("stop u-1", "reboot u-1 true"));
      assertThat(agent.getConsoleOutput("u-1", 10)).isEqualTo("console of u-1 (10)");
    }
  }

  @Test
  void aCallNobodyAnswersTimesOut() {
    ComputeAgentApi agent =
        Rpc.client(ComputeAgentApi.class, transport, "compute.ghost", Duration.ofMillis(300));
    long t0 = System.nanoTime();
    assertThatThrownBy(() -> agent.getConsoleOutput("u", 1))
        .isInstanceOf(RpcTimeoutException.class)
        .satisfies(e -> assertThat(((RpcTimeoutException) e).httpStatus()).isEqualTo(504));
    assertThat(Duration.ofNanos(System.nanoTime() - t0))
        .isBetween(Duration.ofMillis(250), Duration.ofSeconds(3));
  }

  @Test
  void theRequestIdTravelsWithTheMessage() {
    RecordingConductor impl = new RecordingConductor();
    impl.rows.put("u-1", instance("u-1"));
    try (var l = Rpc.serve(transport, Rpc.CONDUCTOR, ConductorApi.class, impl)) {
      ConductorApi c = Rpc.client(ConductorApi.class, transport, Rpc.CONDUCTOR);
      MDC.put(Rpc.REQUEST_ID, "req-abc");
      c.getInstance("u-1");
      MDC.remove(Rpc.REQUEST_ID);
      c.getInstance("u-1");
      assertThat(impl.requestIds).containsExactly("req-abc", "null");
    }
  }

  interface Overloaded {
    void a(String x);

    void a(String x, String y);
  }

  @Test
  void overloadedInterfacesAreRefused() {
    assertThatThrownBy(() -> Rpc.client(Overloaded.class, transport, "t"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("overloaded");
  }

  @Test
  void listenersOfOneTopicShareTheWork() throws Exception {
    List<String> a = new CopyOnWriteArrayList<>();
    List<String> b = new CopyOnWriteArrayList<>();
    CountDownLatch open = new CountDownLatch(0);
    try (var la =
            Rpc.serve(transport, "compute.h", ComputeAgentApi.class, new AgentRecorder(a, open));
        var lb =
            Rpc.serve(transport, "compute.h", ComputeAgentApi.class, new AgentRecorder(b, open))) {
      ComputeAgentApi agent = Rpc.client(ComputeAgentApi.class, transport, "compute.h");
      for (int i = 0; i < 10; i++) {
        agent.startInstance("u" + i);
      }
      await().until(() -> a.size() + b.size() == 10);
      assertThat(a).isNotEmpty();
      assertThat(b).isNotEmpty();
    }
  }

  static final class AgentRecorder implements ComputeAgentApi {
    final List<String> got;
    final CountDownLatch release;

    AgentRecorder(List<String> got, CountDownLatch release) {
      this.got = got;
      this.release = release;
    }

    private void hold() {
      try {
        release.await(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    @Override
    public void buildAndRunInstance(
        String uuid,
        java.util.Optional<io.virga.core.BuildRequest> request,
        java.util.Optional<String> adminPass) {}

    @Override
    public void stopInstance(String uuid) {
      got.add("stop " + uuid);
      hold();
    }

    @Override
    public void startInstance(String uuid) {
      got.add("start " + uuid);
    }

    @Override
    public void rebootInstance(String uuid, boolean hard) {
      got.add("reboot " + uuid + " " + hard);
    }

    @Override
    public void pauseInstance(String uuid) {}

    @Override
    public void unpauseInstance(String uuid) {}

    @Override
    public void suspendInstance(String uuid) {}

    @Override
    public void resumeInstance(String uuid) {}

    @Override
    public void terminateInstance(String uuid) {}

    @Override
    public void snapshotInstance(String uuid, String imageId) {}

    @Override
    public String getConsoleOutput(String uuid, int maxLines) {
      return "console of " + uuid + " (" + maxLines + ")";
    }
  }
}
