package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.compute.ComputeManager;
import io.virga.compute.ComputeOptions;
import io.virga.compute.MigrationOptions;
import io.virga.core.ComputeAgentApi;
import io.virga.core.Config;
import io.virga.rpc.Rpc;
import io.virga.rpc.RpcTransport;
import io.virga.virt.FakeDriver;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.awaitility.Awaitility;

/**
 * {@link ComputeTestCloud} ({@code virga up}'s wiring, agent {@code fake-host}) plus a second
 * FakeDriver agent {@code host2} on the same in-process transport, which a test can restart as if
 * its process died. host2 is the larger host, so boots land there and migrations go to fake-host.
 */
final class TwoHostCloud implements AutoCloseable {
  final ComputeTestCloud cloud;
  final FakeDriver host2 = new FakeDriver("host2", 16, 32768, 500);
  private ComputeManager agent2;
  private RpcTransport.Listener listener2;

  /**
   * Run before host2 sends ({@code outgoing}) or handles ({@code incoming}) the named RPC method: a
   * hook that blocks forever is the agent process dying at that point.
   */
  final Map<String, Runnable> outgoing = new ConcurrentHashMap<>();

  final Map<String, Runnable> incoming = new ConcurrentHashMap<>();

  TwoHostCloud(Path home, Map<String, String> settings) {
    cloud = new ComputeTestCloud(home, new FakeDriver("fake-host", 8, 4096, 100), settings);
    startHost2();
  }

  void startHost2() {
    RpcTransport transport = cloud.running.cloud().transport();
    Config config = Config.of(cloud.settings);
    agent2 =
        new ComputeManager(
            host2,
            Rpc.conductor(transport),
            AllInOne.inProcessImages(cloud.running.cloud().images()),
            ComputeOptions.fromConfig(config),
            MigrationOptions.fromConfig(config),
            host -> hooked(Rpc.computeAgent(transport, host), outgoing));
    agent2.start();
    listener2 =
        Rpc.serve(
            transport, Rpc.computeTopic("host2"), ComputeAgentApi.class, hooked(agent2, incoming));
    // both hosts reported before a test boots (the scheduler sees only reported nodes)
    var hosts = cloud.running.cloud().compute().hosts();
    Awaitility.await()
        .atMost(Duration.ofSeconds(20))
        .until(
            () ->
                hosts.nodes().stream()
                    .map(n -> n.host())
                    .toList()
                    .containsAll(java.util.List.of("host2", "fake-host")));
  }

  private static ComputeAgentApi hooked(ComputeAgentApi target, Map<String, Runnable> hooks) {
    return (ComputeAgentApi)
        Proxy.newProxyInstance(
            ComputeAgentApi.class.getClassLoader(),
            new Class<?>[] {ComputeAgentApi.class},
            (proxy, method, args) -> {
              Runnable hook = hooks.get(method.getName());
              if (hook != null) {
                hook.run();
              }
              try {
                return method.invoke(target, args);
              } catch (InvocationTargetException e) {
                throw e.getCause();
              }
            });
  }

  /** host2's agent process dies: no more RPC, its running actions abandoned. */
  void killHost2() {
    listener2.close();
    agent2.close();
  }

  FakeDriver fakeHost() {
    return cloud.driver;
  }

  FakeDriver driverOf(String host) {
    return host.equals("host2") ? host2 : cloud.driver;
  }

  String hostOf(String admin, String id) {
    return cloud
        .call("GET", "/servers/" + id, admin, "2.80", null)
        .json()
        .path("server")
        .path("OS-EXT-SRV-ATTR:host")
        .asText();
  }

  void awaitIdle() {
    assertThat(cloud.running.cloud().agent().awaitIdle(Duration.ofSeconds(20))).isTrue();
    assertThat(agent2.awaitIdle(Duration.ofSeconds(20))).isTrue();
  }

  /** The server's migrations as os-migrations lists them at {@code version}. */
  JsonNode migrations(String admin, String id, String version) {
    ComputeTestCloud.Reply r =
        cloud.call("GET", "/os-migrations?instance_uuid=" + id, admin, version, null);
    assertThat(r.status()).as(r.text()).isEqualTo(200);
    return r.json().path("migrations");
  }

  /** Waits until the server's newest migration has {@code status}. */
  JsonNode awaitMigration(String admin, String id, String status) {
    JsonNode[] last = new JsonNode[1];
    Awaitility.await()
        .atMost(Duration.ofSeconds(20))
        .pollInterval(Duration.ofMillis(50))
        .alias("migration of " + id + " to reach " + status)
        .until(
            () -> {
              JsonNode all = migrations(admin, id, "2.80");
              last[0] = all.size() > 0 ? all.get(0) : null;
              return last[0] != null && last[0].path("status").asText().equals(status);
            });
    return last[0];
  }

  int action(String token, String id, String version, String body) {
    return cloud.call("POST", "/servers/" + id + "/action", token, version, body).status();
  }

  @Override
  public void close() {
    killHost2();
    cloud.close();
    host2.close();
  }
}
