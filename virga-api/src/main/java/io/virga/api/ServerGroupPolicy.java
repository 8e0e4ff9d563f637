package io.virga.api;

import io.virga.db.ServerGroupRepository;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a server group's policy says about a host, given where its other members already are: Nova's
 * ServerGroupAffinityFilter / ServerGroupAntiAffinityFilter (hard, with {@code max_server_per_host}
 * at 2.64) and the soft weighers.
 */
final class ServerGroupPolicy {
  static final List<String> POLICIES =
      List.of("affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity");

  private ServerGroupPolicy() {}

  /** Why {@code host} breaks the group's hard policy; empty when it may take the instance. */
  static Optional<String> refusal(
      ServerGroupRepository.Group g, Map<String, Integer> memberHosts, String host) {
    switch (g.policy()) {
      case "affinity" -> {
        if (!memberHosts.isEmpty() && !memberHosts.containsKey(host)) {
          return Optional.of(
              "server group "
                  + g.uuid()
                  + " (affinity) has its members on "
                  + memberHosts.keySet());
        }
      }
      case "anti-affinity" -> {
        int max = g.maxServerPerHost().orElse(1);
        int here = memberHosts.getOrDefault(host, 0);
        if (here >= max) {
          return Optional.of(
              "server group "
                  + g.uuid()
                  + " (anti-affinity, max_server_per_host "
                  + max
                  + ") already has "
                  + here
                  + " member(s) here");
        }
      }
      default -> {}
    }
    return Optional.empty();
  }

  /**
   * The soft policies' preference, smaller first: soft-anti-affinity prefers hosts with fewer
   * members, soft-affinity hosts with more; 0 for every host under the hard policies.
   */
  static int weight(ServerGroupRepository.Group g, Map<String, Integer> memberHosts, String host) {
    int here = memberHosts.getOrDefault(host, 0);
    return switch (g.policy()) {
      case "soft-anti-affinity" -> here;
      case "soft-affinity" -> -here;
      default -> 0;
    };
  }
}
