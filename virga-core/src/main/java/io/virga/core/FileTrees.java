package io.virga.core;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** Removing a directory tree, the one way: every entry it can, deepest first. */
public final class FileTrees {
  private FileTrees() {}

  /**
   * Removes {@code root} and everything under it; nothing happens when it does not exist. Entries
   * that cannot be removed are skipped so the rest still goes; the first such failure is then
   * thrown as an {@link UncheckedIOException} (the caller decides whether a leftover matters).
   */
  public static void deleteTree(Path root) {
    if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    List<Path> entries;
    try (Stream<Path> walk = Files.walk(root)) {
      entries = walk.sorted(Comparator.reverseOrder()).toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + root + " for removal", e);
    }
    IOException first = null;
    for (Path p : entries) {
      try {
        Files.deleteIfExists(p);
      } catch (IOException e) {
        first = first == null ? e : first;
      }
    }
    if (first != null) {
      throw new UncheckedIOException("cannot remove all of " + root, first);
    }
  }
}
