package io.virga.multihost;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Real namespaced libvirtds: hostnames, TCP between hosts, private dirs, nothing left behind. */
class NamespacedHostsIT {

  @Test
  void twoHostsReachEachOtherAndLeaveNothingBehind() throws Exception {
    List<String> linksBefore = machineLinks();
    NamespacedHost h1;
    NamespacedHost h2;
    try (NamespacedHostsFixture hosts = NamespacedHostsFixture.start(2, false)) {
      h1 = hosts.host(1);
      h2 = hosts.host(2);
      assertThat(virsh(h1.uri(), "hostname")).isEqualTo("virga-host1");
      assertThat(virsh(h2.uri(), "hostname")).isEqualTo("virga-host2");
      // host1 reaches host2's libvirtd by name over the private bridge (peer-to-peer migration)
      assertThat(HostExec.run(h1.enter(List.of("virsh", "-c", h2.tcpUri(), "hostname"))).strip())
          .isEqualTo("virga-host2");
      assertThat(HostExec.run(h1.enter(List.of("hostname"))).strip()).isEqualTo("virga-host1");
      // same path, each host sees its own instances
      Files.writeString(h1.instancesDir().resolve("mine"), "host1");
      assertThat(HostExec.run(h2.enter(List.of("ls", h1.instancesDir().toString())))).isBlank();
      assertThat(HostExec.run(h1.enter(List.of("cat", h2.instancesDir() + "/mine"))))
          .isEqualTo("host1");
      assertThat(machineLinks()).isEqualTo(linksBefore);
    }
    assertGone(h1);
    assertGone(h2);
    assertThat(machineLinks()).isEqualTo(linksBefore);
  }

  @Test
  void sharedStorageIsOneGlusterfsTypedDirectory() throws Exception {
    try (NamespacedHostsFixture hosts = NamespacedHostsFixture.start(2, true)) {
      NamespacedHost h1 = hosts.host(1);
      NamespacedHost h2 = hosts.host(2);
      Files.writeString(h1.instancesDir().resolve("shared-file"), "both");
      assertThat(HostExec.run(h2.enter(List.of("cat", h2.instancesDir() + "/shared-file"))))
          .isEqualTo("both");
      String type =
          HostExec.run(h2.enter(List.of("stat", "-f", "-c", "%T", h2.instancesDir() + "/")))
              .strip();
      assertThat(type).contains("fuse");
      String mounts = HostExec.run(h2.enter(List.of("cat", "/proc/self/mounts")));
      assertThat(mounts).contains("fuse.glusterfs");
    }
  }

  @Test
  void aKilledRunsHostsAreReapedByTheNextStart() throws Exception {
    NamespacedHostsFixture hosts = NamespacedHostsFixture.start(1, false);
    NamespacedHost h1 = hosts.host(1);
    try {
      // make this run look SIGKILLed: its record names an owner that is gone
      Path record = hosts.set().owned().file();
      List<String> lines = Files.readAllLines(record);
      lines.set(0, "owner 2147483646 1");
      Files.write(record, lines);

      assertThat(OwnedProcesses.reapStale(OwnedProcesses.DEFAULT_DIR)).isGreaterThanOrEqualTo(2);
      assertGone(h1);
    } finally {
      hosts.close();
    }
  }

  private static void assertGone(NamespacedHost h) throws Exception {
    for (int i = 0; i < 50 && ProcessHandle.of(h.initPid()).isPresent(); i++) {
      Thread.sleep(100);
    }
    assertThat(ProcessHandle.of(h.initPid())).as("init of " + h.name()).isEmpty();
    try (Stream<ProcessHandle> all = ProcessHandle.allProcesses()) {
      assertThat(
              all.map(p -> p.info().commandLine().orElse(""))
                  .filter(c -> c.contains(h.dir().toString())))
          .as("processes of " + h.name())
          .isEmpty();
    }
    assertThat(Files.readString(Path.of("/proc/self/mountinfo")))
        .doesNotContain(h.dir().toString());
  }

  private static List<String> machineLinks() {
    return HostExec.run(List.of("ip", "-o", "link", "show"))
        .lines()
        .map(l -> l.split(":")[1].strip())
        .toList();
  }

  private static String virsh(String uri, String... args) {
    List<String> cmd = new java.util.ArrayList<>(List.of("virsh", "-c", uri));
    cmd.addAll(List.of(args));
    return HostExec.run(cmd).strip();
  }
}
