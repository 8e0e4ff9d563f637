package io.virga.server;

import java.time.Duration;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Start-up against dependencies that may not be there yet (PostgreSQL, RabbitMQ, libvirtd, the
 * control plane): each failure is logged with what failed and when the next attempt is, waits grow
 * from 1 s to {@link #MAX_WAIT}, and the process comes up by itself once the dependency does.
 */
final class Retry {
  private static final Logger LOG = LoggerFactory.getLogger(Retry.class);
  static final Duration MAX_WAIT = Duration.ofSeconds(30);

  private Retry() {}

  /** Calls {@code attempt} until it returns; {@code what} names the dependency for the log. */
  static <T> T untilUp(String what, Supplier<T> attempt) {
    long waitMs = 1000;
    for (int n = 1; ; n++) {
      try {
        T result = attempt.get();
        if (n > 1) {
          LOG.info("{} is reachable now (attempt {})", what, n);
        }
        return result;
      } catch (RuntimeException e) {
        LOG.error(
            "cannot reach {} (attempt {}): {}; retrying in {} s",
            what,
            n,
            e.getMessage(),
            waitMs / 1000);
      }
      try {
        Thread.sleep(waitMs);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new io.virga.core.VirgaException("stopped while waiting for " + what, e);
      }
      waitMs = Math.min(waitMs * 2, MAX_WAIT.toMillis());
    }
  }
}
