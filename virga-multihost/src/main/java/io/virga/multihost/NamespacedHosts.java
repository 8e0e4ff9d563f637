package io.virga.multihost;

import io.virga.core.Command;
import io.virga.core.CommandException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * N hypervisor hosts on this machine (DESIGN §8): each a libvirtd + virtlogd of its own inside
 * {@code unshare --mount --uts --net --pid --ipc --cgroup}, with a tmpfs over /run, private libvirt
 * directories, its own hostname and hosts file, its own instances directory, and libvirtd listening
 * on TCP (no auth) for the other hosts only: their network namespaces are joined by veth pairs to a
 * bridge in a namespace of its own, on addresses that exist nowhere else. The machine reaches each
 * host through its unix socket ({@link NamespacedHost#uri()}).
 *
 * <p>{@link #close()} kills each namespace's init, which takes every process, mount and network
 * device of the namespace with it. A run killed before it could close is cleaned up when the next
 * set starts ({@link OwnedProcesses#reapStale}).
 */
public final class NamespacedHosts implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(NamespacedHosts.class);
  private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9-]{0,40}");

  /**
   * @param root where the hosts' directories live ({@code <root>/<name>/}, {@code <root>/shared})
   * @param count how many hosts
   * @param namePrefix hostnames are the prefix plus 1..N
   * @param subnet first three octets of the bridge's /24 (hosts get .11, .12, …)
   * @param sharedStorage all hosts' instances on one directory (FUSE, type glusterfs)
   * @param commonInstancesPath a path that shows the host's own instances inside every host
   * @param owned where this run records its processes
   * @param startTimeout how long each libvirtd may take to answer
   */
  public record Options(
      Path root,
      int count,
      String namePrefix,
      String subnet,
      boolean sharedStorage,
      Optional<Path> commonInstancesPath,
      Path owned,
      Duration startTimeout) {
    public Options {
      if (count < 1 || count > 200) {
        throw new IllegalArgumentException("host count must be 1..200, not " + count);
      }
      if (!NAME.matcher(namePrefix).matches()) {
        throw new IllegalArgumentException("bad host name prefix " + namePrefix);
      }
      if (!subnet.matches("\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}")) {
        throw new IllegalArgumentException("subnet must be three octets, not " + subnet);
      }
    }

    public static Options of(Path root, int count) {
      return new Options(
          root,
          count,
          "virga-host",
          "10.231.0",
          false,
          Optional.empty(),
          OwnedProcesses.DEFAULT_DIR,
          Duration.ofSeconds(60));
    }

    public Options withSharedStorage(boolean shared) {
      return new Options(
          root, count, namePrefix, subnet, shared, commonInstancesPath, owned, startTimeout);
    }

    public Options withCommonInstancesPath(Path path) {
      return new Options(
          root, count, namePrefix, subnet, sharedStorage, Optional.of(path), owned, startTimeout);
    }

    public Options withNamePrefix(String prefix) {
      return new Options(
          root, count, prefix, subnet, sharedStorage, commonInstancesPath, owned, startTimeout);
    }
  }

  private final Options options;
  private final OwnedProcesses owned;
  private final List<Process> namespaces = new ArrayList<>();
  private final List<NamespacedHost> hosts = new ArrayList<>();
  private Process bridge;

  private NamespacedHosts(Options options, OwnedProcesses owned) {
    this.options = options;
    this.owned = owned;
  }

  /** Starts the hosts and waits until each libvirtd answers; on failure stops what started. */
  public static NamespacedHosts start(Options options) {
    int reaped = OwnedProcesses.reapStale(options.owned());
    if (reaped > 0) {
      LOG.info("stopped {} processes a killed run had left", reaped);
    }
    NamespacedHosts set =
        new NamespacedHosts(options, OwnedProcesses.open(options.owned(), "namespaced-hosts"));
    try {
      set.doStart();
      return set;
    } catch (RuntimeException e) {
      set.close();
      throw e;
    }
  }

  private void doStart() {
    Path root = options.root().toAbsolutePath();
    Path shared = options.sharedStorage() ? root.resolve("shared") : null;
    List<NamespacedHost> planned = new ArrayList<>();
    for (int i = 1; i <= options.count(); i++) {
      String name = options.namePrefix() + i;
      planned.add(
          new NamespacedHost(name, options.subnet() + "." + (10 + i), root.resolve(name), 0));
    }
    for (NamespacedHost h : planned) {
      HostFiles.prepare(h, planned, shared);
    }
    bridge = startProcess(List.of("unshare", "--net", "--", "sleep", "infinity"), root, "bridge");
    HostNetwork network = new HostNetwork(bridge.pid());
    network.createBridge();
    List<Path> aliases = planned.stream().map(NamespacedHost::instancesDir).toList();
    Path script = writeInitScript(root);
    for (NamespacedHost h : planned) {
      Process ns = startProcess(unshare(h, script, shared, aliases), h.dir(), h.name());
      long init = initOf(ns, h);
      NamespacedHost host = new NamespacedHost(h.name(), h.ip(), h.dir(), init);
      writeInitPid(host);
      try {
        network.attach(host, hosts.size() + 1);
      } catch (NamespacedHostsException e) {
        throw ns.isAlive() ? e : failed(h, "its init exited with " + ns.exitValue());
      }
      hosts.add(host);
    }
    for (int i = 0; i < hosts.size(); i++) {
      awaitLibvirtd(hosts.get(i), namespaces.get(i));
    }
    LOG.info(
        "{} namespaced hosts up under {}: {}",
        hosts.size(),
        root,
        hosts.stream().map(h -> h.name() + "=" + h.ip()).toList());
  }

  /** {@code <host>/init.pid}: how a later command finds the host to enter it. */
  private static void writeInitPid(NamespacedHost h) {
    try {
      Files.writeString(h.dir().resolve(INIT_PID), h.initPid() + "\n");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + h.dir().resolve(INIT_PID), e);
    }
  }

  /**
   * The pid of the running init of the host kept in {@code hostDir} (from its {@code init.pid}),
   * when that process is alive and is this host's init; empty once the set stopped.
   */
  public static Optional<Long> runningInit(Path hostDir) {
    Path abs = hostDir.toAbsolutePath();
    long pid;
    try {
      pid = Long.parseLong(Files.readString(abs.resolve(INIT_PID)).strip());
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
    return ProcessHandle.of(pid)
        .filter(ProcessHandle::isAlive)
        .filter(
            p -> {
              List<String> args = List.of(p.info().arguments().orElse(new String[0]));
              return args.size() >= 2
                  && args.get(0).endsWith("host-init.sh")
                  && args.get(1).equals(abs.toString());
            })
        .map(ProcessHandle::pid);
  }

  private List<String> unshare(NamespacedHost h, Path script, Path shared, List<Path> aliases) {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                "unshare",
                "--mount",
                "--uts",
                "--net",
                "--pid",
                "--ipc",
                "--cgroup",
                "--fork",
                "--mount-proc",
                "--propagation",
                "private",
                "--kill-child=SIGKILL",
                "--",
                "bash",
                script.toString(),
                h.dir().toString(),
                h.name(),
                shared == null ? "" : shared.toString(),
                options.commonInstancesPath().map(Path::toString).orElse("")));
    aliases.forEach(a -> cmd.add(a.toString()));
    return cmd;
  }

  /** The init script from the jar, as {@code <root>/host-init.sh} (readable in ps output). */
  private static Path writeInitScript(Path root) {
    try (var in = NamespacedHosts.class.getResourceAsStream("host-init.sh")) {
      if (in == null) {
        throw new IllegalStateException("host-init.sh is missing from the jar");
      }
      Path script = root.resolve("host-init.sh");
      Files.createDirectories(root);
      Files.writeString(script, new String(in.readAllBytes(), StandardCharsets.UTF_8));
      return script;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the host init script under " + root, e);
    }
  }

  private Process startProcess(List<String> cmd, Path dir, String what) {
    try {
      Files.createDirectories(dir);
      Path log = dir.resolve(what.equals("bridge") ? "bridge.log" : "init.log");
      Files.deleteIfExists(log);
      Process p = Command.of(cmd).startInBackground(log);
      owned.add(p.toHandle(), what);
      if (what.equals("bridge")) {
        bridge = p;
      } else {
        namespaces.add(p);
      }
      return p;
    } catch (IOException | CommandException e) {
      throw new NamespacedHostsException("cannot start " + cmd.get(0) + " for " + what, e);
    }
  }

  /** The namespace's init is unshare's only child. */
  private static long initOf(Process unshare, NamespacedHost h) {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (System.nanoTime() < deadline) {
      Optional<ProcessHandle> child = unshare.children().findFirst();
      if (child.isPresent()) {
        return child.get().pid();
      }
      if (!unshare.isAlive()) {
        throw failed(h, "unshare exited with " + unshare.exitValue());
      }
      sleep(20);
    }
    throw failed(h, "unshare started no init within 10 s");
  }

  private void awaitLibvirtd(NamespacedHost h, Process ns) {
    long deadline = System.nanoTime() + options.startTimeout().toNanos();
    while (System.nanoTime() < deadline) {
      if (!ns.isAlive()) {
        throw failed(h, "its init exited with " + ns.exitValue());
      }
      if (Files.exists(h.socket().resolveSibling("virga-ready")) && answers(h.socket())) {
        return;
      }
      sleep(100);
    }
    throw failed(
        h, "libvirtd did not answer on " + h.socket() + " within " + options.startTimeout());
  }

  private static boolean answers(Path socket) {
    try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      return c.connect(UnixDomainSocketAddress.of(socket));
    } catch (IOException e) {
      return false;
    }
  }

  private static NamespacedHostsException failed(NamespacedHost h, String why) {
    String log;
    try {
      log = Files.readString(h.dir().resolve("init.log"));
    } catch (IOException e) {
      log = "(no init.log)";
    }
    return new NamespacedHostsException(
        "namespaced host " + h.name() + " did not start: " + why + "\n" + log.strip());
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new NamespacedHostsException("interrupted while starting namespaced hosts", e);
    }
  }

  /** The file under a host's directory that holds its init's pid (as the machine sees it). */
  public static final String INIT_PID = "init.pid";

  public List<NamespacedHost> hosts() {
    return List.copyOf(hosts);
  }

  /** Host number {@code n}, counted from 1 like the hostnames. */
  public NamespacedHost host(int n) {
    return hosts.get(n - 1);
  }

  /** The record of this run's processes: callers add what they start inside the hosts. */
  public OwnedProcesses owned() {
    return owned;
  }

  public Options options() {
    return options;
  }

  /** Kills every namespace (and so everything in it) and the bridge; idempotent. */
  @Override
  public void close() {
    List<Process> all = new ArrayList<>(namespaces);
    if (bridge != null) {
      all.add(bridge);
    }
    for (Process p : all) {
      p.destroyForcibly(); // unshare --kill-child takes the namespace's init, and all in it
    }
    for (Process p : all) {
      try {
        if (!p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
          LOG.warn("unshare {} did not exit within 10 s", p.pid());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      owned.remove(p.toHandle());
    }
    for (NamespacedHost h : hosts) {
      ProcessHandle.of(h.initPid()).ifPresent(OwnedProcesses::awaitExit);
    }
    namespaces.clear();
    hosts.clear();
    bridge = null;
    owned.close();
  }

  /** Removes a set's directories (tests; {@code up} keeps them like a host keeps its disks). */
  public static void deleteTree(Path root) {
    if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (var files = Files.walk(root)) {
      for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot remove " + root, e);
    }
  }
}
