package io.virga.api;

import io.virga.core.InvalidInputException;
import io.virga.db.ComputeNodeRecord;
import java.util.Optional;

/**
 * Where an admin asked a server to go: {@code availability_zone "az:host[:node]"} (Nova's forced
 * host: the availability-zone and enabled filters are skipped) or, from microversion 2.74, {@code
 * host} / {@code hypervisor_hostname} (a requested destination: every filter still applies).
 */
record Destination(Optional<String> host, Optional<String> node, boolean forced) {

  Destination {
    if (host.isEmpty() && node.isEmpty()) {
      throw new InvalidInputException("a requested destination needs a host or a node");
    }
  }

  /** The forced form inside {@code availability_zone}, or empty when it names a zone only. */
  static Optional<Destination> fromAvailabilityZone(String az) {
    if (!az.contains(":")) {
      return Optional.empty();
    }
    String[] p = az.split(":", 3);
    Optional<String> host = Optional.of(p[1]).filter(s -> !s.isEmpty());
    Optional<String> node =
        p.length > 2 ? Optional.of(p[2]).filter(s -> !s.isEmpty()) : Optional.empty();
    if (host.isEmpty() && node.isEmpty()) {
      throw new InvalidInputException(
          "Invalid availability_zone " + az + ": expected zone:host or zone:host:node");
    }
    return Optional.of(new Destination(host, node, true));
  }

  /** The zone part of {@code az:host[:node]}, or the whole value when it names a zone only. */
  static Optional<String> zoneOf(String az) {
    String zone = az.contains(":") ? az.substring(0, az.indexOf(':')) : az;
    return Optional.of(zone).filter(s -> !s.isEmpty());
  }

  boolean matches(ComputeNodeRecord n) {
    return host.map(h -> h.equals(n.host())).orElse(true)
        && node.map(h -> h.equals(n.hypervisorHostname())).orElse(true);
  }

  String describe() {
    return host.orElse("") + node.map(n -> " (node " + n + ")").orElse("");
  }
}
