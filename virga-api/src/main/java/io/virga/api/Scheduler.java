package io.virga.api;

import io.virga.core.Flavor;
import io.virga.core.NoValidHostException;
import io.virga.db.ComputeNodeRecord;
import io.virga.db.ComputeServiceRecord;
import io.virga.db.HostRepository;
import io.virga.db.InstanceRecord;
import io.virga.db.InstanceRepository;
import io.virga.db.ServerGroupRepository;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Picks a host for an instance: filters (service enabled and up, availability zone, RAM, disk, vCPU
 * with allocation ratios), weighs by free RAM, then claims the best host in the database so that
 * concurrent boots never oversubscribe it (usage is counted from the instances assigned to the
 * host, which includes claims the host has not reported yet).
 */
public final class Scheduler {
  private static final Logger LOG = LoggerFactory.getLogger(Scheduler.class);
  static final String NO_VALID_HOST =
      "No valid host was found. There are not enough hosts available.";

  private final HostRepository hosts;
  private final SchedulerOptions options;

  public Scheduler(HostRepository hosts, SchedulerOptions options) {
    this.hosts = hosts;
    this.options = options;
  }

  /**
   * Where a pass put an instance: the node, the instance's row as the claim left it (empty if the
   * row was gone), and the server group the pass found it in (empty: none).
   */
  record Placed(
      ComputeNodeRecord node,
      Optional<InstanceRecord> claimed,
      Optional<ServerGroupRepository.Group> group) {}

  /** Capacity left on a node after what is assigned to it. */
  record Free(double ramMb, double vcpus, double diskGb) {}

  /**
   * Claims a host for the instance and assigns it; throws NoValidHostException with Nova's message
   * plus why each host was refused.
   */
  public ComputeNodeRecord schedule(InstanceRecord instance) {
    return pass().schedule(instance, Optional.empty(), host -> true);
  }

  /**
   * With a destination only its node is a candidate; a forced one (availability_zone "zone:host")
   * skips the enabled and availability-zone filters, as Nova's force_hosts do, but never a host
   * that is down or full.
   */
  ComputeNodeRecord schedule(InstanceRecord instance, Optional<Destination> destination) {
    return pass().schedule(instance, destination, host -> true);
  }

  /** {@link #schedule} among the hosts {@code allowed} accepts (evacuate's target host). */
  public ComputeNodeRecord schedule(
      InstanceRecord instance, java.util.function.Predicate<String> allowed) {
    return pass().schedule(instance, Optional.empty(), allowed);
  }

  /** A scheduling pass for several instances (one multi-create): hosts read once for all. */
  Pass pass() {
    return new Pass();
  }

  /**
   * What one scheduling pass reads once — services, nodes and every host's usage (one aggregated
   * query, not one per host) — and keeps current with its own claims, so the instances of one
   * request cost one read of the hosts between them. The claim itself still re-counts the chosen
   * host's usage under its row lock: a pass's view may be stale (other passes claim at the same
   * time), never oversubscribing. A host a claim refused is re-read; a pass that finds no host
   * after earlier claims reads everything again once before it gives up.
   */
  final class Pass {
    private Map<String, ComputeServiceRecord> services;
    private List<ComputeNodeRecord> nodes;
    private Map<String, InstanceRepository.Usage> usage;
    private boolean used;

    private void read() {
      services =
          hosts.services().stream()
              .collect(Collectors.toMap(ComputeServiceRecord::host, s -> s, (a, b) -> a));
      nodes = hosts.nodes();
      usage = new java.util.HashMap<>(hosts.usageByHost());
      used = false;
    }

    ComputeNodeRecord schedule(
        InstanceRecord instance,
        Optional<Destination> destination,
        java.util.function.Predicate<String> allowed) {
      return place(instance, destination, allowed).node();
    }

    /** {@link #schedule}, answering what the claim read and wrote besides the node. */
    Placed place(
        InstanceRecord instance,
        Optional<Destination> destination,
        java.util.function.Predicate<String> allowed) {
      if (services == null) {
        read();
      }
      try {
        return scheduleOnce(instance, destination, allowed);
      } catch (NoValidHostException e) {
        if (!used) {
          throw e;
        }
        read();
        return scheduleOnce(instance, destination, allowed);
      }
    }

    private InstanceRepository.Usage usageOf(String host) {
      return usage.getOrDefault(host, InstanceRepository.Usage.NONE);
    }

    private Placed scheduleOnce(
        InstanceRecord instance,
        Optional<Destination> destination,
        java.util.function.Predicate<String> allowed) {
      Instant now = Instant.now();
      List<String> refusals = new ArrayList<>();
      boolean forced = destination.map(Destination::forced).orElse(false);
      Optional<ServerGroupRepository.Group> group = hosts.serverGroups().groupOf(instance.uuid());
      Map<String, Integer> members =
          group
              .map(g -> hosts.serverGroups().memberHosts(g.uuid(), instance.uuid()))
              .orElse(Map.of());
      Optional<String> zone = requiredZone(instance);
      List<ComputeNodeRecord> candidates = new ArrayList<>();
      for (ComputeNodeRecord node : nodes) {
        if (destination.isPresent() && !destination.get().matches(node)) {
          continue;
        }
        Optional<String> refused =
            (allowed.test(node.host())
                    ? hostRefusal(
                        instance.flavor(),
                        node,
                        services.get(node.host()),
                        now,
                        forced,
                        zone,
                        usageOf(node.host()))
                    : Optional.of("not the requested host"))
                .or(() -> group.flatMap(g -> ServerGroupPolicy.refusal(g, members, node.host())));
        if (refused.isPresent()) {
          refusals.add(node.host() + ": " + refused.get());
        } else {
          candidates.add(node);
        }
      }
      Optional<Placed> claimed =
          claimFirst(instance, weighed(candidates, group, members), group, refusals);
      if (claimed.isPresent()) {
        return claimed.get();
      }
      String why =
          refusals.isEmpty()
              ? destination
                  .map(d -> "requested host " + d.describe() + " is not registered")
                  .orElse("no compute hosts are registered")
              : String.join("; ", refusals);
      LOG.warn("instance {}: no valid host ({})", instance.uuid(), why);
      throw new NoValidHostException(NO_VALID_HOST + " " + why);
    }

    /** A candidate with its weights: a soft group policy's (lower first), then free RAM. */
    private record Weighed(ComputeNodeRecord node, int groupWeight, double freeRamMb) {
      boolean before(Weighed o) {
        if (groupWeight != o.groupWeight) {
          return groupWeight < o.groupWeight;
        }
        if (freeRamMb != o.freeRamMb) {
          return freeRamMb > o.freeRamMb; // Nova's RAMWeigher: most free RAM first
        }
        return node.host().compareTo(o.node.host()) < 0;
      }
    }

    private List<Weighed> weighed(
        List<ComputeNodeRecord> candidates,
        Optional<ServerGroupRepository.Group> group,
        Map<String, Integer> members) {
      List<Weighed> out = new ArrayList<>(candidates.size());
      for (ComputeNodeRecord n : candidates) {
        out.add(
            new Weighed(
                n,
                group.map(g -> ServerGroupPolicy.weight(g, members, n.host())).orElse(0),
                free(n, usageOf(n.host())).ramMb()));
      }
      return out;
    }

    /**
     * Removes and returns the best candidate: one linear pass (a claim almost always succeeds on
     * the first, so sorting a thousand hosts per instance would be wasted).
     */
    private static Weighed takeBest(List<Weighed> candidates) {
      int best = 0;
      for (int i = 1; i < candidates.size(); i++) {
        if (candidates.get(i).before(candidates.get(best))) {
          best = i;
        }
      }
      Weighed w = candidates.get(best);
      candidates.set(best, candidates.get(candidates.size() - 1));
      candidates.remove(candidates.size() - 1);
      return w;
    }

    /** Claims the first candidate whose claim succeeds; the pass's usage follows its claims. */
    private Optional<Placed> claimFirst(
        InstanceRecord instance,
        List<Weighed> candidates,
        Optional<ServerGroupRepository.Group> group,
        List<String> refusals) {
      String az = instance.availabilityZone().orElse(options.defaultAvailabilityZone());
      while (!candidates.isEmpty()) {
        ComputeNodeRecord node = takeBest(candidates).node();
        String hostAz =
            Optional.ofNullable(services.get(node.host()))
                .map(ComputeServiceRecord::availabilityZone)
                .orElse(az);
        Optional<HostRepository.GroupRule> rule =
            group.map(
                g ->
                    new HostRepository.GroupRule(
                        g.uuid(), m -> ServerGroupPolicy.refusal(g, m, node.host())));
        HostRepository.Claim claim =
            hosts.claimFor(
                instance.uuid(), node, hostAz, resourceRefusal(instance.flavor(), node), rule);
        Optional<String> refused = claim.refusal();
        used = true;
        if (refused.isEmpty()) {
          usage.put(node.host(), usageOf(node.host()).plus(instance.flavor(), 1));
          LOG.info("instance {} scheduled to host {}", instance.uuid(), node.host());
          return Optional.of(new Placed(node, claim.assigned(), group));
        }
        // another pass claimed it meanwhile: what this pass saw of it is stale
        usage.put(node.host(), hosts.usage(node.host()));
        refusals.add(node.host() + ": " + refused.get());
      }
      return Optional.empty();
    }
  }

  /**
   * The zone the instance must be placed in (Nova's RequestSpec.availability_zone): on its first
   * scheduling its own zone column, which then holds only what the user asked for; later the zone
   * its create or unshelve recorded as requested. An instance created without a zone gets its
   * host's zone in its record but moves between zones freely, as in Nova.
   */
  private Optional<String> requiredZone(InstanceRecord instance) {
    if (instance.host().isEmpty() && instance.vmState() == io.virga.core.VmState.BUILDING) {
      return instance.availabilityZone();
    }
    return hosts.requestedZone(instance.uuid());
  }

  /** The filters for {@code instance} asking for {@code flavor} (a resize's new flavor). */
  Optional<String> hostRefusal(
      InstanceRecord instance,
      Flavor flavor,
      ComputeNodeRecord node,
      ComputeServiceRecord svc,
      Instant now) {
    return hostRefusal(flavor, node, svc, now, false, requiredZone(instance), null);
  }

  /**
   * {@code forced}: an admin's forced host skips the enabled and availability-zone filters; {@code
   * usage} what is assigned to the host (null: read it now).
   */
  private Optional<String> hostRefusal(
      Flavor flavor,
      ComputeNodeRecord node,
      ComputeServiceRecord svc,
      Instant now,
      boolean forced,
      Optional<String> zone,
      InstanceRepository.Usage usage) {
    if (svc == null) {
      return Optional.of("no compute service record");
    }
    if (svc.disabled() && !forced) {
      return Optional.of(
          "compute service is disabled" + svc.disabledReason().map(r -> " (" + r + ")").orElse(""));
    }
    if (!svc.isUp(now, options.serviceDownTimeSeconds())) {
      return Optional.of(
          "compute service is down (no heartbeat in " + options.serviceDownTimeSeconds() + " s)");
    }
    if (!forced && zone.isPresent() && !zone.get().equals(svc.availabilityZone())) {
      return Optional.of("in availability zone " + svc.availabilityZone() + ", not " + zone.get());
    }
    return resourceRefusal(flavor, node).apply(usage != null ? usage : hosts.usage(node.host()));
  }

  /** RAM, vCPU and disk filters over the node's capacity and the usage assigned to it. */
  Function<InstanceRepository.Usage, Optional<String>> resourceRefusal(
      Flavor flavor, ComputeNodeRecord node) {
    return usage -> {
      Free free = free(node, usage);
      if (free.ramMb() < flavor.memoryMb()) {
        return Optional.of(
            String.format(
                "%.0f MB RAM free (ratio %.1f), %d MB requested",
                free.ramMb(), options.ramAllocationRatio(), flavor.memoryMb()));
      }
      if (free.vcpus() < flavor.vcpus()) {
        return Optional.of(
            String.format(
                "%.0f vCPUs free (ratio %.1f), %d requested",
                free.vcpus(), options.cpuAllocationRatio(), flavor.vcpus()));
      }
      long disk = diskGb(flavor);
      if (free.diskGb() < disk) {
        return Optional.of(
            String.format(
                "%.0f GB disk free (ratio %.1f), %d GB requested",
                free.diskGb(), options.diskAllocationRatio(), disk));
      }
      return Optional.empty();
    };
  }

  Free free(ComputeNodeRecord node, InstanceRepository.Usage usage) {
    double ram =
        node.memoryMb() * options.ramAllocationRatio()
            - options.reservedHostMemoryMb()
            - usage.ramMb();
    double cpus =
        (node.vcpus() - options.reservedHostCpus()) * options.cpuAllocationRatio() - usage.cores();
    double disk =
        node.localGb() * options.diskAllocationRatio()
            - Math.ceil(options.reservedHostDiskMb() / 1024.0)
            - usage.diskGb();
    return new Free(ram, cpus, disk);
  }

  static long diskGb(Flavor f) {
    return f.rootGb() + f.ephemeralGb() + (f.swapMb() + 1023L) / 1024;
  }
}
