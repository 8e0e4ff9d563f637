package io.virga.libvirt;

import java.util.Optional;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link SnapshotDomain} over a {@link Guest}. It does not own the guest: whoever looked the domain
 * up closes it. Failures name the snapshot and the step.
 */
final class LibvirtSnapshotDomain implements SnapshotDomain {
  private static final Logger LOG = LoggerFactory.getLogger(LibvirtSnapshotDomain.class);

  private final LibvirtHost host;
  private final Guest guest;
  private final String name;

  LibvirtSnapshotDomain(LibvirtHost host, Guest guest) {
    this.host = host;
    this.guest = guest;
    this.name = guest.name();
  }

  @Override
  public String name() {
    return name;
  }

  /**
   * The power state the snapshot flow distinguishes, from the one libvirt map ({@link
   * Guest#powerState()}): a shut-off domain with a managed-save image is suspended, and a domain
   * still shutting down (SHUTDOWN but active) is not snapshotted.
   */
  @Override
  public PowerState powerState() {
    return switch (guest.powerState()) {
      case RUNNING -> PowerState.RUNNING;
      case PAUSED -> PowerState.PAUSED;
      case SHUTDOWN ->
          guest.isActive()
              ? PowerState.OTHER
              : guest.hasManagedSave() ? PowerState.SUSPENDED : PowerState.SHUTOFF;
      default -> PowerState.OTHER;
    };
  }

  @Override
  public boolean isPersistent() {
    return guest.isPersistent();
  }

  @Override
  public String persistentXml() {
    return guest.xml(Guest.XML_INACTIVE | Guest.XML_SECURE);
  }

  @Override
  public String liveXml() {
    return guest.xml(0);
  }

  @Override
  public void undefineKeepRunning() {
    guest.undefineKeepRunning();
  }

  @Override
  public void define(String xml) {
    host.define(xml).close();
  }

  @Override
  public void blockCopyShallowReuseExternal(String disk, String dest) {
    guest.blockCopyShallowReuseExternal(disk, dest);
  }

  @Override
  public Optional<Guest.BlockJob> blockJobInfo(String disk) {
    return guest.blockJobInfo(disk);
  }

  @Override
  public void blockJobAbort(String disk) {
    guest.blockJobAbort(disk);
  }

  @Override
  public void managedSave() {
    guest.managedSave();
  }

  @Override
  public void start(boolean paused) {
    guest.launch(paused);
  }

  /**
   * The {@code restoreDefinition} for {@link
   * SnapshotRecovery#cleanupStaleSnapshots(java.nio.file.Path, BiConsumer)}: a domain a dead agent
   * left transient (or that vanished while transient) is defined again from its saved XML, after
   * ending any block-copy job still running on it.
   */
  static BiConsumer<String, String> restoreTransient(LibvirtHost host) {
    return (name, xml) -> {
      Optional<Guest> found = host.lookupByName(name);
      try {
        if (found.isPresent()) {
          LibvirtSnapshotDomain d = new LibvirtSnapshotDomain(host, found.get());
          if (d.isPersistent()) {
            return;
          }
          for (String dev : SnapshotRootDisk.mirroredTargets(d.liveXml())) {
            d.blockJobAbort(dev);
          }
        }
        LOG.warn("domain {}: restoring the persistent definition a snapshot saved", name);
        host.define(xml).close();
      } finally {
        found.ifPresent(Guest::close);
      }
    };
  }
}
