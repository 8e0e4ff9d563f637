package io.virga.core;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one way Virga starts a process: an argument list (never a shell string), stdin from {@code
 * /dev/null}, {@code LC_ALL=C}, a time limit, optional {@code prlimit} limits for tools that read
 * untrusted data, stdout and stderr captured, and one log line with the exit code and duration.
 * {@link #run()} returns whatever happened; {@link #check()} throws a {@link CommandException}
 * (exit code and stderr in it) unless the command exited 0.
 *
 * <pre>{@code
 * String json = Command.of("qemu-img", "info", "-f", "qcow2", "--output=json", path)
 *     .limits(new Command.Limits(1L << 30, 30))
 *     .check()
 *     .stdout();
 * }</pre>
 */
public final class Command {
  private static final Logger LOG = LoggerFactory.getLogger(Command.class);
  private static final File DEV_NULL = new File("/dev/null");

  /** Ten minutes unless the caller says otherwise. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(10);

  /**
   * {@code prlimit --as=<addressSpaceBytes> --cpu=<cpuSeconds>}: what a tool reading untrusted data
   * may use before the kernel stops it.
   */
  public record Limits(long addressSpaceBytes, int cpuSeconds) {}

  /** What a finished command left behind. */
  public record Result(
      List<String> command, int exitCode, String stdout, String stderr, Duration duration) {
    public boolean ok() {
      return exitCode == 0;
    }

    /** This result, or a {@link CommandException} carrying the exit code and stderr. */
    public Result orThrow() {
      if (!ok()) {
        throw CommandException.failed(this);
      }
      return this;
    }
  }

  private final List<String> argv;
  private final Map<String, String> env = new LinkedHashMap<>();
  private Predicate<String> unset = name -> false;
  private Optional<Path> workDir = Optional.empty();
  private Optional<Limits> limits = Optional.empty();
  private Optional<Path> stdoutFile = Optional.empty();
  private Duration timeout = DEFAULT_TIMEOUT;
  private boolean forksDaemon;

  private Command(List<String> argv) {
    if (argv.isEmpty()) {
      throw new IllegalArgumentException("a command needs at least the program name");
    }
    this.argv = List.copyOf(argv);
  }

  public static Command of(List<String> argv) {
    return new Command(argv);
  }

  public static Command of(String... argv) {
    return new Command(List.of(argv));
  }

  /** Runs under {@code prlimit} with these limits (the tool reads data Virga did not write). */
  public Command limits(Limits l) {
    this.limits = Optional.of(l);
    return this;
  }

  public Command timeout(Duration t) {
    this.timeout = t;
    return this;
  }

  public Command workDir(Path dir) {
    this.workDir = Optional.of(dir);
    return this;
  }

  public Command env(String name, String value) {
    env.put(name, value);
    return this;
  }

  public Command env(Map<String, String> vars) {
    env.putAll(vars);
    return this;
  }

  /** Removes the inherited variables whose names match (e.g. a caller's {@code OS_*}). */
  public Command withoutEnv(Predicate<String> names) {
    this.unset = this.unset.or(names);
    return this;
  }

  /** Stdout goes to {@code file} instead of memory ({@link Result#stdout()} is then empty). */
  public Command stdoutTo(Path file) {
    this.stdoutFile = Optional.of(file);
    return this;
  }

  /**
   * The command forks a daemon that keeps its stdout and stderr open for its whole life: output is
   * discarded and stderr goes through a temporary file instead of pipes nobody would ever close.
   */
  public Command forksDaemon() {
    this.forksDaemon = true;
    return this;
  }

  /** The argument list as it will be started (with the {@code prlimit} prefix when limited). */
  public List<String> argv() {
    if (limits.isEmpty()) {
      return argv;
    }
    List<String> cmd = new ArrayList<>();
    cmd.add("prlimit");
    cmd.add("--as=" + limits.get().addressSpaceBytes());
    cmd.add("--cpu=" + limits.get().cpuSeconds());
    cmd.add("--");
    cmd.addAll(argv);
    return List.copyOf(cmd);
  }

  /**
   * Starts a long-running process the caller owns and ends (a namespace's init, a test's daemon):
   * stdin from {@code /dev/null}, stdout and stderr written to {@code log} (replacing an earlier
   * one, so a restart never reads the last start's lines), nothing waited for. The timeout and
   * output settings do not apply.
   */
  public Process startInBackground(Path log) {
    List<String> cmd = argv();
    ProcessBuilder pb =
        new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(DEV_NULL));
    workDir.ifPresent(d -> pb.directory(d.toFile()));
    pb.environment().keySet().removeIf(unset);
    pb.environment().putAll(env);
    pb.redirectErrorStream(true).redirectOutput(log.toFile()); // a fresh log per start
    try {
      Process p = pb.start();
      LOG.debug("{} started as pid {}, output in {}: {}", name(), p.pid(), log, cmd);
      return p;
    } catch (IOException e) {
      throw new CommandException(
          "cannot start " + argv.getFirst() + " (is it installed?): " + e.getMessage(), cmd, e);
    }
  }

  /** Runs the command to completion and throws unless it exited 0. */
  public Result check() {
    return run().orThrow();
  }

  /**
   * Runs the command to completion, whatever its exit code. Throws {@link CommandException} only
   * when it cannot start, outlives its timeout (it is killed), or the caller is interrupted.
   */
  public Result run() {
    List<String> cmd = argv();
    long start = System.nanoTime();
    Path errFile = null;
    Process p;
    try {
      if (forksDaemon) {
        errFile = Files.createTempFile("virga-cmd", ".err");
      }
      p = builder(cmd, errFile).start();
    } catch (IOException e) {
      deleteQuietly(errFile);
      throw new CommandException(
          "cannot start " + argv.getFirst() + " (is it installed?): " + e.getMessage(), cmd, e);
    }
    try {
      Result r = await(p, cmd, errFile, start);
      LOG.debug("{} exited {} after {} ms: {}", name(), r.exitCode(), r.duration().toMillis(), cmd);
      return r;
    } finally {
      deleteQuietly(errFile);
    }
  }

  private ProcessBuilder builder(List<String> cmd, Path errFile) {
    ProcessBuilder pb =
        new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(DEV_NULL));
    workDir.ifPresent(d -> pb.directory(d.toFile()));
    pb.environment().keySet().removeIf(unset);
    pb.environment().put("LC_ALL", "C");
    if (limits.isPresent()) {
      // Under an address-space limit glibc's per-thread malloc arenas (64 MiB of reservation
      // each) make worker threads fail to start now and then ("qemu_thread_create: Resource
      // temporarily unavailable", measured 8 in 60 qemu-img conversions at 1 GiB); two avoid it.
      pb.environment().put("MALLOC_ARENA_MAX", "2");
    }
    pb.environment().putAll(env);
    if (forksDaemon) {
      pb.redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(errFile.toFile());
    } else {
      stdoutFile.ifPresent(f -> pb.redirectOutput(f.toFile()));
    }
    return pb;
  }

  private Result await(Process p, List<String> cmd, Path errFile, long start) {
    CompletableFuture<String> out =
        forksDaemon || stdoutFile.isPresent()
            ? CompletableFuture.completedFuture("")
            : drain(p.getInputStream());
    CompletableFuture<String> err =
        forksDaemon ? CompletableFuture.completedFuture("") : drain(p.getErrorStream());
    try {
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new CommandException(
            name() + " did not finish within " + timeout.toSeconds() + " s and was killed",
            cmd,
            null);
      }
      String stderr = forksDaemon ? Files.readString(errFile) : err.join();
      return new Result(
          cmd, p.exitValue(), out.join(), stderr, Duration.ofNanos(System.nanoTime() - start));
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new CommandException("interrupted while running " + name(), cmd, e);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the stderr of " + name(), e);
    }
  }

  private String name() {
    return argv.getFirst() + (argv.size() > 1 ? " " + argv.get(1) : "");
  }

  /** Reads a pipe to the end on a platform daemon thread, so neither pipe can fill and stall. */
  private static CompletableFuture<String> drain(InputStream in) {
    return CompletableFuture.supplyAsync(
        () -> {
          try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
          } catch (IOException e) {
            return "(unreadable: " + e + ")";
          }
        },
        r -> Thread.ofPlatform().name("command-drain").daemon().start(r));
  }

  private static void deleteQuietly(Path p) {
    if (p == null) {
      return;
    }
    try {
      Files.deleteIfExists(p);
    } catch (IOException e) {
      LOG.debug("cannot remove {}: {}", p, e.toString());
    }
  }

  /** True if an executable of that name is on the PATH (or in the sbin directories). */
  public static boolean onPath(String name) {
    String path = Optional.ofNullable(System.getenv("PATH")).orElse("") + ":/usr/sbin:/sbin";
    for (String dir : path.split(":")) {
      if (!dir.isEmpty() && Path.of(dir, name).toFile().canExecute()) {
        return true;
      }
    }
    return false;
  }
}
