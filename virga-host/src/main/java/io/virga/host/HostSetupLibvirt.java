package io.virga.host;

import io.virga.core.Command;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The libvirt half of host setup: the {@code libvirt-qemu} user, qemu.conf, and the virtlogd and
 * libvirtd daemons (through systemd when it runs the host and ships their units, else as daemons).
 */
final class HostSetupLibvirt {
  static final Path QEMU_CONF = Path.of("/etc/libvirt/qemu.conf");
  static final Path LIBVIRT_SOCK = Path.of("/run/libvirt/libvirt-sock");
  static final Path VIRTLOGD_SOCK = Path.of("/run/libvirt/virtlogd-sock");

  /**
   * What qemu.conf must say: guests run as root, libvirt leaves file ownership and labels alone.
   */
  static final Map<String, String> QEMU_SETTINGS = qemuSettings();

  private static final Pattern ASSIGNMENT = Pattern.compile("^\\s*([A-Za-z_]+)\\s*=\\s*(.*?)\\s*$");

  private HostSetupLibvirt() {}

  private static Map<String, String> qemuSettings() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("user", "\"root\"");
    m.put("group", "\"root\"");
    m.put("dynamic_ownership", "0");
    m.put("security_driver", "\"none\"");
    return m;
  }

  /** Creates the libvirt-qemu system user libvirtd's qemu driver insists on; false if it exists. */
  static boolean ensureQemuUser() {
    if (Command.of("getent", "passwd", "libvirt-qemu").run().ok()) {
      return false;
    }
    List<String> cmd = new ArrayList<>(List.of("useradd", "--system", "--no-create-home"));
    cmd.addAll(List.of("--home-dir", "/var/lib/libvirt", "--shell", "/usr/sbin/nologin"));
    if (Command.of("getent", "group", "libvirt-qemu").run().ok()) {
      cmd.addAll(List.of("-g", "libvirt-qemu"));
    } else {
      cmd.add("--user-group");
    }
    cmd.add("libvirt-qemu");
    Command.of(cmd).check();
    return true;
  }

  /**
   * The qemu.conf text with {@link #QEMU_SETTINGS} applied, or empty if it already says all of it.
   * Other lines are kept as they are; a setting already present is changed in place.
   */
  static Optional<String> updatedQemuConf(String current) {
    Map<String, String> missing = new LinkedHashMap<>(QEMU_SETTINGS);
    List<String> lines = new ArrayList<>(current.lines().toList());
    boolean changed = false;
    for (int i = 0; i < lines.size(); i++) {
      Matcher m = ASSIGNMENT.matcher(lines.get(i));
      if (m.matches() && QEMU_SETTINGS.containsKey(m.group(1))) {
        String key = m.group(1);
        String want = QEMU_SETTINGS.get(key);
        missing.remove(key);
        if (!m.group(2).equals(want)) {
          lines.set(i, key + " = " + want);
          changed = true;
        }
      }
    }
    if (!missing.isEmpty()) {
      lines.add("# written by virga host-setup: guests run as root, no relabelling");
      missing.forEach((k, v) -> lines.add(k + " = " + v));
      changed = true;
    }
    return changed ? Optional.of(String.join("\n", lines) + "\n") : Optional.empty();
  }

  /** Applies {@link #QEMU_SETTINGS} to qemu.conf; true if the file changed. */
  static boolean ensureQemuConf() {
    try {
      String current = Files.exists(QEMU_CONF) ? Files.readString(QEMU_CONF) : "";
      Optional<String> updated = updatedQemuConf(current);
      if (updated.isEmpty()) {
        return false;
      }
      Files.createDirectories(QEMU_CONF.getParent());
      Path tmp = QEMU_CONF.resolveSibling("qemu.conf.virga-tmp");
      Files.writeString(tmp, updated.get());
      Files.move(tmp, QEMU_CONF, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      return true;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot update " + QEMU_CONF, e);
    }
  }

  /** True if something accepts connections on the unix socket. */
  static boolean socketAnswers(Path socket) {
    if (!Files.exists(socket)) {
      return false;
    }
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(socket));
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** True if qemu:///system answers (libvirtd runs and its qemu driver loaded). */
  static boolean qemuSystemAnswers() {
    return socketAnswers(LIBVIRT_SOCK)
        && Command.of("virsh", "-c", "qemu:///system", "version")
            .timeout(Duration.ofSeconds(20))
            .run()
            .ok();
  }

  /** True when systemd is PID 1 and has a unit for this daemon. */
  static boolean managedBySystemd(String daemon) {
    try {
      boolean systemd = Files.readString(Path.of("/proc/1/comm")).strip().equals("systemd");
      return systemd && Command.of("systemctl", "cat", daemon + ".service").run().ok();
    } catch (IOException e) {
      return false;
    }
  }

  /** Starts a daemon (virtlogd or libvirtd) and waits until its socket answers. */
  static void start(String daemon, Path socket) {
    if (managedBySystemd(daemon)) {
      Command.of("systemctl", "start", daemon + ".service").check();
    } else {
      try {
        Files.createDirectories(Path.of("/var/log/libvirt"));
        Files.createDirectories(Path.of("/var/run/libvirt"));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      // -d forks into the background once the daemon is ready; its stdio goes to /dev/null
      Command.of(daemon, "-d").timeout(Duration.ofSeconds(60)).forksDaemon().check();
    }
    waitFor(daemon, () -> socketAnswers(socket), Duration.ofSeconds(30));
  }

  /** Stops libvirtd (to apply a changed qemu.conf); running guests keep running. */
  static void stopLibvirtd() {
    if (managedBySystemd("libvirtd")) {
      Command.of("systemctl", "stop", "libvirtd.service").check();
      return;
    }
    try {
      Path pidFile = Path.of("/run/libvirtd.pid");
      if (Files.exists(pidFile)) {
        String pid = Files.readString(pidFile).strip();
        if (pid.matches("\\d+")) {
          Command.of("kill", "-TERM", pid).run();
          waitFor(
              "libvirtd to stop",
              () -> !Files.exists(Path.of("/proc", pid)),
              Duration.ofSeconds(30));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static void waitFor(String what, java.util.function.BooleanSupplier ready, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!ready.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new HostSetupException(
            "timed out after "
                + timeout.toSeconds()
                + " s waiting for "
                + what
                + "; see /var/log/libvirt/ and `journalctl -u "
                + what
                + "` where systemd runs");
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new HostSetupException("interrupted waiting for " + what, e);
      }
    }
  }
}
