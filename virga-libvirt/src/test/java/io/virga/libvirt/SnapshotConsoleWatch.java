package io.virga.libvirt;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Follows a guest's console log on its own thread, noting when each {@code TICK <n>} line appeared
 * (polled every 20 ms), so a test can show the guest never stalled.
 */
final class SnapshotConsoleWatch implements AutoCloseable {
  private static final Pattern TICK = Pattern.compile("TICK (\\d+)");

  /** One TICK line and the monotonic time (ns) it was first seen. */
  record Tick(long n, long seenNanos) {}

  private final Path log;
  private final List<Tick> ticks = new ArrayList<>();
  private final StringBuilder all = new StringBuilder();
  private final AtomicBoolean stop = new AtomicBoolean();
  private final Thread thread;
  private long offset;
  private String partial = "";

  SnapshotConsoleWatch(Path log) {
    this.log = log;
    this.thread = Thread.ofPlatform().daemon().name("console-watch").start(this::run);
  }

  private void run() {
    while (!stop.get()) {
      poll();
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private void poll() {
    if (!Files.exists(log)) {
      return;
    }
    try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "r")) {
      long len = f.length();
      if (len < offset) {
        offset = 0; // truncated by a new qemu process
        partial = "";
      }
      if (len <= offset) {
        return;
      }
      byte[] buf = new byte[(int) (len - offset)];
      f.seek(offset);
      f.readFully(buf);
      offset = len;
      long now = System.nanoTime();
      String text = partial + new String(buf, StandardCharsets.UTF_8);
      int last = text.lastIndexOf('\n');
      partial = text.substring(last + 1);
      String complete = last < 0 ? "" : text.substring(0, last + 1);
      synchronized (this) {
        all.append(complete);
        for (String line : complete.split("\r?\n")) {
          Matcher m = TICK.matcher(line);
          if (m.find()) {
            ticks.add(new Tick(Long.parseLong(m.group(1)), now));
          }
        }
      }
    } catch (IOException e) {
      // the log is being rotated or not yet created; the next poll retries
    }
  }

  synchronized List<Tick> ticks() {
    return List.copyOf(ticks);
  }

  synchronized String text() {
    return all.toString();
  }

  synchronized long lastTick() {
    return ticks.isEmpty() ? 0 : ticks.get(ticks.size() - 1).n();
  }

  /** Waits until a line containing {@code needle} was seen. */
  void awaitLine(String needle, long timeoutMs) {
    long deadline = System.currentTimeMillis() + timeoutMs;
    while (!text().contains(needle)) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError(
            "console never showed '" + needle + "' within " + timeoutMs + " ms:\n" + text());
      }
      sleep();
    }
  }

  /** Waits until the TICK counter reached {@code n}. */
  void awaitTick(long n, long timeoutMs) {
    long deadline = System.currentTimeMillis() + timeoutMs;
    while (lastTick() < n) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("TICK never reached " + n + ":\n" + text());
      }
      sleep();
    }
  }

  /**
   * The largest time (ms) between consecutive TICK lines among those seen in [from, to], counting
   * the tick just before {@code from} and the first after {@code to} so a stall spanning the whole
   * window is measured too.
   */
  synchronized long maxGapMs(long fromNanos, long toNanos) {
    long max = 0;
    for (int i = 1; i < ticks.size(); i++) {
      Tick a = ticks.get(i - 1);
      Tick b = ticks.get(i);
      if (b.seenNanos() >= fromNanos && a.seenNanos() <= toNanos) {
        max = Math.max(max, (b.seenNanos() - a.seenNanos()) / 1_000_000);
      }
    }
    return max;
  }

  /** True when every TICK is the previous plus one (no reset, no lost line). */
  synchronized boolean contiguous() {
    for (int i = 1; i < ticks.size(); i++) {
      if (ticks.get(i).n() != ticks.get(i - 1).n() + 1) {
        return false;
      }
    }
    return true;
  }

  private static void sleep() {
    try {
      Thread.sleep(50);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  @Override
  public void close() {
    stop.set(true);
    thread.interrupt();
  }
}
