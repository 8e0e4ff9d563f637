package io.virga.compute;

import static org.assertj.core.api.Assertions.assertThat;

import io.virga.virt.FakeDriver;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ResourceTrackerTest {
  private final FakeConductor conductor = new FakeConductor();
  private final ResourceTracker tracker =
      new ResourceTracker(new FakeDriver("host1"), conductor, "host1", "127.0.0.1", Runnable::run);

  @Test
  void aHeartbeatWithinHalfAnIntervalOfTheLastReportOrHeartbeatIsSkipped() throws Exception {
    tracker.report();
    assertThat(conductor.reports).hasSize(1);
    tracker.heartbeat(Duration.ofSeconds(10));
    assertThat(conductor.heartbeats).as("the report just marked the service seen").isEmpty();
    Thread.sleep(40);
    tracker.heartbeat(Duration.ofMillis(60)); // 40 ms > half of 60: due
    assertThat(conductor.heartbeats).hasSize(1);
    tracker.heartbeat(Duration.ofSeconds(10)); // the heartbeat just sent stands
    assertThat(conductor.heartbeats).hasSize(1);
    assertThat(conductor.reports).hasSize(1);
  }

  @Test
  void aChangeMakesTheNextHeartbeatTheFullReport() throws Exception {
    tracker.report();
    tracker.changed();
    tracker.heartbeat(Duration.ofSeconds(10)); // within half an interval, but a change is pending
    assertThat(conductor.reports).hasSize(2);
    assertThat(tracker.changePending()).isFalse();
    Thread.sleep(40);
    tracker.heartbeat(Duration.ofMillis(60)); // nothing changed: a light one
    assertThat(conductor.reports).hasSize(2);
    assertThat(conductor.heartbeats).hasSize(1);
  }

  @Test
  void theFirstHeartbeatWithoutAnyReportSendsTheFullReport() {
    tracker.heartbeat(Duration.ofSeconds(10));
    assertThat(conductor.reports).hasSize(1);
    assertThat(conductor.heartbeats).isEmpty();
  }
}
