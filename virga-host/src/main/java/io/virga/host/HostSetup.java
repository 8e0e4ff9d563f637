package io.virga.host;

import io.virga.core.Command;
import io.virga.core.Config;
import io.virga.libvirt.LibvirtHost;
import io.virga.tinyguest.TinyGuest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Makes a Debian/Ubuntu host ready to run Virga's guests, idempotently: installs what is missing,
 * lets libvirtd run guests, starts virtlogd and libvirtd, builds the tiny guest and finds out
 * whether KVM guests really boot (else records {@code virt_type=qemu}, TCG). Each step prints one
 * line, and says "nothing to do" when the host already is as it should be.
 */
public final class HostSetup {
  /** What Virga needs on every host (DESIGN §8), plus what the tiny guest's build uses. */
  static final List<String> PACKAGES =
      List.of(
          "qemu-utils",
          "qemu-system-x86",
          "libvirt-daemon",
          "libvirt-daemon-driver-qemu",
          "libvirt-clients",
          "libvirt0",
          "xorriso",
          "busybox-static",
          "syslinux",
          "syslinux-common",
          "mtools",
          "dosfstools",
          "cpio",
          "e2fsprogs",
          "util-linux");

  /** What the test suites need besides: the openstack CLI, PostgreSQL, RabbitMQ. */
  static final List<String> TEST_PACKAGES =
      List.of("python3-openstackclient", "postgresql", "rabbitmq-server");

  /**
   * What {@code virga up --hosts N} (and the multi-host tests) need besides: network namespaces and
   * veth pairs (iproute2), shared storage that libvirt accepts for live migration (bindfs), and the
   * private broker the agents talk over.
   */
  static final List<String> MULTI_HOST_PACKAGES = List.of("iproute2", "bindfs", "rabbitmq-server");

  /** How long the KVM probe waits for the boot line (a KVM boot takes ~1 s, more under load). */
  static final Duration KVM_PROBE_TIMEOUT = Duration.ofSeconds(20);

  /** How long the TCG check waits: a TCG boot takes ~3 s on an idle host, 40 s on a loaded one. */
  static final Duration TCG_PROBE_TIMEOUT = Duration.ofSeconds(120);

  /**
   * @param forTests also install what the test suites need
   * @param reprobeKvm probe KVM even when virt_type is already configured
   * @param cacheDir where the tiny guest is built and cached
   * @param multiHost also install what namespaced hosts ({@code virga up --hosts N}) need
   */
  public record Options(boolean forTests, boolean reprobeKvm, Path cacheDir, boolean multiHost) {
    public Options(boolean forTests, boolean reprobeKvm, Path cacheDir) {
      this(forTests, reprobeKvm, cacheDir, false);
    }

    public static Options defaults(boolean forTests) {
      return new Options(forTests, false, TinyGuest.defaultCacheDir());
    }

    public Options withMultiHost(boolean multiHost) {
      return new Options(forTests, reprobeKvm, cacheDir, multiHost);
    }
  }

  /** The outcome: the virt_type in force, the tiny guest, and whether any step changed the host. */
  public record Result(String virtType, TinyGuest.Artifacts guest, boolean changed) {}

  private final Options options;
  private final Config config;
  private final Consumer<String> out;
  private boolean changed;

  private HostSetup(Options options, Config config, Consumer<String> out) {
    this.options = options;
    this.config = config;
    this.out = out;
  }

  /**
   * Runs every step; {@code out} receives one line per step.
   *
   * @throws HostSetupException when a step cannot be done; the message says what to do
   */
  public static Result run(Options options, Config config, Consumer<String> out) {
    return new HostSetup(options, config, out).run();
  }

  private Result run() {
    checkPlatform();
    installPackages();
    step(
        "libvirt-qemu user",
        HostSetupLibvirt.ensureQemuUser() ? "created (libvirtd's qemu driver needs it)" : null);
    boolean confChanged = HostSetupLibvirt.ensureQemuConf();
    step(
        "qemu.conf",
        confChanged
            ? "set user/group root, dynamic_ownership 0, security_driver none in "
                + HostSetupLibvirt.QEMU_CONF
            : null);
    startVirtlogd();
    startLibvirtd(confChanged);
    TinyGuest.Artifacts guest = buildTinyGuest();
    String virtType = detectVirtType(guest);
    out.accept(
        changed ? "host-setup: done" : "host-setup: done, nothing changed (the host was ready)");
    return new Result(virtType, guest, changed);
  }

  private void checkPlatform() {
    int uid;
    try {
      uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    } catch (IOException | UnsupportedOperationException e) {
      throw new HostSetupException("host-setup runs on Linux only (cannot read /proc/self)", e);
    }
    if (uid != 0) {
      throw new HostSetupException(
          "host-setup must run as root: it installs packages and starts libvirtd. "
              + "Run it again with sudo (sudo ./virga host-setup).");
    }
    String os = osRelease();
    if (!Command.onPath("apt-get") || !Command.onPath("dpkg-query") || os.isEmpty()) {
      throw new HostSetupException(
          "host-setup automates Debian and Ubuntu only (apt-get and /etc/os-release not found). "
              + "Elsewhere install qemu, libvirtd with its qemu driver, xorriso, busybox-static, "
              + "syslinux, mtools and dosfstools by hand, set "
              + HostSetupLibvirt.QEMU_SETTINGS
              + " in /etc/libvirt/qemu.conf and start virtlogd and libvirtd.");
    }
    step("platform", null, os + ", running as root");
  }

  private static String osRelease() {
    Path p = Path.of("/etc/os-release");
    try {
      if (!Files.exists(p)) {
        return "";
      }
      String pretty = "";
      boolean debianLike = false;
      for (String line : Files.readAllLines(p)) {
        String l = line.toLowerCase(Locale.ROOT);
        if ((l.startsWith("id=") || l.startsWith("id_like="))
            && (l.contains("debian") || l.contains("ubuntu"))) {
          debianLike = true;
        }
        if (line.startsWith("PRETTY_NAME=")) {
          pretty = line.substring(12).replace("\"", "");
        }
      }
      return debianLike ? pretty : "";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void installPackages() {
    List<String> wanted = new ArrayList<>(PACKAGES);
    if (options.forTests()) {
      wanted.addAll(TEST_PACKAGES);
    }
    if (options.forTests() || options.multiHost()) {
      MULTI_HOST_PACKAGES.stream().filter(p -> !wanted.contains(p)).forEach(wanted::add);
    }
    List<String> missing = missingPackages(wanted);
    if (missing.isEmpty()) {
      step("packages", null, "nothing to do (" + wanted.size() + " packages installed)");
      return;
    }
    Map<String, String> env = Map.of("DEBIAN_FRONTEND", "noninteractive");
    Duration limit = Duration.ofMinutes(30);
    Command.Result update =
        Command.of("apt-get", "update", "-q", "-o", "DPkg::Lock::Timeout=600")
            .env(env)
            .timeout(limit)
            .run();
    if (!update.ok()) {
      throw aptFailed("apt-get update", update);
    }
    List<String> cmd = new ArrayList<>(List.of("apt-get", "install", "-y", "-q"));
    cmd.addAll(List.of("--no-install-recommends", "-o", "DPkg::Lock::Timeout=600"));
    cmd.addAll(missing);
    // Package scripts must not start postgresql, rabbitmq-server, ...: tests start their own.
    Path policy = Path.of("/usr/sbin/policy-rc.d");
    boolean ownPolicy = false;
    try {
      if (!Files.exists(policy)) {
        Files.writeString(policy, "#!/bin/sh\n# virga host-setup: no daemon starts\nexit 101\n");
        policy.toFile().setExecutable(true);
        ownPolicy = true;
      }
      Command.Result install = Command.of(cmd).env(env).timeout(limit).run();
      if (!install.ok()) {
        throw aptFailed("apt-get install", install);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      if (ownPolicy) {
        try {
          Files.deleteIfExists(policy);
        } catch (IOException e) {
          out.accept("warning: could not remove " + policy + ": " + e.getMessage());
        }
      }
    }
    List<String> still = missingPackages(wanted);
    if (!still.isEmpty()) {
      throw new HostSetupException(
          "apt-get install finished but these are still not installed: " + still);
    }
    step("packages", "installed " + String.join(" ", missing));
  }

  private static HostSetupException aptFailed(String what, Command.Result r) {
    String err = r.stderr().strip();
    if (err.length() > 2000) {
      err = "..." + err.substring(err.length() - 2000);
    }
    return new HostSetupException(
        what
            + " failed (exit "
            + r.exitCode()
            + "):\n"
            + err
            + "\nFix the apt problem above (network, /etc/apt/sources.list, a held dpkg lock: "
            + "`dpkg --configure -a`) and run host-setup again.");
  }

  /** The packages of the list that dpkg does not report as installed. */
  static List<String> missingPackages(List<String> wanted) {
    List<String> cmd = new ArrayList<>(List.of("dpkg-query", "-W", "-f=${Package} ${Status}\\n"));
    cmd.addAll(wanted);
    Command.Result r = Command.of(cmd).run(); // exits 1 when some are unknown: fine
    Set<String> installed = installedPackages(r.stdout());
    return wanted.stream().filter(p -> !installed.contains(p)).toList();
  }

  /** The names dpkg-query lines ("name status words") report as installed; ":arch" dropped. */
  static Set<String> installedPackages(String dpkgQueryOutput) {
    Set<String> installed = new HashSet<>();
    for (String line : dpkgQueryOutput.split("\n")) {
      String[] f = line.strip().split(" ");
      if (f.length >= 4 && f[f.length - 1].equals("installed")) {
        installed.add(f[0].replaceFirst(":.*", ""));
      }
    }
    return installed;
  }

  private void startVirtlogd() {
    if (HostSetupLibvirt.socketAnswers(HostSetupLibvirt.VIRTLOGD_SOCK)) {
      step("virtlogd", null, "nothing to do (running)");
      return;
    }
    HostSetupLibvirt.start("virtlogd", HostSetupLibvirt.VIRTLOGD_SOCK);
    step("virtlogd", "started");
  }

  private void startLibvirtd(boolean confChanged) {
    boolean running = HostSetupLibvirt.socketAnswers(HostSetupLibvirt.LIBVIRT_SOCK);
    if (running && !confChanged && HostSetupLibvirt.qemuSystemAnswers()) {
      step("libvirtd", null, "nothing to do (running, qemu:///system answers)");
      return;
    }
    long start = System.nanoTime();
    String what = "started";
    if (running) {
      HostSetupLibvirt.stopLibvirtd();
      what = "restarted to apply qemu.conf";
    }
    HostSetupLibvirt.start("libvirtd", HostSetupLibvirt.LIBVIRT_SOCK);
    HostSetupLibvirt.waitFor(
        "qemu:///system to answer", HostSetupLibvirt::qemuSystemAnswers, Duration.ofSeconds(60));
    step("libvirtd", what + "; qemu:///system answers after " + millis(start) + " ms");
  }

  private TinyGuest.Artifacts buildTinyGuest() {
    long start = System.nanoTime();
    TinyGuest.Build o = TinyGuest.ensure(options.cacheDir());
    if (o.built()) {
      step("tiny guest", "built in " + millis(start) + " ms: " + o.artifacts().disk());
    } else {
      step("tiny guest", null, "nothing to do (cached: " + o.artifacts().disk() + ")");
    }
    return o.artifacts();
  }

  private String detectVirtType(TinyGuest.Artifacts guest) {
    Optional<String> configured = config.get("virt_type");
    if (configured.isPresent() && !options.reprobeKvm()) {
      step(
          "virt_type",
          null,
          "nothing to do (virt_type="
              + configured.get()
              + " in "
              + config.file()
              + "; --reprobe-kvm probes again)");
      return configured.get();
    }
    try (LibvirtHost host = new LibvirtHost("qemu:///system")) {
      return detectVirtType(host, guest);
    }
  }

  private String detectVirtType(LibvirtHost host, TinyGuest.Artifacts guest) {
    KvmProbe.Outcome probe = KvmProbe.probe(host, guest, KVM_PROBE_TIMEOUT);
    String virtType = probe.booted() ? "kvm" : "qemu";
    if (!probe.booted()) {
      // before settling on TCG, make sure this host can run guests at all
      KvmProbe.Outcome tcg = KvmProbe.boot(host, "qemu", guest, TCG_PROBE_TIMEOUT);
      if (!tcg.booted()) {
        throw new HostSetupException(
            "libvirtd cannot run guests here, not even under TCG: "
                + tcg.detail()
                + " (KVM: "
                + probe.detail()
                + "). See /var/log/libvirt/qemu/ and libvirtd's log.");
      }
    }
    boolean written = config.persist("virt_type", virtType);
    String why =
        probe.booted()
            ? "KVM guests boot here: using KVM"
            : "KVM guests do not boot here (" + probe.detail() + "): using TCG";
    step(
        "virt_type",
        written ? why + "; wrote virt_type=" + virtType + " to " + config.file() : null,
        why + "; nothing to do (virt_type=" + virtType + " already in " + config.file() + ")");
    return virtType;
  }

  /** One line for a step: {@code did} when it changed something, else "nothing to do". */
  private void step(String name, String did) {
    step(name, did, "nothing to do");
  }

  private void step(String name, String did, String nothing) {
    if (did != null) {
      changed = true;
      out.accept(name + ": " + did);
    } else {
      out.accept(name + ": " + nothing);
    }
  }

  private static long millis(long startNanos) {
    return (System.nanoTime() - startNanos) / 1_000_000;
  }
}
