package io.virga.api;

import io.virga.core.Config;
import io.virga.db.FlavorRepository;
import io.virga.db.HostRepository;
import io.virga.db.InstanceActionRepository;
import io.virga.db.InstanceRepository;
import io.virga.db.KeyPairRepository;
import io.virga.db.MigrationRepository;
import io.virga.db.QuotaRepository;
import org.jdbi.v3.core.Jdbi;

/** What the compute API's routes work with. */
public record ComputeDeps(
    InstanceRepository instances,
    InstanceActionRepository actions,
    FlavorRepository flavors,
    KeyPairRepository keyPairs,
    HostRepository hosts,
    QuotaRepository quotas,
    Scheduler scheduler,
    SchedulerOptions options,
    ComputeAgents agents,
    ComputeImages images,
    MigrationRepository migrations,
    MigrationApiOptions migrationOptions) {

  /** Repositories over one database, the scheduler from the configuration. */
  public static ComputeDeps create(
      Config config, Jdbi jdbi, ComputeAgents agents, ComputeImages images) {
    SchedulerOptions options = SchedulerOptions.from(config);
    HostRepository hosts = new HostRepository(jdbi, options.defaultAvailabilityZone());
    return new ComputeDeps(
        new InstanceRepository(jdbi),
        new InstanceActionRepository(jdbi),
        new FlavorRepository(jdbi),
        new KeyPairRepository(jdbi),
        hosts,
        new QuotaRepository(jdbi),
        new Scheduler(hosts, options),
        options,
        agents,
        images,
        new MigrationRepository(jdbi),
        MigrationApiOptions.from(config));
  }
}
