package io.virga.libvirt;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A named lock that excludes other threads of this JVM and other processes: an in-JVM {@link
 * ReentrantLock} per lock file (a {@link java.nio.channels.FileLock} belongs to the whole JVM, so
 * it cannot exclude two threads) plus an exclusive {@code fcntl} lock on {@code
 * <locksDir>/<name>.lock}. Lock files are never deleted (deleting one while another process waits
 * on it would let two holders in). Re-entrant within one thread.
 */
final class FileLock implements AutoCloseable {
  private static final ConcurrentHashMap<Path, ReentrantLock> LOCAL = new ConcurrentHashMap<>();

  private final ReentrantLock local;
  private final FileChannel channel;
  private final java.nio.channels.FileLock lock;

  private FileLock(ReentrantLock local, FileChannel channel, java.nio.channels.FileLock lock) {
    this.local = local;
    this.channel = channel;
    this.lock = lock;
  }

  /** Blocks until this thread holds {@code <locksDir>/<name>.lock}; close to release. */
  public static FileLock acquire(Path locksDir, String name) {
    if (name.isEmpty() || name.contains("/") || name.startsWith(".")) {
      throw new IllegalArgumentException("bad lock name '" + name + "'");
    }
    Path file = locksDir.resolve(name + ".lock").toAbsolutePath().normalize();
    ReentrantLock local = LOCAL.computeIfAbsent(file, k -> new ReentrantLock());
    try {
      local.lockInterruptibly();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted waiting for lock " + file, e);
    }
    if (local.getHoldCount() > 1) {
      return new FileLock(local, null, null); // this thread already holds the file lock
    }
    FileChannel channel = null;
    try {
      Files.createDirectories(file.getParent());
      channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      return new FileLock(local, channel, channel.lock());
    } catch (IOException | RuntimeException e) {
      closeQuietly(channel);
      local.unlock();
      if (e instanceof IOException io) {
        throw new UncheckedIOException("cannot lock " + file, io);
      }
      throw (RuntimeException) e;
    }
  }

  @Override
  public void close() {
    try {
      if (lock != null) {
        lock.release();
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot release lock", e);
    } finally {
      closeQuietly(channel);
      local.unlock();
    }
  }

  private static void closeQuietly(FileChannel c) {
    if (c != null) {
      try {
        c.close();
      } catch (IOException ignored) {
        // the lock goes with the descriptor
      }
    }
  }
}
