package io.virga.server;

import io.virga.compute.ComputeManager;
import io.virga.compute.ComputeOptions;
import io.virga.compute.ImageSourceFactory;
import io.virga.compute.LifecycleOptions;
import io.virga.compute.MigrationOptions;
import io.virga.core.ComputeAgentApi;
import io.virga.core.ConductorApi;
import io.virga.core.Config;
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
      Config config) {
    return start(driver, conductor, transport, images, config, ComputeOptions.fromConfig(config));
  }

  /**
   * With its compute options given (tests shorten intervals). The agent reaches other hosts' agents
   * on their topics {@code compute.<host>} over the same transport (migrations).
   */
  static AgentRuntime start(
      ComputeDriver driver,
      ConductorApi conductor,
      RpcTransport transport,
      ImageSourceFactory images,
      Config config,
      ComputeOptions options) {
    ComputeManager manager =
        new ComputeManager(
            driver,
            conductor,
            images,
            options,
            MigrationOptions.fromConfig(config),
            LifecycleOptions.fromConfig(config),
            host -> Rpc.computeAgent(transport, host));
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
