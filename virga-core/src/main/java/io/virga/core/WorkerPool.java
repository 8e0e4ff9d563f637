package io.virga.core;

import java.time.Duration;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A bounded pool of daemon platform threads that hands a task to an idle thread before it starts a
 * new one, grows up to {@code max}, then queues (unbounded), and lets threads idle for {@code
 * keepAlive} end. A plain {@link ThreadPoolExecutor} with {@code max} core threads starts a new
 * thread for every task until it has {@code max}, even with idle ones waiting, and with core
 * time-out it does so again after each quiet spell: an agent receiving a cast every few seconds
 * created a thread per cast. The same scheme as Tomcat's executor: count the submitted tasks, and
 * let the queue refuse a task (so the pool adds a thread) only while every thread is busy.
 */
public final class WorkerPool extends ThreadPoolExecutor {
  private final AtomicInteger submitted = new AtomicInteger();

  private WorkerPool(String prefix, int max, Duration keepAlive, ReuseFirstQueue queue) {
    super(
        0,
        max,
        keepAlive.toMillis(),
        TimeUnit.MILLISECONDS,
        queue,
        new NamedDaemons(prefix),
        (task, pool) -> {
          if (pool.isShutdown()) {
            throw new RejectedExecutionException("pool " + prefix + " is shut down");
          }
          queue.force(task); // every thread busy and the pool at max: wait in the queue
        });
    queue.pool = this;
  }

  /** Threads named {@code <prefix><n>}. */
  public static WorkerPool create(String prefix, int max, Duration keepAlive) {
    return new WorkerPool(prefix, max, keepAlive, new ReuseFirstQueue());
  }

  @Override
  public void execute(Runnable task) {
    submitted.incrementAndGet();
    try {
      super.execute(task);
    } catch (RejectedExecutionException e) {
      submitted.decrementAndGet();
      throw e;
    }
  }

  @Override
  protected void afterExecute(Runnable task, Throwable t) {
    submitted.decrementAndGet();
  }

  private static final class ReuseFirstQueue extends LinkedBlockingQueue<Runnable> {
    private volatile WorkerPool pool;

    @Override
    public boolean offer(Runnable task) {
      WorkerPool p = pool;
      // more tasks than threads and room to grow: refuse, so the pool starts a thread
      if (p != null
          && p.submitted.get() > p.getPoolSize()
          && p.getPoolSize() < p.getMaximumPoolSize()) {
        return false;
      }
      return super.offer(task);
    }

    void force(Runnable task) {
      super.offer(task);
    }
  }

  private static final class NamedDaemons implements java.util.concurrent.ThreadFactory {
    private final String prefix;
    private final AtomicInteger n = new AtomicInteger();

    NamedDaemons(String prefix) {
      this.prefix = prefix;
    }

    @Override
    public Thread newThread(Runnable r) {
      Thread t = new Thread(r, prefix + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    }
  }
}
