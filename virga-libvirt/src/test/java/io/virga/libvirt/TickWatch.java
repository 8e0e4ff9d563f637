package io.virga.libvirt;

import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;

/**
 * Watches a guest's TICK counter across a migration (the console of the source, then of the
 * destination) every 100 ms: the highest tick seen, whether it ever went back (a reboot), and the
 * longest wall-clock time it stood still.
 */
final class TickWatch implements AutoCloseable {
  private final Supplier<List<Path>> consoles;
  private final Thread thread;
  private volatile boolean stop;
  private volatile int highest;
  private volatile boolean reset;
  private volatile long longestStillMs;

  TickWatch(Supplier<List<Path>> consoles) {
    this.consoles = consoles;
    this.thread = Thread.ofPlatform().daemon().name("tick-watch").start(this::watch);
  }

  private void watch() {
    long lastChange = System.nanoTime();
    while (!stop) {
      int top = 0;
      int lastOfNewest = -1;
      for (Path c : consoles.get()) {
        List<Integer> t = TwoHosts.ticks(c);
        if (!t.isEmpty()) {
          top = Math.max(top, t.stream().mapToInt(Integer::intValue).max().orElse(0));
          lastOfNewest = t.getLast();
        }
      }
      if (lastOfNewest >= 0 && highest > 5 && lastOfNewest < 3) {
        reset = true; // a newest console that starts again from TICK 1: the guest rebooted
      }
      long now = System.nanoTime();
      if (top > highest) {
        highest = top;
        lastChange = now;
      } else {
        longestStillMs = Math.max(longestStillMs, (now - lastChange) / 1_000_000);
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  int highest() {
    return highest;
  }

  boolean reset() {
    return reset;
  }

  long longestStillMs() {
    return longestStillMs;
  }

  @Override
  public void close() throws InterruptedException {
    stop = true;
    thread.join();
  }
}
