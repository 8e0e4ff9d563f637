package io.virga.compute;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.virga.core.ComputeAgentApi;
import io.virga.core.ConductorApi;
import io.virga.core.Instance;
import io.virga.core.InstanceUpdate;
import io.virga.core.Migration;
import io.virga.core.MigrationStatus;
import io.virga.core.MigrationType;
import io.virga.core.PowerState;
import io.virga.core.TaskState;
import io.virga.core.VmState;
import io.virga.rpc.RabbitBroker;
import io.virga.rpc.RabbitTransport;
import io.virga.rpc.Rpc;
import io.virga.testing.PerClassFixture;
import io.virga.virt.FakeDriver;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Two agents, each on its own RabbitMQ connection to a real broker, hand a server to each other:
 * the migration steps' agent-to-agent casts and nested calls (the destination's check asking the
 * source, the source asking the destination's pre_live_migration) over the broker.
 */
class RabbitMigrationIT extends AgentFixture {
  @RegisterExtension static final PerClassFixture<RabbitBroker> broker = RabbitBroker.perClass();

  final FakeDriver driver2 = new FakeDriver("host2");
  ComputeManager manager2;

  @AfterEach
  void stopSecond() {
    if (manager2 != null) {
      manager2.close();
    }
    driver2.close();
  }

  @Test
  void resizeAndLiveMigrationBetweenAgentsOverRabbitMq() {
    try (RabbitTransport apiSide = RabbitTransport.connect(broker.get().uri());
        RabbitTransport side1 = RabbitTransport.connect(broker.get().uri());
        RabbitTransport side2 = RabbitTransport.connect(broker.get().uri());
        var conductorListener = Rpc.serve(apiSide, Rpc.CONDUCTOR, ConductorApi.class, conductor)) {
      manager =
          new ComputeManager(
              driver,
              Rpc.conductor(side1),
              i -> IMAGES,
              options(),
              MigrationOptions.defaults(),
              h -> Rpc.computeAgent(side1, h));
      manager2 =
          new ComputeManager(
              driver2,
              Rpc.conductor(side2),
              i -> IMAGES,
              options(),
              MigrationOptions.defaults(),
              h -> Rpc.computeAgent(side2, h));
      manager.start();
      manager2.start();
      try (var l1 = Rpc.serve(side1, Rpc.computeTopic("host1"), ComputeAgentApi.class, manager);
          var l2 = Rpc.serve(side2, Rpc.computeTopic("host2"), ComputeAgentApi.class, manager2)) {
        ComputeAgentApi host1 = Rpc.computeAgent(apiSide, "host1");
        ComputeAgentApi host2 = Rpc.computeAgent(apiSide, "host2");
        String uuid = scheduled();
        host1.buildAndRunInstance(uuid, Optional.empty(), Optional.empty());
        await().atMost(Duration.ofSeconds(20)).until(() -> row(uuid).vmState() == VmState.ACTIVE);

        // resize host1 → host2, as the API starts it: resize_prep, a record, prep_resize cast
        Instance i = row(uuid);
        Migration cold =
            conductor.addMigration(
                FakeConductor.migration(
                    i,
                    MigrationType.MIGRATION,
                    MigrationStatus.PRE_MIGRATING,
                    "host2",
                    i.flavor()));
        conductor.forceUpdateInstance(uuid, InstanceUpdate.none().task(TaskState.RESIZE_PREP));
        host2.prepResize(uuid, cold.uuid());
        await()
            .atMost(Duration.ofSeconds(20))
            .until(() -> conductor.getMigration(cold.uuid()).status() == MigrationStatus.FINISHED);
        await().atMost(Duration.ofSeconds(20)).until(() -> row(uuid).vmState() == VmState.RESIZED);
        assertThat(row(uuid).host()).contains("host2");
        assertThat(driver2.powerState(uuid)).contains(PowerState.RUNNING);
        conductor.updateMigrationStatus(
            cold.uuid(), java.util.List.of(), MigrationStatus.CONFIRMING, Optional.empty());
        host1.confirmResize(uuid, cold.uuid());
        await().atMost(Duration.ofSeconds(20)).until(() -> row(uuid).vmState() == VmState.ACTIVE);
        assertThat(driver.resizeLeftovers()).isEmpty();

        // live migration host2 → host1: the checks (nested calls), then the source's cast
        Migration live =
            conductor.addMigration(
                FakeConductor.migration(
                    row(uuid),
                    MigrationType.LIVE_MIGRATION,
                    MigrationStatus.ACCEPTED,
                    "host1",
                    row(uuid).flavor()));
        conductor.forceUpdateInstance(uuid, InstanceUpdate.none().task(TaskState.MIGRATING));
        String data = host1.checkCanLiveMigrateDestination(uuid, live.uuid(), "auto");
        assertThat(data).contains("\"blockMigration\":true");
        host2.liveMigration(uuid, live.uuid(), data);
        await()
            .atMost(Duration.ofSeconds(20))
            .until(() -> conductor.getMigration(live.uuid()).status() == MigrationStatus.COMPLETED);
        await().atMost(Duration.ofSeconds(20)).until(() -> row(uuid).taskState().isEmpty());
        assertThat(row(uuid).host()).contains("host1");
        assertThat(driver.powerState(uuid)).contains(PowerState.RUNNING);
        assertThat(driver2.powerState(uuid)).isEmpty();
      }
    }
  }
}
