package io.virga.compute;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Nova's per-instance lock, as queues: tasks for one instance run one at a time in submission
 * order; tasks for different instances run in parallel on a bounded pool of platform threads
 * (libvirt's JNA calls would pin virtual threads). A waiting task holds no thread.
 */
final class InstanceQueue implements AutoCloseable {
  private final ExecutorService pool;
  private final Map<String, CompletableFuture<Void>> tails = new ConcurrentHashMap<>();
  private final Map<String, Integer> waiting = new ConcurrentHashMap<>();

  InstanceQueue(int threads) {
    this.pool = io.virga.core.WorkerPool.create("compute-worker-", threads, Duration.ofMinutes(5));
  }

  /** Runs {@code task} after every task already queued for {@code uuid}. */
  CompletableFuture<Void> submit(String uuid, Runnable task) {
    CompletableFuture<Void> mine = new CompletableFuture<>();
    CompletableFuture<Void> prev = tails.put(uuid, mine);
    CompletableFuture<Void> after = prev == null ? CompletableFuture.completedFuture(null) : prev;
    waiting.merge(uuid, 1, Integer::sum);
    after
        .handle((v, e) -> null)
        .thenRunAsync(
            () -> {
              waiting.computeIfPresent(uuid, (k, n) -> n == 1 ? null : n - 1);
              task.run();
            },
            pool)
        .whenComplete(
            (v, e) -> {
              tails.remove(uuid, mine);
              if (e == null) {
                mine.complete(null);
              } else {
                mine.completeExceptionally(e);
              }
            });
    return mine;
  }

  /** How many tasks for {@code uuid} wait for their turn (submitted, not started). */
  int waiting(String uuid) {
    return waiting.getOrDefault(uuid, 0);
  }

  /** Waits until no task is queued or running; false on timeout. */
  boolean awaitIdle(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!tails.isEmpty()) {
      List<CompletableFuture<Void>> pending = List.copyOf(tails.values());
      try {
        CompletableFuture.allOf(
                pending.stream()
                    .map(f -> f.handle((v, e) -> null))
                    .toArray(CompletableFuture[]::new))
            .get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (TimeoutException e) {
        return false;
      } catch (java.util.concurrent.ExecutionException e) {
        // handled per task
      }
    }
    return true;
  }

  @Override
  public void close() {
    pool.shutdownNow();
  }
}
