package io.virga.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class WorkerPoolTest {
  @Test
  void anIdleThreadTakesTheNextTaskInsteadOfANewOne() throws Exception {
    WorkerPool pool = WorkerPool.create("t-", 8, Duration.ofMinutes(1));
    Set<String> names = ConcurrentHashMap.newKeySet();
    for (int i = 0; i < 20; i++) {
      CountDownLatch done = new CountDownLatch(1);
      pool.execute(
          () -> {
            names.add(Thread.currentThread().getName());
            done.countDown();
          });
      assertThat(done.await(5, TimeUnit.SECONDS)).isTrue();
      Thread.sleep(5); // the worker is back waiting on the queue
    }
    assertThat(names).hasSize(1);
    assertThat(pool.getLargestPoolSize()).isEqualTo(1);
    pool.shutdown();
  }

  @Test
  void busyThreadsMakeItGrowToItsMaximumThenTasksWait() throws Exception {
    WorkerPool pool = WorkerPool.create("t-", 4, Duration.ofMinutes(1));
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch started = new CountDownLatch(4);
    AtomicInteger ran = new AtomicInteger();
    for (int i = 0; i < 10; i++) {
      pool.execute(
          () -> {
            started.countDown();
            try {
              release.await();
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
            ran.incrementAndGet();
          });
    }
    assertThat(started.await(5, TimeUnit.SECONDS)).as("four run at once").isTrue();
    assertThat(pool.getPoolSize()).isEqualTo(4);
    assertThat(pool.getQueue()).hasSize(6);
    release.countDown();
    pool.shutdown();
    assertThat(pool.awaitTermination(5, TimeUnit.SECONDS)).isTrue();
    assertThat(ran.get()).isEqualTo(10);
    assertThat(pool.getLargestPoolSize()).isEqualTo(4);
  }

  @Test
  void aShutDownPoolRefuses() {
    WorkerPool pool = WorkerPool.create("t-", 2, Duration.ofSeconds(1));
    pool.shutdown();
    assertThatThrownBy(() -> pool.execute(() -> {})).isInstanceOf(RejectedExecutionException.class);
  }
}
