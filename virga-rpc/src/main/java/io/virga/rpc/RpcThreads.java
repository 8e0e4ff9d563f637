package io.virga.rpc;

import java.time.Duration;
import java.util.concurrent.ThreadPoolExecutor;

/** The threads a served topic runs its handlers on, the same for every transport. */
final class RpcThreads {
  private RpcThreads() {}

  /**
   * Up to {@code threads} daemon platform threads named {@code rpc-<topic>-<n>}, an idle one reused
   * before a new one starts, each ended after 5 min idle (a host gets a cast every few seconds or
   * minutes: its threads live across the gaps); the queue in front of them is unbounded (the broker
   * or the in-process backlog bounds what arrives).
   */
  static ThreadPoolExecutor listenerPool(String topic, int threads) {
    return io.virga.core.WorkerPool.create("rpc-" + topic + "-", threads, Duration.ofMinutes(5));
  }
}
