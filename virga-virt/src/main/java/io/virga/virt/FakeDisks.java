package io.virga.virt;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The "instances path" of {@link FakeDriver}s: each instance's root disk content (a line of text a
 * test can write, as a guest writes its disk) and the host that last recreated the instance from
 * these disks. Hosts given the same {@code FakeDisks} share their storage, as hosts mounting one
 * instances path do; each FakeDriver has its own otherwise.
 */
public final class FakeDisks {
  private record Disk(String content, Optional<String> recreatedBy) {}

  private final Map<String, Disk> disks = new ConcurrentHashMap<>();

  /** The root disk's content of {@code uuid}, empty when it has no disks here. */
  public Optional<String> read(String uuid) {
    return Optional.ofNullable(disks.get(uuid)).map(Disk::content);
  }

  /** What the guest writes to its root disk; the disks must exist. */
  public void write(String uuid, String content) {
    disks.computeIfPresent(uuid, (u, d) -> new Disk(content, d.recreatedBy()));
    if (!disks.containsKey(uuid)) {
      throw new IllegalStateException("instance " + uuid + " has no disks here");
    }
  }

  boolean exists(String uuid) {
    return disks.containsKey(uuid);
  }

  /** A root disk made from the image (spawn, rebuild): whatever the guest wrote is gone. */
  void createFromImage(String uuid, String imageId) {
    disks.put(uuid, new Disk("image:" + imageId, Optional.empty()));
  }

  void recreatedBy(String uuid, String host) {
    disks.computeIfPresent(uuid, (u, d) -> new Disk(d.content(), Optional.of(host)));
  }

  Optional<String> recreatedBy(String uuid) {
    return Optional.ofNullable(disks.get(uuid)).flatMap(Disk::recreatedBy);
  }

  void remove(String uuid) {
    disks.remove(uuid);
  }
}
