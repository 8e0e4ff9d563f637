package io.virga.libvirt;

import static org.assertj.core.api.Assertions.assertThat;

import io.virga.multihost.NamespacedHost;
import io.virga.multihost.NamespacedHostsFixture;
import io.virga.virt.InstanceSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The proof the migration work builds on: a guest spawned by the LibvirtDriver on namespaced host 1
 * (through its unix socket, not the machine's libvirtd) live-migrates peer-to-peer with block copy
 * to host 2 ({@code qemu+tcp://virga-host2/system}), and keeps running there.
 */
class NamespacedHostsMigrationIT {

  @Test
  void tinyGuestBlockMigratesLiveToTheOtherHost() throws Exception {
    try (NamespacedHostsFixture hosts = NamespacedHostsFixture.start(2, false);
        LibvirtDriverFixture f =
            new LibvirtDriverFixture(
                Map.of(
                    "connection_uri", hosts.host(1).uri(),
                    "instances_path", hosts.host(1).instancesDir().toString()))) {
      NamespacedHost h1 = hosts.host(1);
      NamespacedHost h2 = hosts.host(2);
      InstanceSpec spec =
          f.spawn(
              f.spec(
                  "mig",
                  LibvirtDriverFixture.flavor(128, 0, 0),
                  f.diskImage(Map.of()),
                  Optional.empty()));
      f.awaitConsole(spec, "TICK 2", Duration.ofSeconds(90));
      assertThat(virsh("qemu:///system", "list", "--all", "--name"))
          .as("not on the machine's own libvirtd")
          .doesNotContain(spec.domainName());
      assertThat(virsh(h1.uri(), "domstate", spec.domainName())).isEqualTo("running");

      preCreateDestinationDisk(h1, h2, spec);
      int before = f.lastTick(spec);
      long t0 = System.nanoTime();
      virsh(
          h1.uri(),
          "migrate",
          "--live",
          "--p2p",
          "--persistent",
          "--undefinesource",
          "--copy-storage-inc",
          spec.domainName(),
          h2.tcpUri());
      long ms = (System.nanoTime() - t0) / 1_000_000;
      System.out.printf("block live migration between namespaced hosts: %d ms%n", ms);

      assertThat(virsh(h2.uri(), "domstate", spec.domainName())).isEqualTo("running");
      assertThat(virsh(h1.uri(), "list", "--all", "--name")).doesNotContain(spec.domainName());
      Path console = h2.instancesDir().resolve(spec.uuid()).resolve("console.log");
      int first = awaitTicks(console, before + 2);
      assertThat(first)
          .as("the guest's counter went on, it did not reboot")
          .isGreaterThanOrEqualTo(before);
      assertThat(Files.readString(console)).doesNotContain("VIRGA-GUEST-UP");
    }
  }

  /**
   * What pre_live_migration does for block migration: the backing file, the config drive and an
   * empty overlay of the root disk's size.
   */
  private static void preCreateDestinationDisk(NamespacedHost h1, NamespacedHost h2, InstanceSpec s)
      throws Exception {
    QemuImg qemuImg = new QemuImg();
    Path disk = h1.instancesDir().resolve(s.uuid()).resolve("disk");
    QemuImg.Info info = qemuImg.info(disk, "qcow2", true);
    Path backing = Path.of(info.backingFile().orElseThrow());
    Path relative = h1.instancesDir().relativize(backing);
    Path destBacking = h2.instancesDir().resolve(relative);
    Files.createDirectories(destBacking.getParent());
    Files.copy(backing, destBacking);
    Path destDir = h2.instancesDir().resolve(s.uuid());
    Files.createDirectories(destDir);
    // the config drive is read-only: copied as it is, as Nova does
    Files.copy(disk.resolveSibling("disk.config"), destDir.resolve("disk.config"));
    // the backing path as the XML names it: inside host 2 it shows host 2's copy
    qemuImg.createOverlay(
        h2.instancesDir().resolve(s.uuid()).resolve("disk"),
        backing,
        info.backingFormat().orElseThrow(),
        info.virtualSize());
  }

  private static int awaitTicks(Path console, int atLeast) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (true) {
      String out = Files.exists(console) ? Files.readString(console) : "";
      Matcher m = Pattern.compile("TICK (\\d+)").matcher(out);
      int first = -1;
      int last = -1;
      while (m.find()) {
        int t = Integer.parseInt(m.group(1));
        first = first < 0 ? t : first;
        last = t;
      }
      if (last >= atLeast) {
        return first;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("host 2's console never reached TICK " + atLeast + ":\n" + out);
      }
      Thread.sleep(200);
    }
  }

  private static String virsh(String uri, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("virsh", "-c", uri));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes()).strip();
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(String.join(" ", cmd) + " printed: " + out).isZero();
    return out;
  }
}
