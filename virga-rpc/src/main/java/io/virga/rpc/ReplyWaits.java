package io.virga.rpc;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A transport's calls waiting for their reply, by correlation id. A call not answered by its
 * deadline fails with {@link RpcTimeoutException}, found by one sweeper thread shared by every
 * transport of the process (every {@value #SWEEP_MILLIS} ms): a timer per call ({@code orTimeout})
 * cost two wake-ups of the JDK's delay thread per call — to schedule and to cancel — which at
 * thousands of calls a second was a measurable share of an agent's CPU.
 */
final class ReplyWaits {
  static final long SWEEP_MILLIS = 50;

  private record Waiting(
      CompletableFuture<byte[]> reply, long deadlineNanos, String topic, Duration timeout) {}

  private static final Set<ReplyWaits> LIVE = ConcurrentHashMap.newKeySet();
  private final Map<String, Waiting> byId = new ConcurrentHashMap<>();

  ReplyWaits() {
    Sweeper.start();
    LIVE.add(this);
  }

  /** The reply to come for {@code id}, failed after {@code timeout}. */
  CompletableFuture<byte[]> add(String id, String topic, Duration timeout) {
    CompletableFuture<byte[]> reply = new CompletableFuture<>();
    byId.put(id, new Waiting(reply, System.nanoTime() + timeout.toNanos(), topic, timeout));
    return reply;
  }

  /** A reply arrived; false when nobody waits for it any more (timed out, or not ours). */
  boolean complete(String id, byte[] body) {
    Waiting w = byId.remove(id);
    return w != null && w.reply().complete(body);
  }

  void remove(String id) {
    byId.remove(id);
  }

  /** Fails every waiting call with {@code why}; the transport is closing. */
  void closeAll(RuntimeException why) {
    LIVE.remove(this);
    byId.values().forEach(w -> w.reply().completeExceptionally(why));
    byId.clear();
  }

  private void sweep(long now) {
    for (Map.Entry<String, Waiting> e : byId.entrySet()) {
      Waiting w = e.getValue();
      if (now - w.deadlineNanos() >= 0 && byId.remove(e.getKey(), w)) {
        w.reply()
            .completeExceptionally(
                new RpcTimeoutException(
                    "no reply on topic " + w.topic() + " within " + w.timeout()));
      }
    }
  }

  private static final class Sweeper {
    private static final ScheduledExecutorService TIMER =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "rpc-reply-timeouts");
              t.setDaemon(true);
              return t;
            });

    static {
      TIMER.scheduleWithFixedDelay(
          () -> {
            long now = System.nanoTime();
            for (ReplyWaits w : LIVE) {
              w.sweep(now);
            }
          },
          SWEEP_MILLIS,
          SWEEP_MILLIS,
          TimeUnit.MILLISECONDS);
    }

    static void start() {
      // loading the class starts the sweeper
    }
  }
}
