package io.virga.multihost;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One hypervisor host of a {@link NamespacedHosts} set: its own libvirtd and virtlogd in their own
 * mount, UTS, network, PID and IPC namespaces.
 *
 * @param name the host's hostname, resolvable by the other hosts of the set
 * @param ip its address on the set's private bridge (exists only inside the namespaces)
 * @param dir its state on the machine: libvirt's directories, hosts file, instances
 * @param initPid the PID (as the machine sees it) of the namespace's init
 */
public record NamespacedHost(String name, String ip, Path dir, long initPid) {

  /** libvirtd's socket as seen from outside the host. */
  public Path socket() {
    return dir.resolve("run-libvirt").resolve("libvirt-sock");
  }

  /**
   * The URI to reach this host's libvirtd from the machine: {@code qemu+unix:///system?socket=}.
   */
  public String uri() {
    return "qemu+unix:///system?socket=" + socket();
  }

  /**
   * The URI the other hosts reach it by (peer-to-peer migration): {@code qemu+tcp://name/system}.
   */
  public String tcpUri() {
    return "qemu+tcp://" + name + "/system";
  }

  /**
   * This host's instances directory, usable from the machine. Inside every host of the set this
   * path (and every other host's) shows that host's own instances, so domain XML naming it is valid
   * on whichever host it lands; with shared storage all hosts show one directory.
   */
  public Path instancesDir() {
    return dir.resolve("instances");
  }

  /**
   * A command line that runs {@code command} inside this host, in all its namespaces: its files,
   * hostname, libvirt socket at the default path, and its network (the other hosts by name).
   */
  public List<String> enter(List<String> command) {
    return nsenter(List.of("--mount", "--uts", "--ipc", "--net", "--pid"), command);
  }

  /**
   * Like {@link #enter} but on the machine's network, so the command reaches services on the
   * machine's loopback (a broker, the API): how an agent runs on a namespaced host. Its hosts file
   * still names the other hosts by their bridge addresses, which do not exist on the machine's
   * network: such a command must never connect to another host itself (peer-to-peer migration is
   * made by the libvirtds, inside their namespaces).
   */
  public List<String> enterKeepingMachineNetwork(List<String> command) {
    return nsenter(List.of("--mount", "--uts", "--ipc", "--pid"), command);
  }

  private List<String> nsenter(List<String> namespaces, List<String> command) {
    List<String> cmd = new ArrayList<>(List.of("nsenter", "--target", Long.toString(initPid)));
    cmd.addAll(namespaces);
    cmd.add("--");
    cmd.addAll(command);
    return cmd;
  }
}
