package io.virga.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import io.virga.core.ConflictException;
import io.virga.core.Flavor;
import io.virga.core.HostReport;
import io.virga.core.InstanceUpdate;
import io.virga.core.TaskState;
import io.virga.core.VmState;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The compute repositories' behaviour, run against SQLite (unit) and PostgreSQL (IT). */
abstract class ComputeRepositoriesContract extends DatabaseContract {
  Jdbi jdbi;
  InstanceRepository instances;
  HostRepository hosts;
  Flavor small = new Flavor("1", "small", 512, 1, 1, 0, 0, Map.of("quota:cpu_shares", "10"));

  @BeforeEach
  void setUp() {
    jdbi = db().jdbi();
    instances = new InstanceRepository(jdbi);
    hosts = new HostRepository(jdbi, "nova");
  }

  NewInstance newInstance(String project) {
    return new NewInstance(
        UUID.randomUUID().toString(),
        "vm",
        Optional.empty(),
        "vm",
        project,
        "u1",
        small,
        "img",
        Optional.empty(),
        Map.of("a", "b"),
        List.of("t1"),
        Optional.empty(),
        Optional.empty(),
        Optional.empty(),
        false,
        0,
        "r-1",
        Optional.of("192.0.2.7"),
        Optional.empty());
  }

  @Test
  void instanceIdsAreDistinctAndRowsRoundTrip() {
    InstanceRecord a = instances.create(newInstance("p1"));
    InstanceRecord b = instances.create(newInstance("p1"));
    assertThat(a.id()).isNotEqualTo(b.id());
    assertThat(a.domainName()).matches("instance-[0-9a-f]{8}");
    assertThat(a.vmState()).isEqualTo(VmState.BUILDING);
    assertThat(a.taskState()).contains(TaskState.SCHEDULING);
    assertThat(a.flavor()).isEqualTo(small);
    assertThat(a.metadata()).containsEntry("a", "b");
    assertThat(a.accessIpV4()).contains("192.0.2.7");
    assertThat(a.accessIpV6()).isEmpty();
    assertThat(instances.list(InstanceFilter.project("p1"))).hasSize(2);
    assertThat(instances.list(InstanceFilter.project("p2"))).isEmpty();
  }

  @Test
  void aQuotaHoldsWhenManyCreatesRaceForTheLastPlaces() throws Exception {
    // as API processes would: each create reads the usage and inserts in its own transaction
    int limit = 5;
    var pool = java.util.concurrent.Executors.newFixedThreadPool(6);
    try {
      List<java.util.concurrent.Future<Integer>> results = new java.util.ArrayList<>();
      for (int i = 0; i < 12; i++) {
        results.add(
            pool.submit(
                () ->
                    instances
                        .createWithinQuota(
                            "pq",
                            used -> {
                              if (used.instances() >= limit) {
                                return List.of();
                              }
                              try {
                                Thread.sleep(20); // widen the window between count and insert
                              } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                              }
                              return List.of(newInstance("pq"));
                            })
                        .size()));
      }
      int created = 0;
      for (var f : results) {
        created += f.get();
      }
      assertThat(created).isEqualTo(limit);
      assertThat(instances.list(InstanceFilter.project("pq"))).hasSize(limit);
    } finally {
      pool.shutdownNow();
    }
  }

  private InstanceRecord ownedBy(String owner) {
    return instances
        .createWithinQuota("pl", Optional.of(owner), u -> List.of(newInstance("pl")))
        .get(0);
  }

  @Test
  void onlyUnscheduledBuildsWhoseLeaseRanOutGoToError() throws Exception {
    instances.renewSchedulingLease("api-dead");
    instances.renewSchedulingLease("api-alive");
    InstanceRecord ofDead = ownedBy("api-dead");
    InstanceRecord ownerless = instances.create(newInstance("pl"));
    InstanceRecord ofAlive = ownedBy("api-alive");
    InstanceRecord claimed = ownedBy("api-dead");
    InstanceRecord queuedHere = ownedBy("api-self");
    InstanceRecord droppedHere = ownedBy("api-self");
    Thread.sleep(30);
    java.time.Instant before = java.time.Instant.now();
    Thread.sleep(30);
    InstanceRecord fresh = ownedBy("api-dead");
    // the API process that accepted `ofAlive` renews its lease; `claimed` got its host meanwhile
    instances.renewSchedulingLease("api-alive");
    instances.renewSchedulingLease("api-self");
    instances.compareAndSwap(
        claimed.uuid(),
        InstanceUpdate.none().onHost("h1"),
        List.of(Optional.of(TaskState.SCHEDULING)));

    List<String> failed =
        instances.failUnscheduledBuilds(
            before, Optional.of("api-self"), Set.of(queuedHere.uuid()), uuid -> "lost " + uuid);

    assertThat(failed)
        .containsExactlyInAnyOrder(ofDead.uuid(), ownerless.uuid(), droppedHere.uuid());
    InstanceRecord now = instances.get(ofDead.uuid());
    assertThat(now.vmState()).isEqualTo(VmState.ERROR);
    assertThat(now.taskState()).isEmpty();
    assertThat(instances.latestFault(ofDead.uuid()).orElseThrow().message())
        .isEqualTo("lost " + ofDead.uuid());
    for (InstanceRecord alive : List.of(ofAlive, claimed, queuedHere, fresh)) {
      assertThat(instances.get(alive.uuid()).vmState()).isEqualTo(VmState.BUILDING);
      assertThat(instances.get(alive.uuid()).taskState()).contains(TaskState.SCHEDULING);
      assertThat(instances.latestFault(alive.uuid())).isEmpty();
    }
    // a second pass (another API process) finds nothing left to fail and records no second fault
    assertThat(instances.failUnscheduledBuilds(before, Optional.empty(), Set.of(), uuid -> "again"))
        .isEmpty();
    assertThat(instances.latestFault(ofDead.uuid()).orElseThrow().message()).startsWith("lost ");
    // the dead process's later build is lost too once it is old enough
    Thread.sleep(30);
    assertThat(
            instances.failUnscheduledBuilds(
                java.time.Instant.now(), Optional.of("api-self"), Set.of(), uuid -> "late"))
        .contains(fresh.uuid());
  }

  @Test
  void compareAndSwapLetsOnlyTheExpectedTaskStateWin() {
    InstanceRecord a = instances.create(newInstance("p1"));
    Optional<InstanceRecord> lost =
        instances.compareAndSwap(
            a.uuid(), InstanceUpdate.none().clearTask(), List.of(Optional.empty()));
    assertThat(lost).isEmpty();
    Optional<InstanceRecord> won =
        instances.compareAndSwap(
            a.uuid(),
            InstanceUpdate.none().task(TaskState.SPAWNING),
            List.of(Optional.of(TaskState.SCHEDULING)));
    assertThat(won)
        .get()
        .extracting(InstanceRecord::taskState)
        .isEqualTo(Optional.of(TaskState.SPAWNING));
    Optional<InstanceRecord> done =
        instances.compareAndSwap(
            a.uuid(),
            InstanceUpdate.none().vm(VmState.ACTIVE).clearTask().launched(),
            List.of(Optional.of(TaskState.SPAWNING)));
    assertThat(done.get().taskState()).isEmpty();
    assertThat(done.get().vmState()).isEqualTo(VmState.ACTIVE);
    assertThat(done.get().launchedAt()).isPresent();
    instances.markDeleted(a.uuid());
    assertThat(instances.find(a.uuid()).get().vmState()).isEqualTo(VmState.DELETED);
    assertThat(instances.list(InstanceFilter.all())).isEmpty();
  }

  @Test
  void concurrentClaimsNeverOversubscribeANode() throws Exception {
    hosts.report(
        new HostReport(
            "h1", "h1", "QEMU", 8002000, "127.0.0.1", 4, 0, 2048, 0, 100, 0, 100, 0, "{}"));
    ComputeNodeRecord node = hosts.nodes().get(0);
    List<InstanceRecord> many = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      many.add(instances.create(newInstance("p1")));
    }
    ExecutorService pool = Executors.newFixedThreadPool(10);
    List<Future<Optional<String>>> results = new ArrayList<>();
    for (InstanceRecord r : many) {
      Callable<Optional<String>> c =
          () ->
              hosts.claim(
                  r.uuid(),
                  node,
                  "nova",
                  u -> u.ramMb() + 512 > 2048 ? Optional.of("not enough RAM") : Optional.empty());
      results.add(pool.submit(c));
    }
    int claimed = 0;
    for (Future<Optional<String>> f : results) {
      if (f.get().isEmpty()) {
        claimed++;
      }
    }
    pool.shutdown();
    assertThat(claimed).isEqualTo(4);
    assertThat(hosts.usage("h1").ramMb()).isEqualTo(2048);
    assertThat(instances.onHost("h1")).hasSize(4);
  }

  @Test
  void aHeartbeatMovesOnlyItsServicesLastSeenAndKnowsNoUnreportedHost() throws Exception {
    assertThat(hosts.heartbeat("hb1")).isFalse(); // never reported: the agent sends a full report
    assertThat(hosts.services()).isEmpty();
    hosts.report(
        new HostReport(
            "hb1", "hb1", "QEMU", 8002000, "127.0.0.1", 4, 1, 2048, 512, 100, 0, 100, 1, "{}"));
    hosts.report(
        new HostReport(
            "hb2", "hb2", "QEMU", 8002000, "127.0.0.1", 4, 0, 2048, 0, 100, 0, 100, 0, "{}"));
    Instant seen1 = lastSeen("hb1");
    Instant seen2 = lastSeen("hb2");
    ComputeNodeRecord before =
        hosts.nodes().stream().filter(n -> n.host().equals("hb1")).findFirst().orElseThrow();
    Thread.sleep(20);
    assertThat(hosts.heartbeat("hb1")).isTrue();
    assertThat(lastSeen("hb1")).isAfter(seen1);
    assertThat(lastSeen("hb2")).isEqualTo(seen2);
    assertThat(hosts.nodes().stream().filter(n -> n.host().equals("hb1")).findFirst().orElseThrow())
        .isEqualTo(before);
  }

  private Instant lastSeen(String host) {
    return hosts.services().stream()
        .filter(s -> s.host().equals(host))
        .findFirst()
        .orElseThrow()
        .lastSeenUp()
        .orElseThrow();
  }

  @Test
  void flavorsKeepExtraSpecsAndRefuseDuplicates() {
    FlavorRepository flavors = new FlavorRepository(jdbi);
    flavors.create(small, 1.0, true, Optional.empty());
    assertThatThrownBy(() -> flavors.create(small, 1.0, true, Optional.empty()))
        .isInstanceOf(ConflictException.class);
    flavors.putExtraSpecs("1", Map.of("hw:cpu_policy", "shared"));
    assertThat(flavors.get("1", Optional.of("p")).flavor().extraSpecs())
        .containsOnlyKeys("quota:cpu_shares", "hw:cpu_policy");
    Flavor priv = new Flavor("2", "private", 256, 1, 1, 0, 0, Map.of());
    flavors.create(priv, 1.0, false, Optional.empty());
    assertThat(flavors.list(Optional.of("p"), Optional.empty())).hasSize(1);
    flavors.addProject("2", "p");
    assertThat(flavors.list(Optional.of("p"), Optional.empty())).hasSize(2);
  }

  @Test
  void actionsCollectEventsByRequestId() {
    InstanceActionRepository actions = new InstanceActionRepository(jdbi);
    actions.start("i1", "req-1", "create", "p", "u");
    actions.eventStart("i1", "req-1", "compute__do_build_and_run_instance", "h1");
    actions.eventFinish("i1", "req-1", "compute__do_build_and_run_instance", Optional.of("boom"));
    InstanceActionRecord a = actions.get("i1", "req-1").orElseThrow();
    assertThat(a.events()).hasSize(1);
    assertThat(a.events().get(0).result()).contains("Error");
    assertThat(a.message()).contains("Error");
    assertThat(new QuotaRepository(jdbi).limits("p")).containsEntry("instances", 10L);
    assertThat(Set.copyOf(actions.list("i1"))).hasSize(1);
  }

  @Test
  void eventsKeepAnActionsErrorAndGoToTheNewestActionWithoutARequestId() throws Exception {
    InstanceActionRepository actions = new InstanceActionRepository(jdbi);
    actions.start("i2", "req-a", "create", "p", "u");
    actions.eventFinish("i2", "req-a", "conductor_schedule", Optional.of("no host"));
    actions.eventStart("i2", "req-a", "compute_build", "h1");
    Instant before = actions.get("i2", "req-a").orElseThrow().updatedAt();
    Thread.sleep(5);
    actions.eventFinish("i2", "req-a", "compute_build", Optional.empty());
    InstanceActionRecord a = actions.get("i2", "req-a").orElseThrow();
    assertThat(a.message()).as("a later success does not clear the error").contains("Error");
    assertThat(a.updatedAt()).isAfter(before);
    assertThat(a.events())
        .extracting(InstanceActionRecord.Event::event, InstanceActionRecord.Event::result)
        .containsExactlyInAnyOrder(
            tuple("conductor_schedule", Optional.of("Error")),
            tuple("compute_build", Optional.of("Success")));
    assertThat(a.events()).allMatch(e -> e.finishTime().isPresent());

    actions.start("i2", "req-b", "stop", "p", "u");
    actions.eventStart("i2", "req-unknown", "compute_power_sync", "h1");
    actions.eventFinish("i2", "req-unknown", "compute_power_sync", Optional.empty());
    InstanceActionRecord b = actions.get("i2", "req-b").orElseThrow();
    assertThat(b.events()).singleElement().satisfies(e -> assertThat(e.finishTime()).isPresent());
    assertThat(b.message()).isEmpty();
    actions.eventStart("nobody", "req-x", "compute_build", "h1"); // no action: nothing recorded
    assertThat(actions.list("nobody")).isEmpty();
  }

  // ---- migrations: the record is the claim ----

  private ComputeNodeRecord node(String host) {
    hosts.report(
        new HostReport(
            host, host, "QEMU", 8002000, "127.0.0.1", 4, 0, 2048, 0, 100, 0, 100, 0, "{}"));
    return hosts.nodes().stream().filter(n -> n.host().equals(host)).findFirst().orElseThrow();
  }

  @Test
  void aMigrationHoldsItsFlavorOnTheDestinationThenOnTheSourceUntilConfirmed() {
    MigrationRepository migrations = new MigrationRepository(jdbi);
    ComputeNodeRecord a = node("ha");
    ComputeNodeRecord b = node("hb");
    InstanceRecord i = instances.create(newInstance("p1"));
    assertThat(hosts.claim(i.uuid(), a, "nova", u -> Optional.empty())).isEmpty();
    Flavor big = new Flavor("2", "big", 1024, 2, 5, 0, 0, Map.of());
    NewMigration n =
        new NewMigration(
            UUID.randomUUID().toString(),
            i.uuid(),
            io.virga.core.MigrationType.RESIZE,
            io.virga.core.MigrationStatus.PRE_MIGRATING,
            "ha",
            "ha",
            small,
            big,
            1,
            2,
            VmState.ACTIVE,
            "u1",
            "p1");
    // a refusal leaves no record
    assertThat(migrations.claim(n, b, u -> Optional.of("full"))).contains("full");
    assertThat(migrations.find(n.uuid())).isEmpty();
    assertThat(migrations.claim(n, b, u -> Optional.empty())).isEmpty();
    var m = migrations.get(n.uuid());
    assertThat(m.destCompute()).isEqualTo("hb");
    assertThat(m.oldVmState()).contains(VmState.ACTIVE);
    assertThat(hosts.usage("ha").ramMb()).isEqualTo(512);
    assertThat(hosts.usage("hb").ramMb()).isEqualTo(1024);
    // progress lands on the record and the instance
    migrations.progress(n.uuid(), new io.virga.core.Migration.Progress(0, 0, 0, 10, 5, 5), 50);
    assertThat(migrations.get(n.uuid()).progress().diskProcessed()).isEqualTo(5);
    assertThat(instances.get(i.uuid()).progress()).isEqualTo(50);
    // finish: the instance moves with the new flavor; the source keeps the old one's claim
    InstanceRecord moved = migrations.apply(i.uuid(), m, true);
    assertThat(moved.host()).contains("hb");
    assertThat(moved.flavor()).isEqualTo(big);
    migrations.updateStatus(
        n.uuid(), List.of(), io.virga.core.MigrationStatus.FINISHED, Optional.empty());
    assertThat(hosts.usage("ha").ramMb()).isEqualTo(512);
    assertThat(hosts.usage("hb").ramMb()).isEqualTo(1024);
    assertThat(migrations.inProgress("ha")).extracting(x -> x.uuid()).containsExactly(n.uuid());
    assertThat(migrations.inProgress("hb")).hasSize(1);
    assertThat(migrations.inProgress("hc")).isEmpty();
    // a CAS on status: only from the expected one
    assertThat(
            migrations.updateStatus(
                n.uuid(),
                List.of(io.virga.core.MigrationStatus.RUNNING),
                io.virga.core.MigrationStatus.CONFIRMED,
                Optional.empty()))
        .isEmpty();
    assertThat(
            migrations.updateStatus(
                n.uuid(),
                List.of(io.virga.core.MigrationStatus.FINISHED),
                io.virga.core.MigrationStatus.CONFIRMED,
                Optional.of("none")))
        .isPresent();
    assertThat(hosts.usage("ha").ramMb()).isZero();
    assertThat(migrations.get(n.uuid()).errorStep()).contains("none");
    // filters
    assertThat(migrations.list(MigrationFilter.ofInstance(i.uuid()))).hasSize(1);
    assertThat(migrations.inProgress("ha")).isEmpty();
    assertThat(migrations.list(MigrationFilter.ofInstance("nope"))).isEmpty();
  }

  @Test
  void usageWindowsListLaunchedInstancesOldestFirstWithPaging() throws Exception {
    UsageRepository usage = new UsageRepository(instances);
    List<String> launched = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      InstanceRecord r = instances.create(newInstance("pu"));
      instances.compareAndSwap(r.uuid(), InstanceUpdate.none().launched(), null);
      launched.add(r.uuid());
      Thread.sleep(5); // distinct created_at
    }
    instances.create(newInstance("pu")); // never launched: used nothing
    instances.markDeleted(launched.get(0)); // terminated, still in the window
    long now = System.currentTimeMillis();
    List<InstanceRecord> all =
        usage.activeInWindow(Optional.of("pu"), now - 60_000, now + 60_000, Optional.empty(), 0);
    assertThat(all).extracting(InstanceRecord::uuid).containsExactlyElementsOf(launched);
    List<InstanceRecord> page =
        usage.activeInWindow(
            Optional.of("pu"), now - 60_000, now + 60_000, Optional.of(launched.get(0)), 1);
    assertThat(page).extracting(InstanceRecord::uuid).containsExactly(launched.get(1));
    assertThat(
            usage.activeInWindow(
                Optional.of("pu"), now + 60_000, now + 120_000, Optional.empty(), 0))
        .extracting(InstanceRecord::uuid)
        .containsExactlyElementsOf(launched.subList(1, 3));
    assertThat(usage.activeInWindow(Optional.of("other"), now - 60_000, now, Optional.empty(), 0))
        .isEmpty();
  }

  // ---- what a scheduling pass and a server list page read ----

  private NewInstance withFlavor(String project, Flavor f) {
    NewInstance n = newInstance(project);
    return new NewInstance(
        n.uuid(),
        n.displayName(),
        n.description(),
        n.hostname(),
        n.projectId(),
        n.userId(),
        f,
        n.imageRef(),
        n.availabilityZone(),
        n.metadata(),
        n.tags(),
        n.userData(),
        n.keyName(),
        n.keyData(),
        n.configDrive(),
        n.launchIndex(),
        n.reservationId(),
        n.accessIpV4(),
        n.accessIpV6());
  }

  @Test
  void usageOfEveryHostAtOnceIsWhatEachHostReports() {
    ComputeNodeRecord a = node("ua");
    ComputeNodeRecord b = node("ub");
    node("uc"); // nothing assigned: absent from the map, zero per host
    Flavor big = new Flavor("2", "big", 1024, 2, 5, 1, 600, Map.of());
    for (int i = 0; i < 3; i++) {
      InstanceRecord r = instances.create(withFlavor("p1", i == 0 ? big : small));
      assertThat(hosts.claim(r.uuid(), a, "nova", u -> Optional.empty())).isEmpty();
    }
    InstanceRecord onB = instances.create(withFlavor("p2", big));
    assertThat(hosts.claim(onB.uuid(), b, "nova", u -> Optional.empty())).isEmpty();
    InstanceRecord gone = instances.create(newInstance("p1"));
    assertThat(hosts.claim(gone.uuid(), b, "nova", u -> Optional.empty())).isEmpty();
    instances.markDeleted(gone.uuid());
    instances.create(newInstance("p1")); // not scheduled: on no host
    // a resize of onB to "small" in progress from ub to ua holds small on ua as well
    MigrationRepository migrations = new MigrationRepository(jdbi);
    NewMigration n =
        new NewMigration(
            UUID.randomUUID().toString(),
            onB.uuid(),
            io.virga.core.MigrationType.RESIZE,
            io.virga.core.MigrationStatus.PRE_MIGRATING,
            "ub",
            "ub",
            big,
            small,
            2,
            1,
            VmState.ACTIVE,
            "u1",
            "p2");
    assertThat(migrations.claim(n, a, u -> Optional.empty())).isEmpty();

    Map<String, InstanceRepository.Usage> all = hosts.usageByHost();
    assertThat(all).containsOnlyKeys("ua", "ub");
    for (String h : List.of("ua", "ub")) {
      assertThat(all.get(h)).as(h).isEqualTo(hosts.usage(h));
    }
    assertThat(hosts.usage("uc")).isEqualTo(InstanceRepository.Usage.NONE);
    // 1 big + 2 small + the migration's small; big's disk is 5 + 1 + 1 (600 MB swap) GB
    assertThat(all.get("ua")).isEqualTo(new InstanceRepository.Usage(4, 5, 1024 + 3 * 512, 10));
    assertThat(all.get("ub")).isEqualTo(new InstanceRepository.Usage(1, 2, 1024, 7));
  }

  @Test
  void aListPageFollowsItsMarkerNewestFirst() throws Exception {
    List<String> made = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      made.add(instances.create(newInstance("pl")).uuid());
      if (i % 2 == 0) {
        Thread.sleep(3); // some share a created_at: the id orders them
      }
    }
    instances.create(newInstance("other"));
    instances.markDeleted(made.get(2));
    List<String> newestFirst =
        instances.list(InstanceFilter.project("pl")).stream().map(InstanceRecord::uuid).toList();
    assertThat(newestFirst).hasSize(4).doesNotContain(made.get(2));
    List<String> paged = new ArrayList<>();
    Optional<String> marker = Optional.empty();
    while (true) {
      List<InstanceRecord> page =
          instances.listPage(InstanceFilter.project("pl"), marker, 3).orElseThrow();
      page.forEach(r -> paged.add(r.uuid()));
      if (page.size() < 3) {
        break;
      }
      marker = Optional.of(page.get(2).uuid());
    }
    assertThat(paged).containsExactlyElementsOf(newestFirst);
    // a deleted server still marks a place; an unknown marker is no page at all
    assertThat(
            instances
                .listPage(InstanceFilter.project("pl"), Optional.of(made.get(2)), 10)
                .orElseThrow())
        .extracting(InstanceRecord::uuid)
        .containsExactly(made.get(1), made.get(0));
    assertThat(instances.listPage(InstanceFilter.all(), Optional.of("nope"), 10)).isEmpty();
    assertThat(instances.listPage(InstanceFilter.all(), Optional.empty(), 0)).contains(List.of());
  }

  @Test
  void idsStayDistinctAcrossThreadsAndProcesses() throws Exception {
    // a second Database on the same database stands for a second API process
    try (Database other = Database.open(openedWith())) {
      InstanceRepository there = new InstanceRepository(other.jdbi());
      ExecutorService pool = Executors.newFixedThreadPool(6);
      List<Future<Long>> ids = new ArrayList<>();
      for (int i = 0; i < 240; i++) {
        InstanceRepository repo = i % 2 == 0 ? instances : there;
        ids.add(pool.submit(() -> repo.create(newInstance("pid")).id()));
      }
      Set<Long> seen = new java.util.HashSet<>();
      for (Future<Long> f : ids) {
        assertThat(seen.add(f.get())).isTrue();
      }
      pool.shutdown();
      assertThat(seen).hasSize(240);
      // one process's ids still grow in creation order (a name never comes back)
      long a = instances.create(newInstance("pid")).id();
      long b = instances.create(newInstance("pid")).id();
      assertThat(b).isGreaterThan(a);
    }
  }
}
