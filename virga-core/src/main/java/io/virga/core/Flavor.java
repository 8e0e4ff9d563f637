package io.virga.core;

import java.util.Map;
import java.util.Optional;

/**
 * A flavor as copied onto an instance: sizes plus extra specs ({@code quota:cpu_shares} …).
 *
 * @param id the flavor id the API shows (Nova's flavorid, a string)
 */
public record Flavor(
    String id,
    String name,
    int memoryMb,
    int vcpus,
    int rootGb,
    int ephemeralGb,
    int swapMb,
    Map<String, String> extraSpecs) {

  public Flavor {
    extraSpecs = Map.copyOf(extraSpecs);
  }

  public Optional<String> extraSpec(String key) {
    return Optional.ofNullable(extraSpecs.get(key));
  }
}
