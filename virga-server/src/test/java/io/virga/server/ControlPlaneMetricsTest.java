package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ControlPlaneMetricsTest {
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  private Double value(String host) {
    var g = registry.find("g").tag("host", host).gauge();
    return g == null ? null : g.value();
  }

  @Test
  void gaugesFollowEveryRefreshAndDropRowsThatWent() {
    var gauges = new ControlPlaneMetrics.Gauges(MultiGauge.builder("g").register(registry));
    Tags a = Tags.of("host", "a");
    Tags b = Tags.of("host", "b");

    gauges.set(Map.of(a, 1.0, b, 2.0));
    assertThat(value("a")).isEqualTo(1.0);
    assertThat(value("b")).isEqualTo(2.0);

    var meterA = registry.find("g").tag("host", "a").gauge();
    gauges.set(Map.of(a, 3.0, b, 2.0)); // same rows: values move, nothing registered again
    assertThat(value("a")).isEqualTo(3.0);
    assertThat(registry.find("g").tag("host", "a").gauge()).isSameAs(meterA);

    gauges.set(Map.of(a, 4.0)); // b went
    assertThat(value("a")).isEqualTo(4.0);
    assertThat(value("b")).isNull();

    gauges.set(Map.of(a, 4.0, b, 5.0)); // b is back
    assertThat(value("b")).isEqualTo(5.0);
  }
}
