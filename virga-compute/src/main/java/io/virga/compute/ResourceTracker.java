package io.virga.compute;

import io.virga.core.ConductorApi;
import io.virga.core.HostReport;
import io.virga.virt.ComputeDriver;
import io.virga.virt.HostResources;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reports this host's resources and liveness to the conductor: periodically ({@code
 * update_resources_interval}), and with the next heartbeat after a change. The control plane counts
 * a host's usage from the instances assigned to it (the scheduler's claims and {@code
 * os-hypervisors} alike), so a change needs no report of its own: the hypervisor's figures (free
 * disk, totals) follow within one {@code report_interval}, in the heartbeat that the busy host
 * sends anyway — at a thousand hosts a report after every boot was one more broker round trip and
 * node-row transaction per boot.
 */
final class ResourceTracker {
  private static final Logger log = LoggerFactory.getLogger(ResourceTracker.class);
  private final ComputeDriver driver;
  private final ConductorApi conductor;
  private final String host;
  private final String myIp;
  private final Executor executor;
  private final AtomicBoolean pending = new AtomicBoolean();
  private final AtomicBoolean changed = new AtomicBoolean();
  private final AtomicLong reports = new AtomicLong();
  private final AtomicReference<HostReport> last = new AtomicReference<>();

  ResourceTracker(
      ComputeDriver driver, ConductorApi conductor, String host, String myIp, Executor executor) {
    this.driver = driver;
    this.conductor = conductor;
    this.host = host;
    this.myIp = myIp;
    this.executor = executor;
  }

  /** Something on the host changed: the next heartbeat is a full report. Callable anywhere. */
  void changed() {
    changed.set(true);
  }

  boolean changePending() {
    return changed.get();
  }

  /** Asks for a report now, off the caller's thread (the agent's start). */
  void reportSoon() {
    if (pending.compareAndSet(false, true)) {
      try {
        executor.execute(this::reportPending);
      } catch (java.util.concurrent.RejectedExecutionException e) {
        pending.set(false); // shutting down
      }
    }
  }

  private void reportPending() {
    pending.set(false);
    report();
  }

  /** Refreshes from the hypervisor and reports now; errors are logged (the next report retries). */
  void report() {
    if (!hostUp()) {
      return;
    }
    changed.set(false); // a change from now on is in the next report
    try {
      HostResources r = driver.getAvailableResource();
      int running = driver.listInstanceUuids().size();
      send(
          new HostReport(
              host,
              r.hypervisorHostname(),
              r.hypervisorType(),
              r.hypervisorVersion(),
              myIp,
              r.vcpus(),
              r.vcpusUsed(),
              r.memoryMb(),
              r.memoryMbUsed(),
              r.localGb(),
              r.localGbUsed(),
              r.diskAvailableLeastGb(),
              running,
              r.cpuInfoJson()));
    } catch (RuntimeException e) {
      changed.set(true);
      log.warn("resource report failed (the next one retries): {}", e.toString());
    }
  }

  /**
   * The service heartbeat ({@code report_interval}): marks the service seen, without asking the
   * hypervisor or rewriting the node record (at a thousand hosts, a full report every ten seconds
   * from each was a hundred node-row transactions a second, each contending with the scheduler's
   * claims). A control plane without a service record for this host (or without light heartbeats)
   * gets the last full report again. After a change ({@link #changed}) the heartbeat is the full
   * report. Skipped while the driver has lost the hypervisor, so the API sees the host down after
   * its service_down_time. Otherwise a report or heartbeat sent less than half {@code interval} ago
   * already marked the service seen: this one is skipped, so the service's last_seen_up is never
   * more than one and a half intervals old.
   */
  void heartbeat(java.time.Duration interval) {
    HostReport r = last.get();
    if (r == null || changed.get()) {
      report();
      return;
    }
    java.time.Instant sent = lastSent;
    if (sent != null && sent.isAfter(java.time.Instant.now().minus(interval.dividedBy(2)))) {
      return;
    }
    if (!hostUp()) {
      return;
    }
    try {
      if (lightHeartbeat && conductor.serviceHeartbeat(host)) {
        lastSent = java.time.Instant.now();
        return;
      }
      send(r);
    } catch (io.virga.core.NotImplementedException e) {
      lightHeartbeat = false;
      heartbeat(interval);
    } catch (RuntimeException e) {
      log.warn("heartbeat failed (the next one retries): {}", e.toString());
    }
  }

  private volatile boolean lightHeartbeat = true;

  private boolean hostUp() {
    if (driver.isHostUp()) {
      return true;
    }
    log.warn("hypervisor connection lost: no report or heartbeat until it is back");
    return false;
  }

  private void send(HostReport r) {
    conductor.reportHost(r);
    last.set(r);
    lastSent = java.time.Instant.now();
    reports.incrementAndGet();
  }

  private volatile java.time.Instant lastSent;

  java.util.Optional<java.time.Instant> lastSent() {
    return java.util.Optional.ofNullable(lastSent);
  }

  long reportCount() {
    return reports.get();
  }
}
