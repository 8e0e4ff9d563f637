package io.virga.server;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.virga.api.ComputeDeps;
import io.virga.db.ComputeServiceRecord;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the API's {@code /metrics} adds for an operator of many hosts, refreshed every 15 s from the
 * database: instances by state per host ({@code virga_instances{host,vm_state}}) and the age of
 * each compute service's last heartbeat ({@code virga_service_heartbeat_age_seconds{host}}).
 */
final class ControlPlaneMetrics implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ControlPlaneMetrics.class);
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(
          r -> Thread.ofPlatform().daemon().name("virga-metrics").unstarted(r));

  ControlPlaneMetrics(ComputeDeps compute, MeterRegistry registry) {
    MultiGauge instances = MultiGauge.builder("virga_instances").register(registry);
    MultiGauge heartbeats =
        MultiGauge.builder("virga_service_heartbeat_age_seconds").register(registry);
    timer.scheduleWithFixedDelay(
        () -> {
          try {
            List<MultiGauge.Row<?>> rows = new ArrayList<>();
            compute
                .instances()
                .countByHostAndState()
                .forEach(
                    (host, states) ->
                        states.forEach(
                            (state, n) ->
                                rows.add(
                                    MultiGauge.Row.of(
                                        Tags.of("host", host, "vm_state", state), n))));
            instances.register(rows, true);
            Instant now = Instant.now();
            List<MultiGauge.Row<?>> ages = new ArrayList<>();
            for (ComputeServiceRecord s : compute.hosts().services()) {
              s.lastSeenUp()
                  .ifPresent(
                      t ->
                          ages.add(
                              MultiGauge.Row.of(
                                  Tags.of("host", s.host()),
                                  Duration.between(t, now).toMillis() / 1000.0)));
            }
            heartbeats.register(ages, true);
          } catch (RuntimeException e) {
            LOG.warn("refreshing metrics failed: {}", e.toString());
          }
        },
        0,
        15,
        TimeUnit.SECONDS);
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
