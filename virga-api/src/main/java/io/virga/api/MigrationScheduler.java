package io.virga.api;

import io.virga.core.Flavor;
import io.virga.core.InvalidInputException;
import io.virga.core.Migration;
import io.virga.core.NoValidHostException;
import io.virga.db.ComputeNodeRecord;
import io.virga.db.ComputeServiceRecord;
import io.virga.db.InstanceRecord;
import io.virga.db.NewMigration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Picks a migration's destination with the boot scheduler's filters and weigher, asking for the new
 * flavor, and claims it by creating the migration record in the same transaction (so the claim is
 * the record). The current host is refused unless the request allows it (a same-host resize).
 */
final class MigrationScheduler {
  private static final Logger LOG = LoggerFactory.getLogger(MigrationScheduler.class);
  private final ComputeDeps deps;

  MigrationScheduler(ComputeDeps deps) {
    this.deps = deps;
  }

  /**
   * @param forcedHost the host the caller named (migrate at 2.56, os-migrateLive)
   * @param skipFilters the caller forced the host (os-migrateLive {@code force}): claim without the
   *     resource filters, as Nova bypasses its scheduler
   */
  Migration schedule(
      InstanceRecord r,
      NewMigration n,
      Optional<String> forcedHost,
      boolean allowSameHost,
      boolean skipFilters) {
    Instant now = Instant.now();
    Map<String, ComputeServiceRecord> services =
        deps.hosts().services().stream()
            .collect(Collectors.toMap(ComputeServiceRecord::host, s -> s, (a, b) -> a));
    List<String> refusals = new ArrayList<>();
    List<ComputeNodeRecord> candidates = new ArrayList<>();
    for (ComputeNodeRecord node : deps.hosts().nodes()) {
      if (forcedHost.isPresent() && !forcedHost.get().equals(node.host())) {
        continue;
      }
      if (!allowSameHost && r.host().equals(Optional.of(node.host()))) {
        refusals.add(node.host() + ": the server is already on it");
        continue;
      }
      Optional<String> refused =
          skipFilters
              ? Optional.empty()
              : deps.scheduler()
                  .hostRefusal(r, n.newFlavor(), node, services.get(node.host()), now);
      if (refused.isPresent()) {
        refusals.add(node.host() + ": " + refused.get());
      } else {
        candidates.add(node);
      }
    }
    candidates.sort(
        Comparator.comparingDouble(
                (ComputeNodeRecord node) ->
                    -deps.scheduler().free(node, deps.hosts().usage(node.host())).ramMb())
            .thenComparing(ComputeNodeRecord::host));
    for (ComputeNodeRecord node : candidates) {
      Optional<String> refused =
          deps.migrations()
              .claim(
                  n,
                  node,
                  skipFilters
                      ? u -> Optional.empty()
                      : deps.scheduler().resourceRefusal(n.newFlavor(), node));
      if (refused.isEmpty()) {
        LOG.info(
            "instance {}: {} {} claimed {}", r.uuid(), n.type().value(), n.uuid(), node.host());
        return deps.migrations().get(n.uuid());
      }
      refusals.add(node.host() + ": " + refused.get());
    }
    String why =
        refusals.isEmpty()
            ? forcedHost
                .map(h -> "compute host " + h + " is not known")
                .orElse("no other compute hosts")
            : String.join("; ", refusals);
    LOG.warn("instance {}: no valid host for {} ({})", r.uuid(), n.type().value(), why);
    throw new NoValidHostException(Scheduler.NO_VALID_HOST + " " + why);
  }

  /** 400 unless {@code host} is a known compute host (a requested destination). */
  void requireKnownHost(String host) {
    if (deps.hosts().service(host).isEmpty()) {
      throw new InvalidInputException("Compute host " + host + " could not be found.");
    }
  }

  static long flavorTypeId(ComputeDeps deps, Flavor f) {
    return deps.flavors().find(f.id()).map(io.virga.db.FlavorRecord::id).orElse(0L);
  }
}
