package io.virga.api;

import io.virga.core.ComputeAgentApi;

/** How the API reaches the agent of a host (an RPC client on topic {@code compute.<host>}). */
@FunctionalInterface
public interface ComputeAgents {
  ComputeAgentApi forHost(String host);
}
