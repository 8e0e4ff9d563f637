package io.virga.libvirt;

import com.sun.jna.NativeLong;
import java.util.Optional;
import java.util.function.BiConsumer;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.DomainInfo.DomainState;
import org.libvirt.Error;
import org.libvirt.LibvirtException;
import org.libvirt.jna.DomainPointer;
import org.libvirt.jna.virDomainBlockJobInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link SnapshotDomain} over a libvirt-java {@link Domain}. It does not own the handle: whoever
 * looked the domain up frees it. Call from platform threads only (JNA pins virtual threads).
 */
final class LibvirtSnapshotDomain implements SnapshotDomain {
  private static final Logger LOG = LoggerFactory.getLogger(LibvirtSnapshotDomain.class);
  private static final int XML_SECURE = 1;
  private static final int XML_INACTIVE = 2;
  private static final int UNDEFINE_KEEP_NVRAM = 8;
  private static final int START_PAUSED = 1;

  private final Domain domain;
  private final String name;

  LibvirtSnapshotDomain(Domain domain) {
    this.domain = domain;
    this.name = call("read the name of a domain", domain::getName);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public PowerState powerState() {
    DomainState state = call("read the state", () -> domain.getInfo().state);
    return switch (state) {
      case VIR_DOMAIN_RUNNING, VIR_DOMAIN_BLOCKED -> PowerState.RUNNING;
      case VIR_DOMAIN_PAUSED -> PowerState.PAUSED;
      case VIR_DOMAIN_SHUTOFF ->
          call("look for a managed-save image", domain::hasManagedSaveImage) == 1
              ? PowerState.SUSPENDED
              : PowerState.SHUTOFF;
      default -> PowerState.OTHER;
    };
  }

  @Override
  public boolean isPersistent() {
    return call("ask whether the domain is persistent", domain::isPersistent) == 1;
  }

  @Override
  public String persistentXml() {
    return call("read the persistent XML", () -> domain.getXMLDesc(XML_INACTIVE | XML_SECURE));
  }

  @Override
  public String liveXml() {
    return call("read the live XML", () -> domain.getXMLDesc(0));
  }

  @Override
  public void undefineKeepRunning() {
    call(
        "undefine (make transient)",
        () -> {
          domain.undefine(UNDEFINE_KEEP_NVRAM);
          return null;
        });
  }

  @Override
  public void define(String xml) {
    Domain defined = call("define the saved XML", () -> domain.getConnect().domainDefineXML(xml));
    call("free the defined domain handle", defined::free);
  }

  @Override
  public void blockCopyShallowReuseExternal(String disk, String dest) {
    int flags =
        LibvirtSnapshotNative.BLOCK_REBASE_COPY
            | LibvirtSnapshotNative.BLOCK_REBASE_REUSE_EXT
            | LibvirtSnapshotNative.BLOCK_REBASE_SHALLOW;
    check(
        "blockRebase " + disk + " (shallow copy)",
        LibvirtSnapshotNative.INSTANCE.virDomainBlockRebase(
            pointer(), disk, dest, new NativeLong(0), flags));
  }

  @Override
  public Optional<BlockJob> blockJobInfo(String disk) {
    virDomainBlockJobInfo info = new virDomainBlockJobInfo();
    int rc = LibvirtSnapshotNative.INSTANCE.virDomainGetBlockJobInfo(pointer(), disk, info, 0);
    check("read the block job on " + disk, rc);
    return rc == 0 ? Optional.empty() : Optional.of(new BlockJob(info.cur, info.end));
  }

  @Override
  public void blockJobAbort(String disk) {
    check(
        "abort the block job on " + disk,
        LibvirtSnapshotNative.INSTANCE.virDomainBlockJobAbort(pointer(), disk, 0));
  }

  @Override
  public void managedSave() {
    call("managedSave", domain::managedSave);
  }

  @Override
  public void start(boolean paused) {
    call("start" + (paused ? " paused" : ""), () -> domain.create(paused ? START_PAUSED : 0));
  }

  /**
   * The {@code restoreDefinition} for {@link SnapshotFlow#cleanupStaleSnapshots(java.nio.file.Path,
   * java.util.function.BiConsumer)}: a domain a dead agent left transient (or that vanished while
   * transient) is defined again from its saved XML, after ending any block-copy job still running.
   */
  static BiConsumer<String, String> restoreTransient(Connect connect) {
    return (name, xml) -> {
      Domain found;
      try {
        found = connect.domainLookupByName(name);
      } catch (LibvirtException e) {
        if (e.getError().getCode() != Error.ErrorNumber.VIR_ERR_NO_DOMAIN) {
          throw new SnapshotException("look up domain " + name + " failed: " + e.getMessage(), e);
        }
        found = null;
      }
      try {
        if (found != null) {
          LibvirtSnapshotDomain d = new LibvirtSnapshotDomain(found);
          if (d.isPersistent()) {
            return;
          }
          for (String dev : SnapshotRootDisk.mirroredTargets(d.liveXml())) {
            d.blockJobAbort(dev);
          }
        }
        LOG.warn("domain {}: restoring the persistent definition saved by a snapshot", name);
        Domain defined = connect.domainDefineXML(xml);
        defined.free();
      } catch (LibvirtException e) {
        throw new SnapshotException("define domain " + name + " failed: " + e.getMessage(), e);
      } finally {
        if (found != null) {
          try {
            found.free();
          } catch (LibvirtException e) {
            LOG.debug("free of domain {} failed", name, e);
          }
        }
      }
    };
  }

  private DomainPointer pointer() {
    return LibvirtSnapshotNative.pointerOf(domain);
  }

  private void check(String step, int rc) {
    if (rc < 0) {
      throw new SnapshotException(
          "domain "
              + name
              + ": "
              + step
              + " failed: "
              + LibvirtSnapshotNative.INSTANCE.virGetLastErrorMessage());
    }
  }

  private interface LibvirtCall<T> {
    T call() throws LibvirtException;
  }

  private <T> T call(String step, LibvirtCall<T> c) {
    try {
      return c.call();
    } catch (LibvirtException e) {
      throw new SnapshotException(
          "domain " + (name == null ? "?" : name) + ": " + step + " failed: " + e.getMessage(), e);
    }
  }
}
