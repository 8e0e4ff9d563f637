package io.virga.db;

import io.virga.core.VmState;
import java.util.Optional;
import java.util.Set;

/**
 * Which instances a listing returns. Empty fields do not filter. Name is a regular expression
 * searched in the display name (Nova's behaviour), applied by the caller.
 *
 * @param projectId empty for every project (admin all_tenants)
 */
public record InstanceFilter(
    Optional<String> projectId,
    Optional<String> host,
    Optional<Set<VmState>> vmStates,
    Optional<String> imageRef,
    boolean includeDeleted) {

  public static InstanceFilter project(String projectId) {
    return new InstanceFilter(
        Optional.of(projectId), Optional.empty(), Optional.empty(), Optional.empty(), false);
  }

  public static InstanceFilter all() {
    return new InstanceFilter(
        Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), false);
  }
}
