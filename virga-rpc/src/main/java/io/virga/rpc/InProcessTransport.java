package io.virga.rpc;

import io.virga.core.VirgaException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The transport of {@code virga up}: topics are in-memory queues inside one JVM. Messages are still
 * the serialised bytes a broker would carry. Each listener runs its messages on its own pool of
 * platform threads (libvirt calls through JNA would pin virtual threads); messages sent to a topic
 * nobody listens to yet wait for its first listener, and a call among them times out as it would
 * against a broker.
 */
public final class InProcessTransport implements RpcTransport {
  private static final Logger log = LoggerFactory.getLogger(InProcessTransport.class);

  private final int threadsPerListener;
  private final Map<String, Topic> topics = new HashMap<>();
  private boolean closed;

  /** Listeners with up to 64 threads each (oslo.messaging's executor_thread_pool_size). */
  public InProcessTransport() {
    this(64);
  }

  public InProcessTransport(int threadsPerListener) {
    this.threadsPerListener = threadsPerListener;
  }

  private record Message(byte[] body, CompletableFuture<byte[]> reply) {}

  private static final class Topic {
    final List<Consumer> consumers = new ArrayList<>();
    final Deque<Message> backlog = new ArrayDeque<>();
    int next;
  }

  private final class Consumer implements Listener {
    final String topic;
    final Handler handler;
    final ThreadPoolExecutor pool;

    Consumer(String topic, Handler handler) {
      this.topic = topic;
      this.handler = handler;
      this.pool = RpcThreads.listenerPool(topic, threadsPerListener);
    }

    void deliver(Message m) {
      try {
        pool.execute(() -> run(m));
      } catch (RejectedExecutionException e) {
        fail(m, new VirgaException("rpc " + topic + ": listener closed"));
      }
    }

    private void run(Message m) {
      if (m.reply() != null && m.reply().isDone()) {
        return; // the caller gave up already
      }
      try {
        byte[] out = handler.handle(m.body());
        if (m.reply() != null) {
          m.reply().complete(out);
        }
      } catch (RuntimeException | Error e) {
        log.error("rpc {}: handler failed", topic, e);
        fail(m, new VirgaException("rpc " + topic + ": handler failed: " + e, e));
      }
    }

    @Override
    public void close() {
      synchronized (InProcessTransport.this) {
        Topic t = topics.get(topic);
        if (t != null) {
          t.consumers.remove(this);
        }
      }
      pool.shutdown();
    }
  }

  @Override
  public void cast(String topic, byte[] message) {
    send(topic, new Message(message, null));
  }

  @Override
  public CompletableFuture<byte[]> call(String topic, byte[] message, Duration timeout) {
    CompletableFuture<byte[]> reply = new CompletableFuture<>();
    CompletableFuture<byte[]> timed =
        reply
            .orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
            .exceptionallyCompose(
                e ->
                    CompletableFuture.failedFuture(
                        e instanceof TimeoutException
                            ? new RpcTimeoutException(
                                "no reply on topic " + topic + " within " + timeout)
                            : e));
    send(topic, new Message(message, reply));
    return timed;
  }

  private void send(String topic, Message m) {
    Consumer target;
    synchronized (this) {
      if (closed) {
        fail(m, new VirgaException("rpc transport closed"));
        return;
      }
      Topic t = topics.computeIfAbsent(topic, k -> new Topic());
      if (t.consumers.isEmpty()) {
        t.backlog.add(m);
        return;
      }
      target = t.consumers.get(Math.floorMod(t.next++, t.consumers.size()));
    }
    target.deliver(m);
  }

  @Override
  public Listener listen(String topic, Handler handler) {
    Consumer c = new Consumer(topic, handler);
    List<Message> waiting;
    synchronized (this) {
      if (closed) {
        throw new VirgaException("rpc transport closed");
      }
      Topic t = topics.computeIfAbsent(topic, k -> new Topic());
      t.consumers.add(c);
      waiting = new ArrayList<>(t.backlog);
      t.backlog.clear();
    }
    waiting.forEach(c::deliver);
    return c;
  }

  @Override
  public void close() {
    List<Consumer> all = new ArrayList<>();
    synchronized (this) {
      closed = true;
      for (Topic t : topics.values()) {
        all.addAll(t.consumers);
        t.backlog.forEach(m -> fail(m, new VirgaException("rpc transport closed")));
      }
      topics.clear();
    }
    all.forEach(c -> c.pool.shutdownNow());
  }

  private static void fail(Message m, RuntimeException e) {
    if (m.reply() != null) {
      m.reply().completeExceptionally(e);
    }
  }
}
