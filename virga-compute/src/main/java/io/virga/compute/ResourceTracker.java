package io.virga.compute;

import io.virga.core.ConductorApi;
import io.virga.core.HostReport;
import io.virga.virt.ComputeDriver;
import io.virga.virt.HostResources;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reports this host's resources and liveness to the conductor: periodically ({@code
 * update_resources_interval}) and soon after every change. Changes arriving while a report is
 * pending fold into it.
 */
final class ResourceTracker {
  private static final Logger log = LoggerFactory.getLogger(ResourceTracker.class);
  private final ComputeDriver driver;
  private final ConductorApi conductor;
  private final String host;
  private final String myIp;
  private final Executor executor;
  private final AtomicBoolean pending = new AtomicBoolean();
  private final AtomicLong reports = new AtomicLong();

  ResourceTracker(
      ComputeDriver driver, ConductorApi conductor, String host, String myIp, Executor executor) {
    this.driver = driver;
    this.conductor = conductor;
    this.host = host;
    this.myIp = myIp;
    this.executor = executor;
  }

  /** Asks for a report soon; cheap, callable from any thread. */
  void changed() {
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

  /** Reports now; errors are logged (the next report retries). */
  void report() {
    try {
      HostResources r = driver.getAvailableResource();
      int running = driver.listInstanceUuids().size();
      conductor.reportHost(
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
      reports.incrementAndGet();
    } catch (RuntimeException e) {
      log.warn("resource report failed (the next one retries): {}", e.toString());
    }
  }

  long reportCount() {
    return reports.get();
  }
}
