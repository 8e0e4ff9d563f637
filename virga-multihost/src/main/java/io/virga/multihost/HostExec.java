package io.virga.multihost;

import io.virga.core.Command;
import io.virga.core.CommandException;
import java.time.Duration;
import java.util.List;

/**
 * Runs the short commands that wire namespaced hosts (ip, nsenter) through Virga's one runner, with
 * this module's exception naming the command and its stderr.
 */
final class HostExec {
  private HostExec() {}

  static String run(List<String> command) {
    return run(command, Duration.ofSeconds(30));
  }

  static String run(List<String> command, Duration timeout) {
    Command.Result r;
    try {
      r = Command.of(command).timeout(timeout).run();
    } catch (CommandException e) {
      throw new NamespacedHostsException(
          e.getMessage() + " (`virga host-setup --for-tests` installs what multi-host needs)", e);
    }
    if (!r.ok()) {
      throw new NamespacedHostsException(
          "command failed (exit "
              + r.exitCode()
              + "): "
              + String.join(" ", command)
              + "\n"
              + r.stderr().strip());
    }
    return r.stdout();
  }
}
