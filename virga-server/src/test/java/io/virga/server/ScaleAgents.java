package io.virga.server;

import io.virga.compute.ImageApiClient;
import io.virga.core.Config;
import io.virga.rpc.Rpc;
import io.virga.rpc.RpcTransport;
import io.virga.rpc.RpcTransports;
import io.virga.virt.FakeDriver;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The agent side of {@link ScaleBench}, in a JVM of its own as agents are in a deployment (so the
 * API's heap, threads and collector carry only the API): {@code hosts} FakeDriver agents, each on
 * its own AMQP connection, reaching the image API over HTTP with the service credential as {@code
 * virga agent} does. Args: hosts, transport URL, API base URL; the service password comes in {@code
 * VIRGA_SERVICE_PASSWORD}. Prints a line when all are started; stops them when its standard input
 * closes (the bench ended, or died).
 */
public final class ScaleAgents {
  private ScaleAgents() {}

  public static void main(String[] args) throws Exception {
    int hosts = Integer.parseInt(args[0]);
    String api = args[2];
    Map<String, String> v = new HashMap<>();
    v.put("home", Files.createTempDirectory("virga-scale-agents-").toString());
    v.put("transport_url", args[1]);
    v.put("compute_driver", "fake");
    v.put("image_api_url", api + "/image");
    v.put("auth_url", api + "/identity/v3");
    v.put("service_password", System.getenv("VIRGA_SERVICE_PASSWORD"));
    Config config = Config.of(v);
    ImageApiClient images = ImageApiClient.fromConfig(config);
    List<AutoCloseable> stack = new ArrayList<>();
    try {
      for (int i = 0; i < hosts; i++) {
        RpcTransport t = RpcTransports.fromConfig(config);
        stack.add(t);
        stack.add(
            AgentRuntime.start(
                new FakeDriver(String.format("fake-%04d", i), 64, 1 << 20, 10000),
                Rpc.conductor(t),
                t,
                images,
                config));
      }
      System.out.println("agents started: " + hosts);
      System.out.flush();
      while (System.in.read() >= 0) {
        // until the bench closes our standard input
      }
    } finally {
      closeInReverse(stack);
    }
  }

  /** Closes the last opened first; a failure is printed and the rest still closed. */
  static void closeInReverse(List<AutoCloseable> stack) {
    for (int i = stack.size() - 1; i >= 0; i--) {
      try {
        stack.get(i).close();
      } catch (Exception e) {
        System.err.println("stop: " + e);
      }
    }
  }
}
