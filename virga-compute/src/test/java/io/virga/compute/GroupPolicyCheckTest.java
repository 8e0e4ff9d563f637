package io.virga.compute;

import static org.assertj.core.api.Assertions.assertThat;

import io.virga.core.TaskState;
import io.virga.core.VmState;
import io.virga.virt.FakeFaults.Op;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The agent's late server group check (Nova's _validate_instance_group_policy): members a raced or
 * forced scheduler sent to one host are refused here and handed back for rescheduling.
 */
class GroupPolicyCheckTest extends AgentFixture {

  @BeforeEach
  void start() {
    startManager(options());
  }

  private String group(String policy, Optional<Integer> max, String... members) {
    String g = UUID.randomUUID().toString();
    conductor.group(g, policy, max, members);
    return g;
  }

  private void build(String... uuids) {
    for (String u : uuids) {
      manager.buildAndRunInstance(u, Optional.empty(), Optional.of("pw-" + u.substring(0, 4)));
    }
    idle();
  }

  private void assertRescheduled(String uuid, String reason) {
    assertThat(row(uuid).vmState()).isEqualTo(VmState.BUILDING);
    assertThat(row(uuid).taskState()).contains(TaskState.SCHEDULING);
    assertThat(driver.getInfo(uuid)).as("no domain for a refused build").isEmpty();
    assertThat(conductor.reschedules)
        .containsExactly(uuid + " from host1: " + reason + " pass=pw-" + uuid.substring(0, 4));
    assertThat(conductor.events)
        .anyMatch(
            e ->
                e.contains(uuid)
                    && e.contains("finish compute__do_build_and_run_instance")
                    && e.contains("re-scheduled"));
  }

  @Test
  void aSecondAntiAffinityMemberOnThisHostIsSentBackToTheScheduler() {
    String first = scheduled();
    String second = scheduled(); // the scheduler raced: both members on host1
    group("anti-affinity", Optional.empty(), first, second);
    build(first);
    assertThat(row(first).vmState()).isEqualTo(VmState.ACTIVE);
    build(second);
    assertRescheduled(second, "Anti-affinity instance group policy was violated.");
  }

  @Test
  void ofTwoMembersBuiltAtOnceExactlyOneRunsHere() {
    driver.faults().delay(Op.SPAWN, java.time.Duration.ofMillis(300));
    String a = scheduled();
    String b = scheduled();
    group("anti-affinity", Optional.empty(), a, b);
    build(a, b);
    List<VmState> states = List.of(row(a).vmState(), row(b).vmState());
    assertThat(states).containsExactlyInAnyOrder(VmState.ACTIVE, VmState.BUILDING);
    assertThat(conductor.reschedules).hasSize(1);
    assertThat(driver.listInstanceUuids()).hasSize(1);
  }

  @Test
  void maxServerPerHostAndSoftPoliciesLetMembersShareTheHost() {
    String a = scheduled();
    String b = scheduled();
    group("anti-affinity", Optional.of(2), a, b);
    String c = scheduled();
    String d = scheduled();
    group("soft-anti-affinity", Optional.empty(), c, d);
    build(a, b, c, d);
    for (String u : List.of(a, b, c, d)) {
      assertThat(row(u).vmState()).as(u).isEqualTo(VmState.ACTIVE);
    }
    assertThat(conductor.reschedules).isEmpty();
    // a third member goes beyond max_server_per_host 2
    String e = scheduled();
    group("anti-affinity", Optional.of(2), a, b, e);
    build(e);
    assertRescheduled(e, "Anti-affinity instance group policy was violated.");
  }

  @Test
  void anAffinityMemberAwayFromTheOthersIsRefused() {
    String elsewhere = UUID.randomUUID().toString();
    conductor.add(FakeConductor.newInstance(elsewhere, "host9", VmState.ACTIVE, Optional.empty()));
    String here = scheduled();
    group("affinity", Optional.empty(), elsewhere, here);
    build(here);
    assertRescheduled(here, "Affinity instance group policy was violated.");
  }

  @Test
  void aRefusedBuildThatCannotBeRescheduledErrorsOut() {
    String first = scheduled();
    String second = scheduled();
    group("anti-affinity", Optional.empty(), first, second);
    build(first);
    conductor.rescheduleFailure = new io.virga.core.VirgaException("conductor unreachable");
    build(second);
    assertThat(row(second).vmState()).isEqualTo(VmState.ERROR);
    assertThat(row(second).taskState()).isEmpty();
    assertThat(conductor.faults).anyMatch(f -> f.startsWith(second) && f.contains("re-scheduled"));
  }
}
