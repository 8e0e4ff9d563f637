package io.virga.libvirt;

import io.virga.core.PowerState;
import io.virga.virt.InstanceInfo;
import org.libvirt.Domain;
import org.libvirt.DomainInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One libvirt domain handle (Nova's {@code guest.Guest}). Freed explicitly by {@link #close()};
 * every call runs on a platform thread through the owning {@link LibvirtHost}.
 */
public final class Guest implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Guest.class);

  /** virDomainUndefineFlags: also remove a managed-save image (and snapshot/nvram metadata). */
  static final int UNDEFINE_MANAGED_SAVE = 1;

  static final int UNDEFINE_SNAPSHOTS_METADATA = 2;
  static final int UNDEFINE_NVRAM = 4;
  static final int UNDEFINE_CHECKPOINTS_METADATA = 16;

  /** virDomainCreateFlags: start paused. */
  static final int START_PAUSED = 1;

  private final LibvirtHost host;
  private Domain domain; // null once freed
  private final Object freeLock = new Object();

  Guest(LibvirtHost host, Domain domain) {
    this.host = host;
    this.domain = domain;
  }

  private Domain handle() {
    synchronized (freeLock) {
      if (domain == null) {
        throw new IllegalStateException("domain handle already freed");
      }
      return domain;
    }
  }

  private <T> T run(String step, LibvirtHost.NativeCall<T> call) {
    return host.onPlatform(step, call);
  }

  /** A libvirt call on this domain that returns nothing. */
  @FunctionalInterface
  private interface DomainAction {
    void apply(Domain d) throws org.libvirt.LibvirtException;
  }

  private void act(String step, DomainAction action) {
    Domain d = handle();
    host.onPlatform(
        step,
        () -> {
          action.apply(d);
          return null;
        });
  }

  public String uuid() {
    Domain d = handle();
    return run("read domain uuid", d::getUUIDString);
  }

  public String name() {
    Domain d = handle();
    return run("read domain name", d::getName);
  }

  public boolean isActive() {
    Domain d = handle();
    return run("read domain state", d::isActive) == 1;
  }

  public PowerState powerState() {
    return info().powerState();
  }

  public InstanceInfo info() {
    Domain d = handle();
    DomainInfo i = run("read domain info", d::getInfo);
    return new InstanceInfo(powerState(i.state), i.maxMem, i.memory, i.nrVirtCpu, i.cpuTime);
  }

  /** Per-vCPU CPU time in nanoseconds, indexed by vCPU number. */
  long[] vcpuTimes() {
    Domain d = handle();
    org.libvirt.VcpuInfo[] v = run("read vcpu info", d::getVcpusInfo);
    long[] out = new long[v.length];
    for (org.libvirt.VcpuInfo i : v) {
      if (i.number >= 0 && i.number < out.length) {
        out[i.number] = i.cpuTime;
      }
    }
    return out;
  }

  /** The I/O counters of the disk with this target device. */
  org.libvirt.DomainBlockStats blockStats(String dev) {
    Domain d = handle();
    return run("read block stats of " + dev, () -> d.blockStats(dev));
  }

  /** The memory balloon's statistics by libvirt tag number (KiB). */
  java.util.Map<Integer, Long> memoryStats() {
    Domain d = handle();
    org.libvirt.MemoryStatistic[] s = run("read memory stats", () -> d.memoryStats(13));
    java.util.Map<Integer, Long> out = new java.util.TreeMap<>();
    for (org.libvirt.MemoryStatistic m : s) {
      out.put(m.getTag(), m.getValue());
    }
    return out;
  }

  /** Nova's LIBVIRT_POWER_STATE table. */
  static PowerState powerState(DomainInfo.DomainState s) {
    return switch (s) {
      case VIR_DOMAIN_RUNNING, VIR_DOMAIN_BLOCKED -> PowerState.RUNNING;
      case VIR_DOMAIN_PAUSED -> PowerState.PAUSED;
      case VIR_DOMAIN_SHUTDOWN, VIR_DOMAIN_SHUTOFF -> PowerState.SHUTDOWN;
      case VIR_DOMAIN_CRASHED -> PowerState.CRASHED;
      case VIR_DOMAIN_PMSUSPENDED -> PowerState.SUSPENDED;
      default -> PowerState.NOSTATE;
    };
  }

  /** virDomainCreateWithFlags: boots, or restores from a managed save when one exists. */
  public void launch(boolean paused) {
    Domain d = handle();
    run("start domain", () -> d.create(paused ? START_PAUSED : 0));
  }

  /** ACPI power button. */
  public void shutdown() {
    act("send ACPI shutdown", Domain::shutdown);
  }

  /** Hard power off; a domain that is already off is not an error. */
  public void destroy() {
    try {
      act("destroy domain", Domain::destroy);
    } catch (LibvirtException e) {
      if (!e.isOperationInvalid() || isActive()) {
        throw e;
      }
    }
  }

  /** Pause the vCPUs. */
  public void pause() {
    act("suspend vcpus", Domain::suspend);
  }

  public void resume() {
    act("resume vcpus", Domain::resume);
  }

  public void managedSave() {
    Domain d = handle();
    run("managed save", d::managedSave);
  }

  public boolean hasManagedSave() {
    Domain d = handle();
    return run("check managed save", d::hasManagedSaveImage) == 1;
  }

  /** Undefine, removing any managed-save image and snapshot/checkpoint metadata with it. */
  public void undefine() {
    act(
        "undefine domain",
        d ->
            d.undefine(
                UNDEFINE_MANAGED_SAVE
                    | UNDEFINE_SNAPSHOTS_METADATA
                    | UNDEFINE_CHECKPOINTS_METADATA
                    | UNDEFINE_NVRAM));
  }

  /** The domain XML libvirt holds ({@code flags}: 0 live, 2 inactive). */
  public String xml(int flags) {
    Domain d = handle();
    return run("read domain xml", () -> d.getXMLDesc(flags));
  }

  @Override
  public void close() {
    Domain d;
    synchronized (freeLock) {
      d = domain;
      domain = null;
    }
    if (d != null) {
      host.onPlatform(
          "free domain handle",
          () -> {
            freeQuietly(d);
            return null;
          });
    }
  }

  static void freeQuietly(Domain d) {
    try {
      d.free();
    } catch (org.libvirt.LibvirtException e) {
      LOG.debug("freeing domain handle: {}", e.getMessage());
    }
  }
}
