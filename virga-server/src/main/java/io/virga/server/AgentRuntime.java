package io.virga.server;

import io.virga.compute.ComputeManager;
import io.virga.compute.ComputeOptions;
import io.virga.compute.ImageSourceFactory;
import io.virga.core.ComputeAgentApi;
import io.virga.core.ConductorApi;
import io.virga.rpc.Rpc;
import io.virga.rpc.RpcTransport;
import io.virga.virt.ComputeDriver;

/**
 * One host's compute agent on a transport: the ComputeManager started (recovery queued, periodic
 * tasks running), then its topic {@code compute.<host>} served, so recovery comes before any new
 * action. The same for {@code virga agent} and the agent inside {@code virga up}.
 */
record AgentRuntime(ComputeManager manager, RpcTransport.Listener listener)
    implements AutoCloseable {

  static AgentRuntime start(
      ComputeDriver driver,
      ConductorApi conductor,
      RpcTransport transport,
      ImageSourceFactory images,
      ComputeOptions options) {
    ComputeManager manager = new ComputeManager(driver, conductor, images, options);
    try {
      manager.start();
      return new AgentRuntime(
          manager,
          Rpc.serve(transport, Rpc.computeTopic(manager.host()), ComputeAgentApi.class, manager));
    } catch (RuntimeException e) {
      manager.close();
      throw e;
    }
  }

  /** Stops taking actions first, then the agent. */
  @Override
  public void close() {
    listener.close();
    manager.close();
  }
}
