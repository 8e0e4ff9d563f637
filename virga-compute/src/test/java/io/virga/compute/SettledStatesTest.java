package io.virga.compute;

import static org.assertj.core.api.Assertions.assertThat;

import io.virga.core.Instance;
import io.virga.core.PowerState;
import io.virga.core.TaskState;
import io.virga.core.VmState;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class SettledStatesTest {
  private static Instance instance(VmState vm, Optional<TaskState> task, PowerState power) {
    Instance i = FakeConductor.newInstance("uuid-1", "host1", vm, task);
    return FakeConductor.copy(i, vm, task, power, i.launchedAt());
  }

  @Test
  void onlyATaskEndingInASettledPairIsRemembered() {
    SettledStates s = new SettledStates(Duration.ofMinutes(1));
    s.record(instance(VmState.ACTIVE, Optional.empty(), PowerState.RUNNING));
    assertThat(s.justSettled("uuid-1", PowerState.RUNNING)).isTrue();
    assertThat(s.justSettled("uuid-1", PowerState.SHUTDOWN)).isFalse();
    // a task begun forgets it
    s.record(instance(VmState.ACTIVE, Optional.of(TaskState.POWERING_OFF), PowerState.RUNNING));
    assertThat(s.justSettled("uuid-1", PowerState.RUNNING)).isFalse();
    s.record(instance(VmState.STOPPED, Optional.empty(), PowerState.SHUTDOWN));
    assertThat(s.justSettled("uuid-1", PowerState.SHUTDOWN)).isTrue();
    // ACTIVE but shut down is not settled: the sync must stop it
    s.record(instance(VmState.ACTIVE, Optional.empty(), PowerState.SHUTDOWN));
    assertThat(s.justSettled("uuid-1", PowerState.SHUTDOWN)).isFalse();
    assertThat(s.justSettled("other", PowerState.RUNNING)).isFalse();
  }

  @Test
  void aRecordOlderThanTheWindowIsNotTrusted() throws Exception {
    SettledStates s = new SettledStates(Duration.ofMillis(50));
    s.record(instance(VmState.ACTIVE, Optional.empty(), PowerState.RUNNING));
    Thread.sleep(80);
    assertThat(s.justSettled("uuid-1", PowerState.RUNNING)).isFalse();
  }
}
