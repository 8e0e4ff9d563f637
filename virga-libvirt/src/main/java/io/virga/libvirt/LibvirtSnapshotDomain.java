package io.virga.libvirt;

import com.sun.jna.NativeLong;
import java.util.Optional;
import java.util.function.BiConsumer;
import org.libvirt.Domain;
import org.libvirt.DomainInfo.DomainState;
import org.libvirt.jna.DomainPointer;
import org.libvirt.jna.virDomainBlockJobInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link SnapshotDomain} over a libvirt-java {@link Domain}, every call run on a platform thread
 * through the owning {@link LibvirtHost} (JNA pins virtual threads). It does not own the handle:
 * whoever looked the domain up frees it.
 */
final class LibvirtSnapshotDomain implements SnapshotDomain {
  private static final Logger LOG = LoggerFactory.getLogger(LibvirtSnapshotDomain.class);
  private static final int XML_SECURE = 1;
  private static final int XML_INACTIVE = 2;
  private static final int UNDEFINE_KEEP_NVRAM = 8;
  private static final int START_PAUSED = 1;

  private final LibvirtHost host;
  private final Domain domain;
  private final String name;

  LibvirtSnapshotDomain(LibvirtHost host, Domain domain) {
    this.host = host;
    this.domain = domain;
    this.name = host.onPlatform("snapshot: read the domain name", domain::getName);
  }

  private <T> T call(String step, LibvirtHost.NativeCall<T> c) {
    return host.onPlatform("snapshot of " + name + ": " + step, c);
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
    call(
        "define the saved XML",
        () -> {
          domain.getConnect().domainDefineXML(xml).free();
          return null;
        });
  }

  @Override
  public void blockCopyShallowReuseExternal(String disk, String dest) {
    int flags =
        LibvirtSnapshotNative.BLOCK_REBASE_COPY
            | LibvirtSnapshotNative.BLOCK_REBASE_REUSE_EXT
            | LibvirtSnapshotNative.BLOCK_REBASE_SHALLOW;
    nativeCall(
        "blockRebase " + disk + " (shallow copy)",
        p ->
            LibvirtSnapshotNative.INSTANCE.virDomainBlockRebase(
                p, disk, dest, new NativeLong(0), flags));
  }

  @Override
  public Optional<BlockJob> blockJobInfo(String disk) {
    virDomainBlockJobInfo info = new virDomainBlockJobInfo();
    int rc =
        nativeCall(
            "read the block job on " + disk,
            p -> LibvirtSnapshotNative.INSTANCE.virDomainGetBlockJobInfo(p, disk, info, 0));
    return rc == 0 ? Optional.empty() : Optional.of(new BlockJob(info.cur, info.end));
  }

  @Override
  public void blockJobAbort(String disk) {
    nativeCall(
        "abort the block job on " + disk,
        p -> LibvirtSnapshotNative.INSTANCE.virDomainBlockJobAbort(p, disk, 0));
  }

  @Override
  public void managedSave() {
    call("managedSave", domain::managedSave);
  }

  @Override
  public void start(boolean paused) {
    call("start" + (paused ? " paused" : ""), () -> domain.create(paused ? START_PAUSED : 0));
  }

  private interface PointerCall {
    int call(DomainPointer p);
  }

  /** A call into {@link LibvirtSnapshotNative}; the error is read on the same platform thread. */
  private int nativeCall(String step, PointerCall c) {
    return call(
        step,
        () -> {
          int rc = c.call(LibvirtSnapshotNative.pointerOf(domain));
          if (rc < 0) {
            throw new SnapshotException(
                "snapshot of "
                    + name
                    + ": "
                    + step
                    + " failed: "
                    + LibvirtSnapshotNative.INSTANCE.virGetLastErrorMessage());
          }
          return rc;
        });
  }

  /**
   * The {@code restoreDefinition} for {@link
   * SnapshotRecovery#cleanupStaleSnapshots(java.nio.file.Path, BiConsumer)}: a domain a dead agent
   * left transient (or that vanished while transient) is defined again from its saved XML, after
   * ending any block-copy job still running on it.
   */
  static BiConsumer<String, String> restoreTransient(LibvirtHost host) {
    return (name, xml) -> {
      Optional<Domain> found;
      try {
        found = Optional.of(host.call("look up domain " + name, c -> c.domainLookupByName(name)));
      } catch (LibvirtException e) {
        if (!e.isNoDomain()) {
          throw e;
        }
        found = Optional.empty();
      }
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
        host.call(
            "define domain " + name + " from its saved snapshot XML",
            c -> {
              c.domainDefineXML(xml).free();
              return null;
            });
      } finally {
        found.ifPresent(Guest::freeQuietly);
      }
    };
  }
}
