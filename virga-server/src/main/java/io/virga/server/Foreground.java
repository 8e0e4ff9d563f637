package io.virga.server;

import java.util.concurrent.CountDownLatch;

/** Keeps a command in the foreground until SIGTERM/Ctrl-C, then closes what it runs. */
final class Foreground {
  private Foreground() {}

  static void runUntilStopped(AutoCloseable running, String what) {
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  System.out.println(what + ": stopping ...");
                  try {
                    running.close();
                  } catch (Exception e) {
                    System.err.println(what + ": error while stopping: " + e);
                  }
                  System.out.println(what + ": stopped");
                  stopped.countDown();
                },
                "virga-shutdown"));
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
