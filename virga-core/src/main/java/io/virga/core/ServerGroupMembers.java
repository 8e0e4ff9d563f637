package io.virga.core;

import java.util.List;
import java.util.Optional;

/**
 * An instance's server group as a compute agent re-checks its policy before building (Nova's {@code
 * _validate_instance_group_policy} reading the InstanceGroup and its members' hosts).
 *
 * @param policy affinity, anti-affinity, soft-affinity or soft-anti-affinity
 * @param maxServerPerHost the anti-affinity rule {@code max_server_per_host} (2.64), if set
 * @param others the group's other live members, wherever they are
 */
public record ServerGroupMembers(
    String uuid, String policy, Optional<Integer> maxServerPerHost, List<Member> others) {

  public ServerGroupMembers {
    others = List.copyOf(others);
  }

  /** One other member: where the scheduler put it and how far its life has gone. */
  public record Member(
      String uuid, Optional<String> host, VmState vmState, Optional<TaskState> taskState) {}
}
