package io.virga.libvirt;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs host commands for host setup and the tiny-guest build: always an argument list (never a
 * shell string), output captured, a time limit, and an error that names the command.
 */
final class HostSetupExec {

  /** What a finished command left behind. */
  record Result(List<String> command, int exitCode, String stdout, String stderr) {
    boolean ok() {
      return exitCode == 0;
    }

    /** Throws unless the command exited 0; the message carries the command and its stderr. */
    Result orThrow() {
      if (!ok()) {
        throw new HostSetupException(
            "command failed (exit "
                + exitCode
                + "): "
                + String.join(" ", command)
                + (stderr.isBlank() ? "" : "\n" + stderr.strip()));
      }
      return this;
    }
  }

  private HostSetupExec() {}

  static Result run(List<String> command) {
    return run(command, Optional.empty(), Map.of(), Duration.ofMinutes(10));
  }

  static Result run(List<String> command, Path workDir) {
    return run(command, Optional.of(workDir), Map.of(), Duration.ofMinutes(10));
  }

  static Result run(
      List<String> command, Optional<Path> workDir, Map<String, String> env, Duration timeout) {
    ProcessBuilder pb = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.PIPE);
    workDir.ifPresent(d -> pb.directory(d.toFile()));
    pb.environment().putAll(env);
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      throw new HostSetupException(
          "cannot run " + command.get(0) + " (is it installed? `virga host-setup` installs it)", e);
    }
    try {
      p.getOutputStream().close();
      CompletableFuture<String> out = drain(p.getInputStream());
      CompletableFuture<String> err = drain(p.getErrorStream());
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new HostSetupException(
            "command timed out after " + timeout.toSeconds() + " s: " + String.join(" ", command));
      }
      return new Result(List.copyOf(command), p.exitValue(), out.join(), err.join());
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new HostSetupException("interrupted while running " + String.join(" ", command), e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Runs a command that forks a daemon: its output goes to /dev/null rather than to pipes, which
   * the daemon would hold open for its whole life.
   */
  static Result runDaemon(List<String> command) {
    try {
      Path err = Files.createTempFile("virga-daemon", ".err");
      try {
        Process p =
            new ProcessBuilder(command)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(err.toFile())
                .start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
          p.destroyForcibly();
          throw new HostSetupException("timed out starting " + String.join(" ", command));
        }
        return new Result(List.copyOf(command), p.exitValue(), "", Files.readString(err));
      } finally {
        Files.deleteIfExists(err);
      }
    } catch (IOException e) {
      throw new HostSetupException("cannot run " + command.get(0) + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new HostSetupException("interrupted while running " + String.join(" ", command), e);
    }
  }

  /** True if an executable of that name is on the PATH (or in the sbin directories). */
  static boolean onPath(String name) {
    String path = Optional.ofNullable(System.getenv("PATH")).orElse("") + ":/usr/sbin:/sbin";
    for (String dir : path.split(":")) {
      if (!dir.isEmpty() && Path.of(dir, name).toFile().canExecute()) {
        return true;
      }
    }
    return false;
  }

  private static CompletableFuture<String> drain(InputStream in) {
    return CompletableFuture.supplyAsync(
        () -> {
          try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
          } catch (IOException e) {
            return "";
          }
        },
        r -> Thread.ofPlatform().daemon().start(r));
  }
}
