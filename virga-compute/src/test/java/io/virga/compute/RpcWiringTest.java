package io.virga.compute;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.virga.core.ComputeAgentApi;
import io.virga.core.ConductorApi;
import io.virga.core.NotFoundException;
import io.virga.core.VmState;
import io.virga.rpc.InProcessTransport;
import io.virga.rpc.Rpc;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.MDC;

/** The agent wired as {@code virga up} wires it: both directions over the in-process transport. */
class RpcWiringTest extends AgentFixture {
  final InProcessTransport transport = new InProcessTransport();

  @AfterEach
  void closeTransport() {
    transport.close();
  }

  @Test
  void theApiSideDrivesTheAgentOverRpc() {
    try (var conductorListener =
        Rpc.serve(transport, Rpc.CONDUCTOR, ConductorApi.class, conductor)) {
      manager = new ComputeManager(driver, Rpc.conductor(transport), i -> IMAGES, options());
      manager.start();
      try (var agentListener =
          Rpc.serve(transport, Rpc.computeTopic(manager.host()), ComputeAgentApi.class, manager)) {
        ComputeAgentApi agent = Rpc.computeAgent(transport, "host1");
        String uuid = scheduled();
        MDC.put(Rpc.REQUEST_ID, "req-api-1");
        try {
          agent.buildAndRunInstance(uuid, Optional.empty(), Optional.empty());
        } finally {
          MDC.remove(Rpc.REQUEST_ID);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> row(uuid).vmState() == VmState.ACTIVE);
        // the action event is finished just after the row turns ACTIVE
        await()
            .atMost(Duration.ofSeconds(10))
            .untilAsserted(
                () ->
                    assertThat(conductor.events)
                        .contains(uuid + " req-api-1 finish compute__do_build_and_run_instance"));
        assertThat(agent.getConsoleOutput(uuid, 5)).contains("VIRGA-GUEST-UP uuid=" + uuid);
        assertThatThrownBy(() -> agent.getConsoleOutput("no-such-uuid", 5))
            .isInstanceOf(NotFoundException.class)
            .hasMessageContaining("no-such-uuid");
        api(uuid, io.virga.core.TaskState.POWERING_OFF, agent::stopInstance);
        await().atMost(Duration.ofSeconds(10)).until(() -> row(uuid).vmState() == VmState.STOPPED);
        agent.terminateInstance(uuid);
        await().atMost(Duration.ofSeconds(10)).until(() -> conductor.row(uuid).isEmpty());
        assertThat(conductor.reports).isNotEmpty();
      }
    }
  }
}
