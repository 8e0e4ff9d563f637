package io.virga.compute;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.virga.core.ComputeAgentApi;
import io.virga.core.ConductorApi;
import io.virga.core.VmState;
import io.virga.rpc.RabbitBroker;
import io.virga.rpc.RabbitTransport;
import io.virga.rpc.Rpc;
import io.virga.testing.PerClassFixture;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code virga api} and {@code virga agent} as separate processes would run them: each side on its
 * own RabbitMQ connection to a real broker (started by the test from the Debian package).
 */
class RabbitAgentIT extends AgentFixture {
  @RegisterExtension static final PerClassFixture<RabbitBroker> broker = RabbitBroker.perClass();

  @Test
  void anAgentOnItsOwnConnectionServesTheApiSide() {
    try (RabbitTransport apiSide = RabbitTransport.connect(broker.get().uri());
        RabbitTransport agentSide = RabbitTransport.connect(broker.get().uri());
        var conductorListener = Rpc.serve(apiSide, Rpc.CONDUCTOR, ConductorApi.class, conductor)) {
      manager =
          new ComputeManager(
              driver,
              Rpc.conductor(agentSide),
              i -> IMAGES,
              options().withReportInterval(Duration.ofMillis(200)));
      manager.start();
      ComputeAgentApi agent = Rpc.computeAgent(apiSide, "host1");

      // the API casts while the agent does not listen yet: the durable queue keeps the cast
      String uuid = scheduled();
      agent.buildAndRunInstance(uuid, Optional.empty(), Optional.empty());
      try (var agentListener =
          Rpc.serve(agentSide, Rpc.computeTopic("host1"), ComputeAgentApi.class, manager)) {
        await().atMost(Duration.ofSeconds(20)).until(() -> row(uuid).vmState() == VmState.ACTIVE);
        assertThat(conductor.taskHistory(uuid))
            .containsExactly(
                "scheduling", "networking", "block_device_mapping", "spawning", "none");
        assertThat(agent.getConsoleOutput(uuid, 1)).startsWith("VIRGA-GUEST-UP uuid=" + uuid);
        // the change goes to the conductor with the next heartbeat
        await().until(() -> conductor.lastReport().memoryMbUsed() == 128);
        api(uuid, io.virga.core.TaskState.POWERING_OFF, agent::stopInstance);
        await().atMost(Duration.ofSeconds(20)).until(() -> row(uuid).vmState() == VmState.STOPPED);
        agent.terminateInstance(uuid);
        await().atMost(Duration.ofSeconds(20)).until(() -> conductor.row(uuid).isEmpty());
        await().until(() -> conductor.lastReport().memoryMbUsed() == 0);
      }
    }
  }
}
