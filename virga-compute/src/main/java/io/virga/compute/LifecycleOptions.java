package io.virga.compute;

import io.virga.core.Config;
import java.time.Duration;

/**
 * The agent's options for the rest of a server's life (Nova's names and defaults).
 *
 * @param shelvedOffloadTime seconds a shelved instance keeps its disks on the host before it is
 *     offloaded ({@code shelved_offload_time}, 0): 0 offloads at once, -1 never
 * @param shelvedPollInterval how often shelved instances are checked for offloading ({@code
 *     shelved_poll_interval}, 3600 s)
 */
public record LifecycleOptions(long shelvedOffloadTime, Duration shelvedPollInterval) {

  public LifecycleOptions {
    if (shelvedOffloadTime < -1) {
      throw new IllegalArgumentException(
          "shelved_offload_time must be -1, 0 or a number of seconds");
    }
  }

  public static LifecycleOptions defaults() {
    return new LifecycleOptions(0, Duration.ofHours(1));
  }

  public static LifecycleOptions fromConfig(Config c) {
    return new LifecycleOptions(
        c.longValue("shelved_offload_time", 0), c.seconds("shelved_poll_interval", 3600));
  }
}
