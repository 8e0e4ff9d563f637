package io.virga.multihost;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OwnedProcessesTest {
  @TempDir Path dir;

  @Test
  void reapsTheProcessesOfARunThatIsGoneAndSparesLiveRuns() throws Exception {
    Process orphan = new ProcessBuilder("sleep", "60").start();
    Process mine = new ProcessBuilder("sleep", "60").start();
    try {
      // a run whose owner is gone: a pid that cannot exist
      Files.write(
          dir.resolve("dead-run"),
          List.of(
              "owner 2147483646 1",
              "proc " + orphan.pid() + " " + OwnedProcesses.started(orphan.toHandle()) + " sleep"));
      OwnedProcesses live = OwnedProcesses.open(dir, "live run");
      live.add(mine.toHandle(), "my sleep");

      assertThat(OwnedProcesses.reapStale(dir)).isEqualTo(1);

      assertThat(orphan.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
      assertThat(mine.isAlive()).isTrue();
      assertThat(dir.resolve("dead-run")).doesNotExist();
      live.close();
      assertThat(Files.list(dir)).isEmpty();
    } finally {
      orphan.destroyForcibly();
      mine.destroyForcibly();
    }
  }

  @Test
  void neverKillsAReusedPid() throws Exception {
    Process p = new ProcessBuilder("sleep", "60").start();
    try {
      // same pid, another start time: not the process the dead run started
      Files.write(
          dir.resolve("dead-run"),
          List.of("owner 2147483646 1", "proc " + p.pid() + " 12345 sleep"));
      assertThat(OwnedProcesses.reapStale(dir)).isZero();
      assertThat(
              p.waitFor(
                  Duration.ofMillis(200).toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS))
          .isFalse();
    } finally {
      p.destroyForcibly();
    }
  }
}
