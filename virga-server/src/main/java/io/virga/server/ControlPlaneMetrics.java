package io.virga.server;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.virga.api.ComputeDeps;
import io.virga.db.ComputeServiceRecord;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
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
    Gauges instances = new Gauges(MultiGauge.builder("virga_instances").register(registry));
    Gauges heartbeats =
        new Gauges(MultiGauge.builder("virga_service_heartbeat_age_seconds").register(registry));
    timer.scheduleWithFixedDelay(
        () -> {
          try {
            Map<Tags, Double> counts = new HashMap<>();
            compute
                .instances()
                .countByHostAndState()
                .forEach(
                    (host, states) ->
                        states.forEach(
                            (state, n) ->
                                counts.put(
                                    Tags.of("host", host, "vm_state", state), n.doubleValue())));
            instances.set(counts);
            Instant now = Instant.now();
            Map<Tags, Double> ages = new HashMap<>();
            for (ComputeServiceRecord s : compute.hosts().services()) {
              s.lastSeenUp()
                  .ifPresent(
                      t ->
                          ages.put(
                              Tags.of("host", s.host()),
                              Duration.between(t, now).toMillis() / 1000.0));
            }
            heartbeats.set(ages);
          } catch (RuntimeException e) {
            LOG.warn("refreshing metrics failed: {}", e.toString());
          }
        },
        0,
        15,
        TimeUnit.SECONDS);
  }

  /**
   * A multi-gauge whose rows read a holder per tag set: a refresh with the same tag sets only sets
   * the holders; the rows are registered again only when a tag set comes or goes (a host, a state)
   * — re-registering a thousand hosts' rows every 15 s was a burst of work in the API process.
   */
  static final class Gauges {
    private final MultiGauge gauge;
    private final Map<Tags, AtomicReference<Double>> holders = new ConcurrentHashMap<>();

    Gauges(MultiGauge gauge) {
      this.gauge = gauge;
    }

    void set(Map<Tags, Double> values) {
      boolean sameRows = holders.keySet().equals(values.keySet());
      values.forEach((t, v) -> holders.computeIfAbsent(t, k -> new AtomicReference<>()).set(v));
      holders.keySet().retainAll(values.keySet());
      if (sameRows) {
        return;
      }
      List<MultiGauge.Row<?>> rows = new ArrayList<>();
      holders.forEach((t, h) -> rows.add(MultiGauge.Row.of(t, h, AtomicReference::get)));
      gauge.register(rows, true);
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
