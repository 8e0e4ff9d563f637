package io.virga.server;

import io.virga.core.Config;
import io.virga.host.HostSetup;
import io.virga.tinyguest.TinyGuest;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code virga host-setup}: makes this host ready to run guests (see {@link HostSetup}). */
@Command(
    name = "host-setup",
    mixinStandardHelpOptions = true,
    description = {
      "Makes this Debian/Ubuntu host ready to run Virga's guests; safe to run again.",
      "Installs missing packages (qemu, libvirt, xorriso, the tiny guest's build tools), sets"
          + " /etc/libvirt/qemu.conf (user/group root, dynamic_ownership 0, security_driver"
          + " none), starts virtlogd and libvirtd, builds the tiny guest and finds out whether"
          + " KVM guests boot here; if not, records virt_type=qemu (TCG) in the configuration.",
      "Prints one line per step; a step with nothing to do says so. Must run as root."
    })
final class HostSetupCommand implements Callable<Integer> {
  @Option(
      names = "--for-tests",
      description = "also install what the test suites need (openstack CLI, PostgreSQL, RabbitMQ)")
  boolean forTests;

  @Option(
      names = "--reprobe-kvm",
      description = "probe KVM again even when virt_type is already configured")
  boolean reprobeKvm;

  @Option(
      names = "--guest-cache",
      paramLabel = "DIR",
      description = "where the tiny guest is cached (default: ${DEFAULT-VALUE})")
  Path guestCache = TinyGuest.defaultCacheDir();

  @Override
  public Integer call() {
    HostSetup.run(
        new HostSetup.Options(forTests, reprobeKvm, guestCache),
        Config.load(),
        System.out::println);
    return 0;
  }
}
