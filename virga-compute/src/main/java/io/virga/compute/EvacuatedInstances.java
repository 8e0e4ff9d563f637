package io.virga.compute;

import io.virga.core.ConductorApi;
import io.virga.core.Instance;
import io.virga.core.Migration;
import io.virga.core.MigrationStatus;
import io.virga.core.NotFoundException;
import io.virga.virt.ComputeDriver;
import io.virga.virt.InstanceSpec;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Nova's {@code _destroy_evacuated_instances}, run when the agent starts and before any recovery:
 * the local domain and disks of every instance evacuated away from this host while it was down are
 * destroyed, keyed by the evacuation migrations whose source is this host — never an instance the
 * control plane places here again — and each such migration is marked completed.
 */
final class EvacuatedInstances {
  private static final Logger log = LoggerFactory.getLogger(EvacuatedInstances.class);

  private final String host;
  private final ComputeDriver driver;
  private final ConductorApi conductor;
  private final SpecBuilder specs;

  EvacuatedInstances(String host, ComputeDriver driver, ConductorApi conductor, SpecBuilder specs) {
    this.host = host;
    this.driver = driver;
    this.conductor = conductor;
    this.specs = specs;
  }

  /** Returns how many local copies were destroyed. */
  int destroyEvacuatedInstances() {
    List<Migration> evacuations;
    try {
      evacuations = conductor.evacuationsFrom(host);
    } catch (io.virga.core.NotImplementedException e) {
      return 0; // a control plane without migration records has no evacuations
    }
    if (evacuations.isEmpty()) {
      return 0;
    }
    Set<String> local = Set.copyOf(driver.listInstanceUuids());
    int destroyed = 0;
    for (Migration m : evacuations) {
      String uuid = m.instanceUuid();
      try {
        Optional<Instance> now = instance(uuid);
        boolean ours = now.flatMap(Instance::host).map(host::equals).orElse(false);
        if (local.contains(uuid) && !ours) {
          Instance i = now.orElseGet(() -> conductor.getInstance(uuid));
          InstanceSpec spec = specs.build(i);
          // recreated from shared disks elsewhere: those disks are the server's now
          boolean shared = driver.instanceDisksTakenOver(spec);
          log.info(
              "instance {} was evacuated to {}: destroying its domain{} here",
              uuid,
              m.destCompute(),
              shared ? " (its disks are on shared storage, kept)" : " and disks");
          driver.destroy(spec, !shared);
          destroyed++;
        }
        conductor.updateMigrationStatus(
            m.uuid(),
            List.of(MigrationStatus.ACCEPTED, MigrationStatus.PRE_MIGRATING, MigrationStatus.DONE),
            MigrationStatus.COMPLETED,
            Optional.empty());
      } catch (RuntimeException e) {
        log.error("cannot clean up evacuated instance {}: {}", uuid, e.toString(), e);
      }
    }
    return destroyed;
  }

  private Optional<Instance> instance(String uuid) {
    try {
      return Optional.of(conductor.getInstance(uuid));
    } catch (NotFoundException e) {
      return Optional.empty();
    }
  }
}
