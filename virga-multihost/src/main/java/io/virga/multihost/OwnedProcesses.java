package io.virga.multihost;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The processes one run (a {@code virga up}, a test JVM) starts and that must not outlive it:
 * namespaced hosts, their agents, a private broker. Each run writes one file under {@link
 * #DEFAULT_DIR} naming itself (pid and start time) and its processes; {@link #reapStale} kills the
 * processes of every run that is no longer alive, so a SIGKILLed run leaves nothing behind once the
 * next one starts. Pid and start time together, so a reused pid is never killed.
 */
public final class OwnedProcesses implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(OwnedProcesses.class);

  /** Where runs record their processes (on the machine, not in any VIRGA_HOME). */
  public static final Path DEFAULT_DIR = Path.of("/run/virga/owned");

  private final Path file;
  private final String owner;
  private final Map<Long, String> lines = new LinkedHashMap<>();

  private OwnedProcesses(Path file, String owner) {
    this.file = file;
    this.owner = owner;
  }

  /** Starts a record for this JVM; {@code label} only names the file for people. */
  public static OwnedProcesses open(Path dir, String label) {
    ProcessHandle self = ProcessHandle.current();
    String name = label.replaceAll("[^A-Za-z0-9_.-]", "_") + "-" + self.pid() + "-" + shortId();
    OwnedProcesses owned =
        new OwnedProcesses(dir.resolve(name), "owner " + self.pid() + " " + started(self));
    owned.write();
    return owned;
  }

  private static String shortId() {
    return UUID.randomUUID().toString().substring(0, 8);
  }

  /** The record's file (tests make a run look killed by editing its owner line). */
  Path file() {
    return file;
  }

  /** Records a process to kill if this run dies without stopping it. */
  public synchronized void add(ProcessHandle process, String what) {
    lines.put(
        process.pid(),
        "proc " + process.pid() + " " + started(process) + " " + what.replaceAll("\\s", "_"));
    write();
  }

  /** Forgets a process this run stopped itself. */
  public synchronized void remove(ProcessHandle process) {
    if (lines.remove(process.pid()) != null) {
      write();
    }
  }

  private void write() {
    try {
      Files.createDirectories(file.getParent());
      Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
      List<String> all = new ArrayList<>();
      all.add(owner);
      all.addAll(lines.values());
      Files.write(tmp, all);
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot record owned processes in " + file, e);
    }
  }

  /** Removes the record; the caller has stopped its processes. */
  @Override
  public synchronized void close() {
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      LOG.warn("cannot remove {}: {}", file, e.toString());
    }
  }

  /**
   * Kills the recorded processes (and their descendants) of every run under {@code dir} whose owner
   * is gone, and removes those records. Returns how many processes were killed.
   */
  public static int reapStale(Path dir) {
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    int killed = 0;
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.filter(p -> !p.getFileName().toString().startsWith(".")).toList()) {
        killed += reapIfOrphaned(f);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + dir, e);
    }
    return killed;
  }

  private static int reapIfOrphaned(Path record) throws IOException {
    List<String> lines;
    try {
      lines = Files.readAllLines(record);
    } catch (java.nio.file.NoSuchFileException e) {
      return 0;
    }
    if (!lines.isEmpty() && live(lines.get(0)).isPresent()) {
      return 0;
    }
    int killed = 0;
    for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
      Optional<ProcessHandle> p = live(line);
      if (p.isPresent()) {
        List<ProcessHandle> tree = new ArrayList<>(p.get().descendants().toList());
        p.get().destroyForcibly();
        tree.forEach(ProcessHandle::destroyForcibly);
        awaitExit(p.get());
        LOG.info("killed {} left by a run that is gone ({})", line, record.getFileName());
        killed++;
      }
    }
    Files.deleteIfExists(record);
    return killed;
  }

  /** The process a record line names, when it still runs with the same start time. */
  private static Optional<ProcessHandle> live(String line) {
    String[] f = line.split(" ");
    if (f.length < 3) {
      return Optional.empty();
    }
    try {
      long pid = Long.parseLong(f[1]);
      return ProcessHandle.of(pid).filter(p -> started(p).equals(f[2]));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  static String started(ProcessHandle p) {
    return p.info().startInstant().map(Instant::toEpochMilli).map(String::valueOf).orElse("?");
  }

  static void awaitExit(ProcessHandle p) {
    try {
      p.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.warn("process {} did not exit within 10 s after SIGKILL", p.pid());
    }
  }
}
