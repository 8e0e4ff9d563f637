package io.virga.server;

import io.virga.core.Command;
import io.virga.core.Config;
import io.virga.core.VirgaException;
import io.virga.multihost.NamespacedHost;
import io.virga.multihost.NamespacedHosts;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * The {@code virga agent} of one host of {@code up --hosts N}: its configuration file ({@code
 * hosts/<host>/agent.conf}, everything the agent reads, so it can be started again without up's
 * environment), the command that runs it inside the host's namespaces, and its pid ({@code
 * agent.pid}, as the machine sees it). Used by up for the first start and by {@code virga agent
 * --up-host <host>} to start a host's agent again after it died, as an operator restarts
 * nova-compute.
 */
final class UpHostAgent {
  static final String CONF = "agent.conf";
  static final String PID = "agent.pid";
  static final String LOG = "agent.log";

  /** Settings never copied into an agent's file: the agent never opens the database. */
  private static final Set<String> NOT_FOR_AGENTS =
      Set.of("home", "config", "admin_password", "demo_password");

  private UpHostAgent() {}

  /**
   * Writes {@code agent.conf} (mode 0600: it holds the service password): the home's virga.conf,
   * then up's {@code VIRGA_*} environment, then this host's own settings, minus the database.
   */
  static Path writeConf(
      NamespacedHost h, Config config, Map<String, String> env, Map<String, String> own) {
    Map<String, String> all = new TreeMap<>();
    Path file = config.file();
    if (Files.isRegularFile(file)) {
      Properties p = new Properties();
      try (Reader r = Files.newBufferedReader(file)) {
        p.load(r);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + file, e);
      }
      p.stringPropertyNames().forEach(k -> all.put(k, p.getProperty(k).strip()));
    }
    env.forEach(
        (k, v) -> {
          if (k.startsWith("VIRGA_")) {
            all.put(k.substring("VIRGA_".length()).toLowerCase(Locale.ROOT), v);
          }
        });
    all.putAll(own);
    all.keySet().removeIf(k -> k.startsWith("database") || NOT_FOR_AGENTS.contains(k));
    Properties out = new Properties();
    out.putAll(all);
    Path conf = h.dir().resolve(CONF);
    Path tmp = h.dir().resolve(CONF + ".tmp");
    try {
      Files.deleteIfExists(tmp);
      Files.createFile(
          tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      try (Writer w = Files.newBufferedWriter(tmp)) {
        out.store(w, "virga agent of " + h.name() + ", written by virga up --hosts");
      }
      Files.move(tmp, conf, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + conf, e);
    }
    return conf;
  }

  /**
   * Starts {@code virga agent} inside the host (its files, hostname, PID namespace and libvirt; the
   * machine's loopback) with {@code agent.conf}; it dies with its launcher (pdeathsig) and with the
   * host. The previous log is kept as {@code agent.log.1}. Returns the launcher (nsenter); the
   * agent's own pid is written to {@code agent.pid}.
   */
  static Process start(NamespacedHost h, Path home, String javaOpts) {
    List<String> java = new ArrayList<>();
    java.add(ProcessHandle.current().info().command().orElse("java"));
    java.add("--enable-native-access=ALL-UNNAMED");
    for (String opt : javaOpts.split("\\s+")) {
      if (!opt.isBlank()) {
        java.add(opt);
      }
    }
    java.addAll(List.of("-cp", absoluteClassPath(), Main.class.getName(), "agent"));
    List<String> cmd = new ArrayList<>(List.of("setpriv", "--pdeathsig", "TERM", "--"));
    cmd.addAll(java);
    Path log = h.dir().resolve(LOG);
    try {
      if (Files.exists(log)) {
        Files.move(log, h.dir().resolve(LOG + ".1"), StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot keep the previous " + log, e);
    }
    Process p =
        Command.of(h.enterKeepingMachineNetwork(cmd))
            .withoutEnv(k -> k.startsWith("VIRGA_")) // all of it is in agent.conf
            .env(MultiHostUp.AGENT_JVM_ENV)
            .env(Map.of("VIRGA_HOME", home.toString(), "VIRGA_CONFIG", conf(h.dir()).toString()))
            .startInBackground(log);
    writePid(h, p);
    return p;
  }

  /** The agent's JVM is nsenter's child (nsenter forks to enter the PID namespace). */
  private static void writePid(NamespacedHost h, Process launcher) {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (System.nanoTime() < deadline && launcher.isAlive()) {
      Optional<ProcessHandle> agent = launcher.children().findFirst();
      if (agent.isPresent()) {
        try {
          Files.writeString(h.dir().resolve(PID), agent.get().pid() + "\n");
        } catch (IOException e) {
          throw new UncheckedIOException("cannot write " + h.dir().resolve(PID), e);
        }
        return;
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  static Path conf(Path hostDir) {
    return hostDir.resolve(CONF);
  }

  /**
   * {@code virga agent --up-host NAME}: the host of a running {@code up --hosts} (found by its
   * init's pid file), refused when its agent still runs or up never configured it.
   */
  static NamespacedHost hostToRestart(Path home, String name) {
    Path dir = home.resolve("hosts").resolve(name);
    if (!name.matches("[A-Za-z0-9][A-Za-z0-9.-]*") || !Files.isRegularFile(conf(dir))) {
      throw new VirgaException(
          "no host " + name + " of virga up --hosts under " + home.resolve("hosts"));
    }
    long init =
        NamespacedHosts.runningInit(dir)
            .orElseThrow(
                () ->
                    new VirgaException(
                        "host "
                            + name
                            + " is not running: start virga up --hosts first (VIRGA_HOME="
                            + home
                            + ")"));
    readPid(dir.resolve(PID))
        .flatMap(ProcessHandle::of)
        .filter(p -> p.info().commandLine().orElse("").contains(Main.class.getName() + " agent"))
        .ifPresent(
            p -> {
              throw new VirgaException(
                  "the agent of " + name + " still runs (pid " + p.pid() + ")");
            });
    return new NamespacedHost(name, "", dir, init);
  }

  private static Optional<Long> readPid(Path file) {
    try {
      return Optional.of(Long.parseLong(Files.readString(file).strip()));
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  /** This JVM's class path with absolute entries: the agent starts in another directory. */
  private static String absoluteClassPath() {
    return java.util.Arrays.stream(
            System.getProperty("java.class.path").split(java.io.File.pathSeparator))
        .map(p -> Path.of(p).toAbsolutePath().toString())
        .collect(Collectors.joining(java.io.File.pathSeparator));
  }
}
