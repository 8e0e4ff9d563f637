package io.virga.multihost;

import java.util.ArrayList;
import java.util.List;

/**
 * The private network of a set of namespaced hosts: a bridge inside a network namespace of its own,
 * and per host a veth pair created there with its peer moved straight into the host's namespace as
 * {@code eth0}. Nothing is ever created in the machine's network namespace.
 */
final class HostNetwork {
  private static final String BRIDGE = "virga-br";
  private final long bridgePid;

  HostNetwork(long bridgePid) {
    this.bridgePid = bridgePid;
  }

  void createBridge() {
    HostExec.run(inNet(bridgePid, "ip", "link", "set", "lo", "up"));
    HostExec.run(inNet(bridgePid, "ip", "link", "add", BRIDGE, "type", "bridge"));
    HostExec.run(inNet(bridgePid, "ip", "link", "set", BRIDGE, "up"));
  }

  /** Connects host {@code n} (1-based) to the bridge with its address on eth0. */
  void attach(NamespacedHost host, int n) {
    String port = "veth-h" + n;
    String hostNs = Long.toString(host.initPid());
    HostExec.run(
        inNet(
            bridgePid, "ip", "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns",
            hostNs));
    HostExec.run(inNet(bridgePid, "ip", "link", "set", port, "master", BRIDGE));
    HostExec.run(inNet(bridgePid, "ip", "link", "set", port, "up"));
    HostExec.run(inNet(host.initPid(), "ip", "addr", "add", host.ip() + "/24", "dev", "eth0"));
    HostExec.run(inNet(host.initPid(), "ip", "link", "set", "eth0", "up"));
  }

  private static List<String> inNet(long pid, String... command) {
    List<String> cmd = new ArrayList<>(List.of("nsenter", "--net=/proc/" + pid + "/ns/net", "--"));
    cmd.addAll(List.of(command));
    return cmd;
  }
}
