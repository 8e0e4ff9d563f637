package io.virga.compute;

import io.virga.virt.ComputeDriver;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Instances deleted whose files a failed delete left behind (Nova's "cleaned" flag): retried every
 * {@code instance_delete_interval} through the driver's cleanupLeftovers.
 */
final class PendingDeletes {
  private static final Logger log = LoggerFactory.getLogger(PendingDeletes.class);
  private final ComputeDriver driver;
  private final Set<String> uuids = ConcurrentHashMap.newKeySet();

  PendingDeletes(ComputeDriver driver) {
    this.driver = driver;
  }

  void add(String uuid) {
    uuids.add(uuid);
  }

  Set<String> pending() {
    return Set.copyOf(uuids);
  }

  void run() {
    List<String> todo = List.copyOf(uuids);
    if (todo.isEmpty()) {
      return;
    }
    try {
      List<String> still = driver.cleanupLeftovers(todo);
      for (String uuid : todo) {
        if (!still.contains(uuid)) {
          uuids.remove(uuid);
        }
      }
      if (!still.isEmpty()) {
        log.warn("files of deleted instances {} still not removed; will retry", still);
      }
    } catch (RuntimeException e) {
      log.warn("pending-delete cleanup failed (will retry): {}", e.toString());
    }
  }
}
