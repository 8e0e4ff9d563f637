package io.virga.multihost;

import io.virga.core.Command;
import java.time.Duration;
import java.util.List;

/** The short commands that wire namespaced hosts (ip, nsenter), through the one process runner. */
final class HostExec {
  private HostExec() {}

  /** Runs {@code command} (30 s at most) and returns its stdout; throws with its stderr. */
  static String run(List<String> command) {
    return Command.of(command).timeout(Duration.ofSeconds(30)).check().stdout();
  }
}
