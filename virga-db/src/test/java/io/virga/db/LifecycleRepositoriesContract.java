package io.virga.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.virga.core.ConflictException;
import io.virga.core.Flavor;
import io.virga.core.HostReport;
import io.virga.core.InstanceUpdate;
import io.virga.core.InvalidInputException;
import io.virga.core.NotFoundException;
import io.virga.core.TaskState;
import io.virga.core.VmState;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 16's repositories (lock and system metadata, offload, aggregates and zones, server-group
 * claims) against SQLite (unit) and PostgreSQL (IT).
 */
abstract class LifecycleRepositoriesContract extends DatabaseContract {
  Jdbi jdbi;
  InstanceRepository instances;
  InstanceLifecycleRepository lifecycle;
  HostRepository hosts;
  Flavor small = new Flavor("1", "small", 512, 1, 1, 0, 0, Map.of());

  @BeforeEach
  void setUp() {
    jdbi = db().jdbi();
    instances = new InstanceRepository(jdbi);
    lifecycle = instances.lifecycle();
    hosts = new HostRepository(jdbi, "nova");
  }

  InstanceRecord instance() {
    return instances.create(
        new NewInstance(
            UUID.randomUUID().toString(),
            "vm",
            Optional.empty(),
            "vm",
            "p1",
            "u1",
            small,
            "img",
            Optional.empty(),
            Map.of(),
            List.of(),
            Optional.empty(),
            Optional.empty(),
            Optional.empty(),
            false,
            0,
            "r-1",
            Optional.empty(),
            Optional.empty()));
  }

  void report(String host) {
    hosts.report(
        new HostReport(
            host, host, "QEMU", 8002000, "127.0.0.1", 64, 0, 65536, 0, 1000, 0, 1000, 0, "{}"));
  }

  @Test
  void theFirstLockKeepsItsOwnerAndReasonUntilUnlocked() {
    InstanceRecord r = instance();
    assertThat(lifecycle.lockOf(r.uuid())).isEmpty();
    assertThat(lifecycle.lock(r.uuid(), "owner", Optional.of("maintenance"))).isTrue();
    assertThat(lifecycle.lock(r.uuid(), "admin", Optional.empty())).isFalse();
    assertThat(lifecycle.lockOf(r.uuid()))
        .contains(new InstanceLifecycleRepository.Lock("owner", Optional.of("maintenance")));
    assertThat(instances.get(r.uuid()).locked()).isTrue();
    lifecycle.unlock(r.uuid());
    assertThat(lifecycle.lockOf(r.uuid())).isEmpty();
    assertThat(lifecycle.systemMetadata(r.uuid())).isEmpty();
  }

  @Test
  void offloadIsACompareAndSwapThatFreesTheHost() {
    report("h1");
    InstanceRecord r = instance();
    hosts.claim(r.uuid(), hosts.nodes().get(0), "nova", u -> Optional.empty());
    instances.compareAndSwap(
        r.uuid(),
        InstanceUpdate.none().vm(VmState.SHELVED).task(TaskState.SHELVING_OFFLOADING),
        null);
    lifecycle.putSystemMetadata(r.uuid(), InstanceLifecycleRepository.SHELVED_IMAGE_ID, "img-1");
    assertThat(hosts.usage("h1").ramMb()).isEqualTo(512);
    assertThat(lifecycle.offloaded(r.uuid(), Optional.of(TaskState.SHELVING))).isFalse();
    assertThat(lifecycle.offloaded(r.uuid(), Optional.empty())).isFalse();
    assertThat(lifecycle.offloaded(r.uuid(), Optional.of(TaskState.SHELVING_OFFLOADING))).isTrue();
    InstanceRecord now = instances.get(r.uuid());
    assertThat(now.vmState()).isEqualTo(VmState.SHELVED_OFFLOADED);
    assertThat(now.taskState()).isEmpty();
    assertThat(now.host()).isEmpty();
    assertThat(hosts.usage("h1").ramMb()).isZero();
    assertThat(lifecycle.systemMetadata(r.uuid(), InstanceLifecycleRepository.SHELVED_IMAGE_ID))
        .contains("img-1");
  }

  @Test
  void aggregatesGiveTheirHostsTheirZone() {
    report("h1");
    report("h2");
    AggregateRepository aggs = hosts.aggregates();
    var a = aggs.create("a", Optional.of("zone-a"));
    assertThatThrownBy(() -> aggs.create("a", Optional.empty()))
        .isInstanceOf(ConflictException.class);
    assertThatThrownBy(() -> aggs.addHost(a.id(), "nowhere")).isInstanceOf(NotFoundException.class);
    assertThat(aggs.addHost(a.id(), "h1").hosts()).containsExactly("h1");
    assertThatThrownBy(() -> aggs.addHost(a.id(), "h1")).isInstanceOf(ConflictException.class);
    assertThat(hosts.service("h1").orElseThrow().availabilityZone()).isEqualTo("zone-a");
    var b = aggs.create("b", Optional.of("zone-b"));
    assertThatThrownBy(() -> aggs.addHost(b.id(), "h1")).isInstanceOf(InvalidInputException.class);
    aggs.update(a.id(), Optional.empty(), Optional.of(Optional.of("zone-c")));
    assertThat(hosts.service("h1").orElseThrow().availabilityZone()).isEqualTo("zone-c");
    aggs.setMetadata(a.id(), Map.of(AggregateRepository.AZ_KEY, Optional.empty()));
    assertThat(hosts.service("h1").orElseThrow().availabilityZone()).isEqualTo("nova");
    assertThatThrownBy(() -> aggs.delete(a.id())).isInstanceOf(InvalidInputException.class);
    aggs.removeHost(a.id(), "h1");
    aggs.delete(a.id());
    assertThat(aggs.list()).extracting(AggregateRepository.Aggregate::name).containsExactly("b");
  }

  /** Ten members of one anti-affinity group claimed at once over two hosts: one per host. */
  @Test
  void concurrentClaimsOfAnAntiAffinityGroupNeverShareAHost() throws Exception {
    report("h1");
    report("h2");
    ServerGroupRepository groups = hosts.serverGroups();
    var g = groups.create("g", "p1", "u1", "anti-affinity", Optional.empty());
    List<InstanceRecord> members = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      members.add(instance());
    }
    groups.addMembers(g.uuid(), members.stream().map(InstanceRecord::uuid).toList());
    ExecutorService pool = Executors.newFixedThreadPool(10);
    List<Future<Optional<String>>> placed = new ArrayList<>();
    for (InstanceRecord r : members) {
      placed.add(
          pool.submit(
              () -> {
                for (ComputeNodeRecord node : hosts.nodes()) {
                  var rule =
                      new HostRepository.GroupRule(
                          g.uuid(),
                          m ->
                              m.getOrDefault(node.host(), 0) >= 1
                                  ? Optional.of("taken")
                                  : Optional.<String>empty());
                  if (hosts
                      .claim(r.uuid(), node, "nova", u -> Optional.empty(), Optional.of(rule))
                      .isEmpty()) {
                    return Optional.of(node.host());
                  }
                }
                return Optional.<String>empty();
              }));
    }
    List<String> where = new ArrayList<>();
    for (Future<Optional<String>> f : placed) {
      f.get().ifPresent(where::add);
    }
    pool.shutdown();
    assertThat(where).containsExactlyInAnyOrder("h1", "h2");
    assertThat(groups.memberHosts(g.uuid(), "-"))
        .containsOnly(Map.entry("h1", 1), Map.entry("h2", 1));
    assertThat(groups.groupOf(members.get(0).uuid()))
        .map(ServerGroupRepository.Group::uuid)
        .contains(g.uuid());
    assertThat(groups.list(Optional.empty())).hasSize(1);
    groups.delete(g.uuid());
    assertThat(groups.groupOf(members.get(0).uuid())).isEmpty();
  }
}
