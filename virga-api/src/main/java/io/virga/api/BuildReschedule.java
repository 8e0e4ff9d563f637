package io.virga.api;

import io.virga.core.InstanceUpdate;
import io.virga.core.NoValidHostException;
import io.virga.core.ServerGroupMembers;
import io.virga.core.TaskState;
import io.virga.core.VmState;
import io.virga.db.ComputeNodeRecord;
import io.virga.db.InstanceRecord;
import io.virga.db.ServerGroupRepository;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The conductor's half of a refused build (Nova's {@code build_instances} called again by the
 * compute manager after a RescheduledException): the hosts that refused the instance are kept in
 * its system metadata {@value #RETRY_HOSTS} (Nova's RequestSpec retry hosts); the scheduler picks
 * another host with the same filters, group policy and claim, and the build is cast there. After
 * {@code scheduler_max_attempts} hosts (Nova's {@code [scheduler] max_attempts}, default 3), or
 * when no host is left, the instance goes to ERROR with a NoValidHost fault and loses its host.
 */
final class BuildReschedule {
  private static final Logger LOG = LoggerFactory.getLogger(BuildReschedule.class);
  static final String RETRY_HOSTS = "build_retry_hosts";

  private final ComputeDeps deps;
  private final int maxAttempts;

  BuildReschedule(ComputeDeps deps, int maxAttempts) {
    this.deps = deps;
    this.maxAttempts = maxAttempts;
  }

  void reschedule(String uuid, String host, String reason, Optional<String> adminPass) {
    Optional<InstanceRecord> found = deps.instances().find(uuid);
    if (found.isEmpty()
        || found.get().deleted()
        || found.get().vmState() != VmState.BUILDING
        || !found.get().taskState().equals(Optional.of(TaskState.SCHEDULING))) {
      LOG.info("instance {} no longer waits for a host; not rescheduling it", uuid);
      return;
    }
    List<String> tried = tried(uuid);
    if (!tried.contains(host)) {
      tried.add(host);
    }
    deps.instances().lifecycle().putSystemMetadata(uuid, RETRY_HOSTS, String.join(",", tried));
    if (tried.size() >= maxAttempts) {
      fail(
          uuid,
          "No valid host was found. Exceeded max scheduling attempts "
              + maxAttempts
              + " for instance "
              + uuid
              + ". Last exception: "
              + reason);
      return;
    }
    ComputeNodeRecord next;
    try {
      next = deps.scheduler().schedule(deps.instances().get(uuid), h -> !tried.contains(h));
    } catch (NoValidHostException e) {
      fail(uuid, e.getMessage() + " (refused by " + tried + ": " + reason + ")");
      return;
    }
    LOG.info("instance {}: {} refused it ({}); rescheduled to {}", uuid, host, reason, next.host());
    deps.agents().forHost(next.host()).buildAndRunInstance(uuid, Optional.empty(), adminPass);
  }

  private List<String> tried(String uuid) {
    return deps.instances()
        .lifecycle()
        .systemMetadata(uuid, RETRY_HOSTS)
        .map(s -> new ArrayList<>(Arrays.asList(s.split(","))))
        .orElseGet(ArrayList::new);
  }

  private void fail(String uuid, String message) {
    LOG.warn("instance {}: {}", uuid, message);
    deps.instances().recordFault(uuid, 500, message, Optional.empty(), Optional.empty());
    // Nova nils out host and node: the failed build holds no claim and no group place
    deps.instances().lifecycle().clearHost(uuid);
    deps.instances()
        .compareAndSwap(
            uuid,
            InstanceUpdate.none().vm(VmState.ERROR).clearTask(),
            List.of(Optional.of(TaskState.SCHEDULING)));
  }

  /** The instance's group and its other live members, for the agent's late policy check. */
  Optional<ServerGroupMembers> serverGroupOf(String uuid) {
    return serverGroupOf(deps, uuid);
  }

  static Optional<ServerGroupMembers> serverGroupOf(ComputeDeps deps, String uuid) {
    ServerGroupRepository groups = deps.hosts().serverGroups();
    return groups
        .groupOf(uuid)
        .map(
            g ->
                new ServerGroupMembers(
                    g.uuid(),
                    g.policy(),
                    g.maxServerPerHost(),
                    g.members().stream()
                        .filter(m -> !m.equals(uuid))
                        .flatMap(m -> deps.instances().find(m).stream())
                        .filter(r -> !r.deleted())
                        .map(
                            r ->
                                new ServerGroupMembers.Member(
                                    r.uuid(), r.host(), r.vmState(), r.taskState()))
                        .toList()));
  }
}
