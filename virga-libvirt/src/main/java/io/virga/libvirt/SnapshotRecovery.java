package io.virga.libvirt;

import io.virga.core.FileTrees;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What makes a snapshot survive an agent killed in the middle of it. Each snapshot works in its own
 * {@code <snapshots>/snap-*} directory; while the live path has a domain undefined, that directory
 * also holds the domain's saved persistent XML, its name and its root disk path, so the next agent
 * start can define the domain again ({@link #cleanupStaleSnapshots}) and remove what is left.
 */
final class SnapshotRecovery {
  private static final Logger LOG = LoggerFactory.getLogger(SnapshotRecovery.class);
  static final String TEMP_PREFIX = "snap-";
  static final String SAVED_XML = "domain.xml";
  private static final String[] SAVED = {SAVED_XML, SAVED_XML + ".name", SAVED_XML + ".disk"};

  private SnapshotRecovery() {}

  /**
   * Saves the persistent definition (mode 0600: it holds secrets) before the domain is undefined.
   */
  static void saveDefinition(Path tmp, String domainName, Path rootDisk, String xml) {
    writePrivate(tmp.resolve(SAVED[0]), xml);
    writePrivate(tmp.resolve(SAVED[1]), domainName);
    writePrivate(tmp.resolve(SAVED[2]), rootDisk.toString());
  }

  /** The domain is persistent again (or must not be): the saved definition is not needed. */
  static void discardDefinition(Path tmp) {
    for (String f : SAVED) {
      deleteQuietly(tmp.resolve(f));
    }
  }

  /** Moves the saved definition out of {@code tmp} (about to be removed) for the next start. */
  static void keepDefinition(Path tmp, Path snapshotsDir) {
    try {
      Path keep = Files.createTempDirectory(snapshotsDir, TEMP_PREFIX + "restore-");
      for (String f : SAVED) {
        Files.move(tmp.resolve(f), keep.resolve(f));
      }
    } catch (IOException e) {
      LOG.error("cannot keep the saved definition from {} for recovery", tmp, e);
    }
  }

  /**
   * Agent-start recovery: removes every temporary snapshot directory a dead agent left behind. When
   * one still holds the persistent XML of a domain the live path had made transient, {@code
   * restoreDefinition} is given (domain name, saved XML) first — unless the instance's root disk is
   * gone, which means it was deleted — and the directory is kept for the next start if that fails.
   * Call before the agent accepts work: any snapshot in progress is stale.
   *
   * @return the number of directories removed
   */
  static int cleanupStaleSnapshots(
      Path snapshotsDir, BiConsumer<String, String> restoreDefinition) {
    if (!Files.isDirectory(snapshotsDir)) {
      return 0;
    }
    int removed = 0;
    try (var entries = Files.newDirectoryStream(snapshotsDir, TEMP_PREFIX + "*")) {
      for (Path entry : entries) {
        Path xml = entry.resolve(SAVED_XML);
        Path name = entry.resolve(SAVED_XML + ".name");
        Path disk = entry.resolve(SAVED_XML + ".disk");
        if (Files.isRegularFile(xml)
            && Files.isRegularFile(name)
            && Files.isRegularFile(disk)
            && Files.exists(Path.of(Files.readString(disk).strip()))) {
          try {
            restoreDefinition.accept(Files.readString(name).strip(), Files.readString(xml));
          } catch (IOException | RuntimeException e) {
            LOG.error(
                "stale snapshot {}: cannot restore the saved definition of its domain; kept for"
                    + " the next agent start",
                entry,
                e);
            continue;
          }
        }
        deleteTree(entry);
        removed++;
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + snapshotsDir, e);
    }
    if (removed > 0) {
      LOG.info("removed {} stale snapshot directories from {}", removed, snapshotsDir);
    }
    return removed;
  }

  /** {@link #cleanupStaleSnapshots(Path, BiConsumer)} without a libvirt connection (tests). */
  static int cleanupStaleSnapshots(Path snapshotsDir) {
    return cleanupStaleSnapshots(
        snapshotsDir,
        (name, xml) -> {
          throw new SnapshotException("no libvirt connection to restore domain " + name);
        });
  }

  private static void writePrivate(Path file, String content) {
    try {
      Files.createFile(
          file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      Files.writeString(file, content);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }

  /** Best effort: what stays behind is removed by the next agent start's cleanup. */
  static void deleteTree(Path dir) {
    try {
      FileTrees.deleteTree(dir);
    } catch (UncheckedIOException e) {
      LOG.warn("cannot remove all of {}; stale-snapshot cleanup will retry", dir, e);
    }
  }

  static void deleteQuietly(Path p) {
    try {
      Files.deleteIfExists(p);
    } catch (IOException e) {
      LOG.warn("cannot remove {}; stale-snapshot cleanup will retry", p, e);
    }
  }
}
