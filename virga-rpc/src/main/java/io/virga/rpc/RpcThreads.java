package io.virga.rpc;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** The threads a served topic runs its handlers on, the same for every transport. */
final class RpcThreads {
  private RpcThreads() {}

  /**
   * {@code threads} daemon platform threads named {@code rpc-<topic>-<n>}, started on demand and
   * ended after 30 s idle; the queue in front of them is unbounded (the broker or the in-process
   * backlog bounds what arrives).
   */
  static ThreadPoolExecutor listenerPool(String topic, int threads) {
    AtomicInteger n = new AtomicInteger();
    ThreadPoolExecutor pool =
        new ThreadPoolExecutor(
            threads,
            threads,
            30,
            TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(),
            r -> {
              Thread t = new Thread(r, "rpc-" + topic + "-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    pool.allowCoreThreadTimeOut(true);
    return pool;
  }
}
