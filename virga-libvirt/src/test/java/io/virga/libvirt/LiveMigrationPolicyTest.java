package io.virga.libvirt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.virga.core.Config;
import io.virga.core.InvalidInputException;
import io.virga.libvirt.LiveMigrationPolicy.DowntimeStep;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class LiveMigrationPolicyTest {
  private static final MigrationOptions DEFAULTS = MigrationOptions.from(Config.of(Map.of()));

  private static MigrationOptions with(Map<String, String> values) {
    return MigrationOptions.from(Config.of(values));
  }

  @Test
  void defaultsAreNovas() {
    assertThat(DEFAULTS.downtimeMs()).isEqualTo(500);
    assertThat(DEFAULTS.downtimeSteps()).isEqualTo(10);
    assertThat(DEFAULTS.downtimeDelaySec()).isEqualTo(75);
    assertThat(DEFAULTS.completionTimeoutSec()).isEqualTo(800);
    assertThat(DEFAULTS.timeoutAction()).isEqualTo(MigrationOptions.TimeoutAction.ABORT);
    assertThat(DEFAULTS.permitPostCopy()).isFalse();
    assertThat(DEFAULTS.inboundAddr()).isEqualTo("127.0.0.1");
    assertThat(DEFAULTS.migrationUri("10.231.0.12")).isEqualTo("qemu+tcp://10.231.0.12/system");
  }

  @Test
  void minimumsAndBadValues() {
    var o =
        with(
            Map.of(
                "live_migration_downtime", "10",
                "live_migration_downtime_steps", "1",
                "live_migration_downtime_delay", "0"));
    assertThat(o.downtimeMs()).isEqualTo(100);
    assertThat(o.downtimeSteps()).isEqualTo(3);
    assertThat(o.downtimeDelaySec()).isEqualTo(3);
    assertThatThrownBy(() -> with(Map.of("live_migration_timeout_action", "pause")))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("abort or force_complete");
    assertThatThrownBy(() -> DEFAULTS.migrationUri("host/evil?x"))
        .isInstanceOf(InvalidInputException.class);
  }

  @Test
  void dataGbCountsAtLeastTwoGibOfRamAndOfDisk() {
    assertThat(LiveMigrationPolicy.dataGb(128, 5L << 30, false)).isEqualTo(2);
    assertThat(LiveMigrationPolicy.dataGb(4096, 0, false)).isEqualTo(4);
    assertThat(LiveMigrationPolicy.dataGb(128, 100L << 20, true)).isEqualTo(4);
    assertThat(LiveMigrationPolicy.dataGb(8192, 20L << 30, true)).isEqualTo(28);
  }

  @Test
  void downtimeStepsAsNovaComputesThem() {
    List<DowntimeStep> steps = LiveMigrationPolicy.downtimeSteps(DEFAULTS, 3);
    assertThat(steps)
        .containsExactly(
            new DowntimeStep(0, 50),
            new DowntimeStep(225, 95),
            new DowntimeStep(450, 140),
            new DowntimeStep(675, 185),
            new DowntimeStep(900, 230),
            new DowntimeStep(1125, 275),
            new DowntimeStep(1350, 320),
            new DowntimeStep(1575, 365),
            new DowntimeStep(1800, 410),
            new DowntimeStep(2025, 455),
            new DowntimeStep(2250, 500));
  }

  @Test
  void downtimeUpdateOnlyWhenAStepIsReachedAndDiffers() {
    var o =
        with(
            Map.of(
                "live_migration_downtime", "400",
                "live_migration_downtime_steps", "4",
                "live_migration_downtime_delay", "5"));
    List<DowntimeStep> steps = LiveMigrationPolicy.downtimeSteps(o, 2); // every 10 s
    assertThat(steps.get(0)).isEqualTo(new DowntimeStep(0, 100));
    assertThat(LiveMigrationPolicy.downtimeUpdate(steps, 0, 0)).isEqualTo(OptionalLong.of(100));
    assertThat(LiveMigrationPolicy.downtimeUpdate(steps, 9, 100)).isEmpty();
    assertThat(LiveMigrationPolicy.downtimeUpdate(steps, 10, 100)).isEqualTo(OptionalLong.of(175));
    assertThat(LiveMigrationPolicy.downtimeUpdate(steps, 35, 175)).isEqualTo(OptionalLong.of(325));
    assertThat(LiveMigrationPolicy.downtimeUpdate(steps, 1000, 325))
        .isEqualTo(OptionalLong.of(400));
    assertThat(LiveMigrationPolicy.downtimeUpdate(steps, 1000, 400)).isEmpty();
  }

  @Test
  void completionTimeoutScalesWithDataAndSparesPostCopy() {
    assertThat(LiveMigrationPolicy.completionTimeoutSec(DEFAULTS, 4)).isEqualTo(3200);
    var quick = with(Map.of("live_migration_completion_timeout", "5"));
    long limit = LiveMigrationPolicy.completionTimeoutSec(quick, 2);
    assertThat(limit).isEqualTo(10);
    assertThat(LiveMigrationPolicy.timedOut(10, limit, false)).isFalse();
    assertThat(LiveMigrationPolicy.timedOut(11, limit, false)).isTrue();
    assertThat(LiveMigrationPolicy.timedOut(11, limit, true)).as("post-copy finishes").isFalse();
    var off = with(Map.of("live_migration_completion_timeout", "0"));
    assertThat(
            LiveMigrationPolicy.timedOut(
                100_000, LiveMigrationPolicy.completionTimeoutSec(off, 9), false))
        .isFalse();
  }

  @Test
  void flags() {
    int base =
        LiveMigrationPolicy.LIVE
            | LiveMigrationPolicy.PEER2PEER
            | LiveMigrationPolicy.PERSIST_DEST
            | LiveMigrationPolicy.UNDEFINE_SOURCE;
    assertThat(base).isEqualTo(27);
    assertThat(LiveMigrationPolicy.flags(DEFAULTS, false)).isEqualTo(base);
    assertThat(LiveMigrationPolicy.flags(DEFAULTS, true)).isEqualTo(base | 128);
    var both =
        with(
            Map.of(
                "live_migration_permit_post_copy", "true",
                "live_migration_permit_auto_converge", "true",
                "live_migration_with_native_tls", "true",
                "live_migration_parallel_connections", "4"));
    int f = LiveMigrationPolicy.flags(both, false);
    assertThat(f & LiveMigrationPolicy.POSTCOPY).isNotZero();
    assertThat(f & LiveMigrationPolicy.AUTO_CONVERGE).as("post-copy wins, as in Nova").isZero();
    assertThat(f & LiveMigrationPolicy.TLS).isNotZero();
    assertThat(f & LiveMigrationPolicy.PARALLEL).isNotZero();
    assertThat(LiveMigrationPolicy.forceCompleteByPostCopy(f)).isTrue();
    var ac = with(Map.of("live_migration_permit_auto_converge", "true"));
    int g = LiveMigrationPolicy.flags(ac, false);
    assertThat(g & LiveMigrationPolicy.AUTO_CONVERGE).isNotZero();
    assertThat(LiveMigrationPolicy.forceCompleteByPostCopy(g)).isFalse();
  }
}
