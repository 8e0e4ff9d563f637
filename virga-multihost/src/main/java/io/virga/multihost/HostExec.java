package io.virga.multihost;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs the short commands that wire namespaced hosts (ip, nsenter): an argument list, never a shell
 * string, a time limit, and an error naming the command and its stderr.
 */
final class HostExec {
  private HostExec() {}

  static String run(List<String> command) {
    return run(command, Duration.ofSeconds(30));
  }

  static String run(List<String> command, Duration timeout) {
    Process p;
    try {
      p = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.PIPE).start();
    } catch (IOException e) {
      throw new NamespacedHostsException(
          "cannot run "
              + command.get(0)
              + " (`virga host-setup --for-tests` installs what multi-host needs)",
          e);
    }
    try {
      p.getOutputStream().close();
      CompletableFuture<String> out = drain(p.getInputStream());
      CompletableFuture<String> err = drain(p.getErrorStream());
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new NamespacedHostsException(
            "timed out after " + timeout.toSeconds() + " s: " + String.join(" ", command));
      }
      if (p.exitValue() != 0) {
        throw new NamespacedHostsException(
            "command failed (exit "
                + p.exitValue()
                + "): "
                + String.join(" ", command)
                + "\n"
                + err.join().strip());
      }
      return out.join();
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new NamespacedHostsException("interrupted: " + String.join(" ", command), e);
    } catch (IOException e) {
      throw new NamespacedHostsException("cannot run " + String.join(" ", command), e);
    }
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
