package io.virga.compute;

import io.virga.core.Instance;
import io.virga.core.PowerState;
import io.virga.core.VmState;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The states this agent's own compare-and-swaps just left instances in, when they ended a task:
 * ACTIVE and running, or STOPPED and shut down. A lifecycle event that only reports the very power
 * state the action just wrote (a build's STARTED, a stop's STOPPED) then needs no read of the
 * instance: the power sync it would start has nothing to do. Kept for {@code window} only, so a
 * change made elsewhere (an admin's reset-state) is never masked for longer than that; anything
 * else — another state, an older record, another host — still gets the full sync.
 */
final class SettledStates {
  private record Settled(PowerState power, long atNanos) {}

  private final Map<String, Settled> byUuid = new ConcurrentHashMap<>();
  private final long windowNanos;

  SettledStates(Duration window) {
    this.windowNanos = window.toNanos();
  }

  void record(Instance i) {
    boolean settled =
        i.taskState().isEmpty()
            && ((i.vmState() == VmState.ACTIVE && i.powerState() == PowerState.RUNNING)
                || (i.vmState() == VmState.STOPPED && i.powerState() == PowerState.SHUTDOWN));
    if (settled) {
      byUuid.put(i.uuid(), new Settled(i.powerState(), System.nanoTime()));
    } else {
      byUuid.remove(i.uuid());
    }
    if (byUuid.size() > 4096) {
      expire();
    }
  }

  boolean justSettled(String uuid, PowerState power) {
    Settled s = byUuid.get(uuid);
    if (s == null) {
      return false;
    }
    if (System.nanoTime() - s.atNanos() > windowNanos) {
      byUuid.remove(uuid, s);
      return false;
    }
    return s.power() == power;
  }

  private void expire() {
    long now = System.nanoTime();
    byUuid.values().removeIf(s -> now - s.atNanos() > windowNanos);
  }
}
