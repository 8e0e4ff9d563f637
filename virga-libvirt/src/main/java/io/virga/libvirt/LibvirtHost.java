package io.virga.libvirt;

import io.virga.virt.LifecycleEvent;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.NodeInfo;
import org.libvirt.event.ConnectionCloseListener;
import org.libvirt.event.DomainEvent;
import org.libvirt.event.LifecycleListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one wrapper around libvirt-java (Nova's {@code host.Host}): a lazily opened connection under
 * a lock, the event loop started before the first connection, a silent error callback, reconnect on
 * close with the host reported down meanwhile, and lifecycle events handed to an executor. With
 * {@link Guest} (one domain) and {@link LibvirtNative} (the JNA extension behind them), it is the
 * only code that touches libvirt: callers speak these methods, never the binding's types.
 *
 * <p>Every libvirt call runs on a platform thread: JNA pins virtual threads, so a call made from a
 * virtual thread is moved to this host's platform pool.
 */
public final class LibvirtHost implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LibvirtHost.class);

  /**
   * Every connection this process closed. libvirt may still call a closed connection's callbacks
   * from the event loop (virConnectClose only drops a reference); if the Connect and the JNA
   * callbacks it holds were collected, that call would jump into freed memory and crash the JVM.
   */
  private static final List<Connect> RETIRED =
      java.util.Collections.synchronizedList(new ArrayList<>());

  private final LifecycleListener lifecycleListener = this::onLifecycle;
  private final ConnectionCloseListener closeListener =
      (closedConn, reason) -> connectionLost(reason.name());

  private final String uri;

  /** Read side: held by every call on the connection; write side: opening and closing it. */
  private final ReentrantReadWriteLock connLock = new ReentrantReadWriteLock();

  private Connect conn; // guarded by connLock
  private volatile boolean up = true;
  private volatile boolean closed;
  private volatile Consumer<LifecycleEvent> listener = e -> {};
  private final ExecutorService platform;
  private final ExecutorService events;
  private final ScheduledExecutorService reconnects;

  public LibvirtHost(String uri) {
    this.uri = uri;
    this.platform =
        Executors.newCachedThreadPool(
            Thread.ofPlatform().name("libvirt-call-", 0).daemon().factory());
    this.events =
        Executors.newSingleThreadExecutor(
            Thread.ofPlatform().name("libvirt-events").daemon().factory());
    this.reconnects =
        Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("libvirt-reconnect").daemon().factory());
  }

  public String uri() {
    return uri;
  }

  /** False between a lost connection and the reconnect that restores it. */
  public boolean isUp() {
    return up;
  }

  public void setLifecycleListener(Consumer<LifecycleEvent> l) {
    this.listener = l;
  }

  /** A libvirt call against the connection; never handed outside the wrapper. */
  @FunctionalInterface
  private interface ConnCall<T> {
    T apply(Connect c) throws org.libvirt.LibvirtException;
  }

  /** A libvirt call on an existing handle. */
  @FunctionalInterface
  interface NativeCall<T> {
    T call() throws org.libvirt.LibvirtException;
  }

  /**
   * Runs {@code call} on a platform thread with the connection, naming {@code step} on failure. The
   * connection cannot be closed (by {@link #close()} or a reconnect) while the call runs.
   */
  private <T> T call(String step, ConnCall<T> call) {
    return onPlatform(
        step,
        () -> {
          while (true) {
            connLock.readLock().lock();
            try {
              if (conn != null && !closed) {
                return call.apply(conn);
              }
            } finally {
              connLock.readLock().unlock();
            }
            open(step);
          }
        });
  }

  <T> T onPlatform(String step, NativeCall<T> call) {
    Callable<T> task =
        () -> {
          try {
            return call.call();
          } catch (org.libvirt.LibvirtException e) {
            throw wrap(step, e);
          }
        };
    if (!Thread.currentThread().isVirtual()) {
      try {
        return task.call();
      } catch (RuntimeException e) {
        throw e;
      } catch (Exception e) {
        throw new LibvirtException(step + ": " + e.getMessage(), -1, "UNKNOWN", e);
      }
    }
    Future<T> f = platform.submit(task);
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      f.cancel(false);
      throw new LibvirtException(step + ": interrupted", -1, "UNKNOWN", e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException re) {
        throw re;
      }
      throw new LibvirtException(step + ": " + e.getCause(), -1, "UNKNOWN", e.getCause());
    }
  }

  /** Opens the connection (and the event loop) on first use or after a loss. */
  private void open(String step) {
    connLock.writeLock().lock();
    try {
      if (closed) {
        throw new LibvirtException(
            step + ": libvirt host " + uri + " is closed", -1, "CLOSED", null);
      }
      if (conn != null) {
        return;
      }
      LibvirtEvents.ensureEventLoop();
      try {
        Connect c = new Connect(uri, false);
        c.setKeepAlive(5, 3);
        c.registerCloseListener(closeListener);
        c.addLifecycleListener(lifecycleListener);
        conn = c;
        up = true;
        LOG.info("connected to libvirt at {}", uri);
      } catch (org.libvirt.LibvirtException e) {
        up = false;
        throw wrap(step + " (connecting to " + uri + ")", e);
      }
    } finally {
      connLock.writeLock().unlock();
    }
  }

  /** Close callback (event loop thread): drop the connection and reconnect from elsewhere. */
  private void connectionLost(String reason) {
    up = false;
    LOG.warn(
        "libvirt connection {} closed ({}); host reported down until it reconnects", uri, reason);
    reconnects.execute(
        () -> {
          connLock.writeLock().lock();
          try {
            Connect old = conn;
            conn = null;
            if (old != null) {
              retire(old);
            }
          } finally {
            connLock.writeLock().unlock();
          }
          scheduleReconnect(0);
        });
  }

  private void scheduleReconnect(long delaySeconds) {
    if (closed) {
      return;
    }
    reconnects.schedule(
        () -> {
          try {
            open("reconnect");
          } catch (LibvirtException e) {
            LOG.warn("libvirt at {} still unreachable: {}; retrying in 5 s", uri, e.getMessage());
            scheduleReconnect(5);
          }
        },
        delaySeconds,
        TimeUnit.SECONDS);
  }

  /** Stops a connection's callbacks, closes it, and keeps it reachable (see {@link #RETIRED}). */
  private void retire(Connect c) {
    RETIRED.add(c);
    try {
      c.removeLifecycleListener(lifecycleListener);
    } catch (org.libvirt.LibvirtException | RuntimeException e) {
      LOG.debug("deregistering lifecycle events: {}", e.toString());
    }
    try {
      c.unregisterCloseListener();
    } catch (org.libvirt.LibvirtException | RuntimeException e) {
      LOG.debug("deregistering the close callback: {}", e.toString());
    }
    try {
      c.close();
    } catch (org.libvirt.LibvirtException | RuntimeException e) {
      LOG.debug("closing libvirt connection: {}", e.toString());
    }
  }

  /** Lifecycle callback, on the event loop thread: read what we need, free, hand off. */
  private int onLifecycle(Domain d, DomainEvent event) {
    if (closed) {
      Guest.freeQuietly(d);
      return 0;
    }
    String uuid;
    try {
      uuid = d.getUUIDString();
    } catch (org.libvirt.LibvirtException e) {
      return 0;
    } finally {
      Guest.freeQuietly(d);
    }
    Optional<LifecycleEvent.Transition> t = LibvirtEvents.transition(event);
    if (t.isPresent()) {
      LifecycleEvent le = new LifecycleEvent(uuid, t.get(), Instant.now());
      events.execute(
          () -> {
            try {
              listener.accept(le);
            } catch (RuntimeException e) {
              LOG.warn("lifecycle listener failed on {}: {}", le, e.toString());
            }
          });
    }
    return 0;
  }

  /** The domain with this uuid, or empty when libvirt does not know it. */
  public Optional<Guest> lookup(String uuid) {
    return find("look up domain " + uuid, c -> c.domainLookupByUUIDString(uuid));
  }

  /** The domain with this name, or empty. */
  public Optional<Guest> lookupByName(String name) {
    return find("look up domain " + name, c -> c.domainLookupByName(name));
  }

  private Optional<Guest> find(String step, ConnCall<Domain> lookup) {
    try {
      return Optional.of(new Guest(this, call(step, lookup)));
    } catch (LibvirtException e) {
      if (e.isNoDomain()) {
        return Optional.empty();
      }
      throw e;
    }
  }

  /** defineXML: a persistent, shut-off domain. */
  public Guest define(String xml) {
    return new Guest(this, call("define domain", c -> c.domainDefineXML(xml)));
  }

  /** Every domain libvirt knows (running or defined); the caller closes each. */
  public List<Guest> listAll() {
    Domain[] all = call("list domains", c -> c.listAllDomains(0));
    List<Guest> out = new ArrayList<>(all.length);
    for (Domain d : all) {
      out.add(new Guest(this, d));
    }
    return out;
  }

  /**
   * createXML: a transient domain, started at once, gone when it stops (what the KVM probe and
   * tests boot); the caller destroys and closes it.
   */
  public Guest createTransient(String xml) {
    return new Guest(this, call("create transient domain", c -> c.domainCreateXML(xml, 0)));
  }

  /** Opens the connection now (it is otherwise opened by the first call). */
  public void connect() {
    call("connect", Connect::getURI);
  }

  public String hostname() {
    return call("read hostname", Connect::getHostName);
  }

  /** What the node offers: logical CPUs and memory in KiB. */
  public record NodeFacts(int cpus, long memoryKiB) {}

  public NodeFacts nodeFacts() {
    NodeInfo node = call("read node info", Connect::nodeInfo);
    return new NodeFacts(node.cpus, node.memory);
  }

  /** The hypervisor's version (major * 1,000,000 + minor * 1,000 + release). */
  public long hypervisorVersion() {
    return call("read hypervisor version", Connect::getVersion);
  }

  /** {@code virConnectCompareCPU}: 0 incompatible, 1 identical, 2 superset (-1 error). */
  public int compareCpu(String cpuXml) {
    return call("compare CPU", c -> c.compareCPU(cpuXml).getReturnCode());
  }

  public String capabilities() {
    return call("read host capabilities", Connect::getCapabilities);
  }

  /** Wraps a binding exception with libvirt's error code, naming the step that failed. */
  static LibvirtException wrap(String step, org.libvirt.LibvirtException e) {
    org.libvirt.Error err = e.getError();
    int code = err == null || err.getCode() == null ? -1 : err.getCode().ordinal();
    String name = err == null || err.getCode() == null ? "UNKNOWN" : err.getCode().name();
    String msg = err == null ? String.valueOf(e.getMessage()) : err.getMessage();
    return new LibvirtException(step + ": " + msg + " (" + name + ")", code, name, e);
  }

  @Override
  public void close() {
    closed = true;
    connLock.writeLock().lock();
    try {
      if (conn != null) {
        retire(conn);
        conn = null;
      }
    } finally {
      connLock.writeLock().unlock();
    }
    reconnects.shutdownNow();
    events.shutdown();
    platform.shutdown();
  }
}
