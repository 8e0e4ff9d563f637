package io.virga.server;

import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.virga.compute.ComputeManager;
import io.virga.core.Config;
import io.virga.virt.ComputeDriver;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;

/**
 * {@code /metrics} of a {@code virga agent} in Prometheus format, on {@code metrics_bind}:{@code
 * metrics_port} (127.0.0.1:9779; port 0 = none): instance action durations ({@code
 * virga_agent_action_seconds{action=…}}), RPC latency and errors (through {@link
 * ObservedTransport}), age of the last report that reached the control plane ({@code
 * virga_agent_heartbeat_age_seconds}), the libvirt connection ({@code virga_agent_hypervisor_up})
 * and the domains on this host ({@code virga_agent_domains}).
 */
final class AgentMetrics implements AutoCloseable {
  final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private HttpServer server;

  /** Binds the endpoint when configured; the gauges follow {@link #observe}. */
  static AgentMetrics start(Config config) {
    AgentMetrics m = new AgentMetrics();
    int port = config.integer("metrics_port", 9779);
    if (port > 0) {
      String bind = config.string("metrics_bind", "127.0.0.1");
      try {
        m.server = HttpServer.create(new InetSocketAddress(bind, port), 16);
      } catch (IOException e) {
        throw new UncheckedIOException(
            "cannot serve /metrics on " + bind + ":" + port + " (metrics_port; 0 turns it off)", e);
      }
      m.server.createContext(
          "/metrics",
          ex -> {
            byte[] body = m.registry.scrape().getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("Content-Type", "text/plain; version=0.0.4");
            ex.sendResponseHeaders(200, body.length);
            try (OutputStream out = ex.getResponseBody()) {
              out.write(body);
            }
          });
      m.server.start();
    }
    return m;
  }

  int port() {
    return server == null ? 0 : server.getAddress().getPort();
  }

  void observe(ComputeManager agent, ComputeDriver driver) {
    agent.observeActions(
        (action, took, completed) ->
            Timer.builder("virga_agent_action")
                .tag("action", action.split(" ")[0])
                .register(registry)
                .record(took));
    Gauge.builder("virga_agent_hypervisor_up", agent, a -> a.hypervisorUp() ? 1 : 0)
        .register(registry);
    Gauge.builder(
            "virga_agent_heartbeat_age_seconds",
            agent,
            a ->
                a.lastReport()
                    .map(t -> Duration.between(t, Instant.now()).toMillis() / 1000.0)
                    .orElse(Double.NaN))
        .register(registry);
    Gauge.builder(
            "virga_agent_domains",
            driver,
            d -> {
              try {
                return d.listInstanceUuids().size();
              } catch (RuntimeException e) {
                return Double.NaN;
              }
            })
        .register(registry);
  }

  @Override
  public void close() {
    if (server != null) {
      server.stop(0);
    }
    registry.close();
  }
}
