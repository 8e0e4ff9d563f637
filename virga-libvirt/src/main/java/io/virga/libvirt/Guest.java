package io.virga.libvirt;

import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;
import io.virga.core.PowerState;
import io.virga.virt.InstanceInfo;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.libvirt.Domain;
import org.libvirt.DomainInfo;
import org.libvirt.jna.DomainPointer;
import org.libvirt.jna.virDomainBlockJobInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One libvirt domain handle (Nova's {@code guest.Guest}), the only place besides {@link
 * LibvirtHost} that touches libvirt-java or the {@link LibvirtNative} extension. Freed explicitly
 * by {@link #close()}; never by a finalizer.
 *
 * <p>The handle is guarded as FoundationDB's binding guards its pointers: every native call holds
 * the read side of a lock for as long as it runs, and {@link #close()} takes the write side, so a
 * handle is never freed under a call that uses it. Every call runs on a platform thread through the
 * owning host (JNA pins virtual threads).
 */
public final class Guest implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Guest.class);

  // virDomainUndefineFlagsValues
  private static final int UNDEFINE_MANAGED_SAVE = 1;
  private static final int UNDEFINE_SNAPSHOTS_METADATA = 2;
  private static final int UNDEFINE_NVRAM = 4;
  private static final int UNDEFINE_KEEP_NVRAM = 8;
  private static final int UNDEFINE_CHECKPOINTS_METADATA = 16;

  /** virDomainCreateFlags: start with the vCPUs stopped. */
  private static final int START_PAUSED = 1;

  /** virDomainXMLFlags: include secrets. */
  static final int XML_SECURE = 1;

  /** virDomainXMLFlags: the persistent definition rather than the live one. */
  static final int XML_INACTIVE = 2;

  /** A running block job's progress (bytes). */
  public record BlockJob(long cur, long end) {
    /** The copy has caught up with the guest's writes: it can be ended or pivoted. */
    public boolean ready() {
      return end > 0 && cur == end;
    }
  }

  private final LibvirtHost host;
  private final ReentrantReadWriteLock handleLock = new ReentrantReadWriteLock();
  private Domain domain; // guarded by handleLock; null once freed

  Guest(LibvirtHost host, Domain domain) {
    this.host = host;
    this.domain = domain;
  }

  /** A libvirt-java call on this domain. */
  @FunctionalInterface
  private interface DomainCall<T> {
    T apply(Domain d) throws org.libvirt.LibvirtException;
  }

  /** A libvirt-java call on this domain that returns nothing worth keeping. */
  @FunctionalInterface
  private interface DomainAction {
    void apply(Domain d) throws org.libvirt.LibvirtException;
  }

  /** A call into {@link LibvirtNative} with this domain's pointer; negative means failure. */
  @FunctionalInterface
  private interface PointerCall {
    int apply(DomainPointer p);
  }

  /** Runs {@code c} on a platform thread while holding the handle against {@link #close()}. */
  private <T> T call(String step, DomainCall<T> c) {
    return host.onPlatform(
        step,
        () -> {
          handleLock.readLock().lock();
          try {
            if (domain == null) {
              throw new LibvirtException(step + ": domain handle already freed", -1, "FREED", null);
            }
            return c.apply(domain);
          } finally {
            handleLock.readLock().unlock();
          }
        });
  }

  private void act(String step, DomainAction a) {
    call(
        step,
        d -> {
          a.apply(d);
          return null;
        });
  }

  /**
   * A {@link LibvirtNative} call; libvirt's error is read on the same thread (it is per thread).
   */
  private int nativeCall(String step, PointerCall c) {
    return call(
        step,
        d -> {
          int rc = c.apply(LibvirtNative.pointerOf(d));
          if (rc < 0) {
            throw new LibvirtException(
                step + ": " + LibvirtNative.INSTANCE.virGetLastErrorMessage(), -1, "NATIVE", null);
          }
          return rc;
        });
  }

  public String uuid() {
    return call("read domain uuid", Domain::getUUIDString);
  }

  public String name() {
    return call("read domain name", Domain::getName);
  }

  public boolean isActive() {
    return call("read domain state", Domain::isActive) == 1;
  }

  /** False for a transient domain (one that vanishes when it stops). */
  public boolean isPersistent() {
    return call("ask whether the domain is persistent", Domain::isPersistent) == 1;
  }

  public PowerState powerState() {
    return info().powerState();
  }

  public InstanceInfo info() {
    DomainInfo i = call("read domain info", Domain::getInfo);
    return new InstanceInfo(powerState(i.state), i.maxMem, i.memory, i.nrVirtCpu, i.cpuTime);
  }

  /** Per-vCPU CPU time in nanoseconds, indexed by vCPU number. */
  long[] vcpuTimes() {
    org.libvirt.VcpuInfo[] v = call("read vcpu info", Domain::getVcpusInfo);
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
    return call("read block stats of " + dev, d -> d.blockStats(dev));
  }

  /** The memory balloon's statistics by libvirt tag number (KiB). */
  java.util.Map<Integer, Long> memoryStats() {
    org.libvirt.MemoryStatistic[] s = call("read memory stats", d -> d.memoryStats(13));
    java.util.Map<Integer, Long> out = new java.util.TreeMap<>();
    for (org.libvirt.MemoryStatistic m : s) {
      out.put(m.getTag(), m.getValue());
    }
    return out;
  }

  /** Nova's LIBVIRT_POWER_STATE table: the one map from libvirt's states to Virga's. */
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
    act(paused ? "start domain paused" : "start domain", d -> d.create(paused ? START_PAUSED : 0));
  }

  /** ACPI power button. */
  public void shutdown() {
    act("send ACPI shutdown", d -> d.shutdown());
  }

  /** Hard power off; a domain that is already off is not an error. */
  public void destroy() {
    try {
      act("destroy domain", d -> d.destroy());
    } catch (LibvirtException e) {
      if (!e.isOperationInvalid() || isActive()) {
        throw e;
      }
    }
  }

  /** Pause the vCPUs. */
  public void pause() {
    act("suspend vcpus", d -> d.suspend());
  }

  public void resume() {
    act("resume vcpus", d -> d.resume());
  }

  /** Save RAM to the managed-save image and stop (Nova's suspend). */
  public void managedSave() {
    act("managed save", Domain::managedSave);
  }

  public boolean hasManagedSave() {
    return call("check managed save", Domain::hasManagedSaveImage) == 1;
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

  /**
   * Undefine, keeping NVRAM and any managed-save image: a running domain becomes transient and
   * keeps running (what a block copy needs).
   */
  public void undefineKeepRunning() {
    act("undefine (make transient)", d -> d.undefine(UNDEFINE_KEEP_NVRAM));
  }

  /** The domain XML libvirt holds ({@code flags}: 0 live, {@link #XML_INACTIVE} persistent). */
  public String xml(int flags) {
    return call("read domain xml", d -> d.getXMLDesc(flags));
  }

  /**
   * {@code virDomainBlockRebase(disk, dest, 0, COPY|REUSE_EXT|SHALLOW)}: mirror the top layer of
   * {@code disk} into the existing file {@code dest}, which has the same backing file.
   */
  public void blockCopyShallowReuseExternal(String disk, String dest) {
    int flags =
        LibvirtNative.BLOCK_REBASE_COPY
            | LibvirtNative.BLOCK_REBASE_REUSE_EXT
            | LibvirtNative.BLOCK_REBASE_SHALLOW;
    nativeCall(
        "blockRebase " + disk + " (shallow copy)",
        p -> LibvirtNative.INSTANCE.virDomainBlockRebase(p, disk, dest, new NativeLong(0), flags));
  }

  /** The block job on {@code disk}, or empty when there is none. */
  public Optional<BlockJob> blockJobInfo(String disk) {
    virDomainBlockJobInfo info = new virDomainBlockJobInfo();
    int rc =
        nativeCall(
            "read the block job on " + disk,
            p -> LibvirtNative.INSTANCE.virDomainGetBlockJobInfo(p, disk, info, 0));
    return rc == 0 ? Optional.empty() : Optional.of(new BlockJob(info.cur, info.end));
  }

  /** End the block job on {@code disk} without pivoting (the guest keeps its disk). */
  public void blockJobAbort(String disk) {
    nativeCall(
        "abort the block job on " + disk,
        p -> LibvirtNative.INSTANCE.virDomainBlockJobAbort(p, disk, 0));
  }

  /**
   * Polls until the domain reports {@code wanted}; fails at once when it crashes or stops while
   * {@code wanted} is RUNNING, and after {@code timeout} otherwise.
   */
  public void waitFor(PowerState wanted, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    long sleepMs = 5;
    while (true) {
      PowerState s = powerState();
      if (s == wanted) {
        return;
      }
      if (s == PowerState.CRASHED || (s == PowerState.SHUTDOWN && wanted == PowerState.RUNNING)) {
        throw new LibvirtException(
            "domain " + name() + " went to " + s + " instead of " + wanted, -1, "STATE", null);
      }
      if (System.nanoTime() > deadline) {
        throw new LibvirtException(
            "domain did not reach " + wanted + " within " + timeout.toSeconds() + " s",
            -1,
            "TIMEOUT",
            null);
      }
      sleep(sleepMs);
      sleepMs = Math.min(sleepMs * 2, 200);
    }
  }

  /** A pause between polls of a domain; an interrupt ends the wait with a LibvirtException. */
  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new LibvirtException("interrupted while waiting", -1, "INTERRUPTED", e);
    }
  }

  /** How many native calls hold this handle right now (what {@link #close()} waits for). */
  int callsInFlight() {
    return handleLock.getReadLockCount();
  }

  /** Frees the handle once no call holds it; later calls fail with a LibvirtException. */
  @Override
  public void close() {
    host.onPlatform(
        "free domain handle",
        () -> {
          handleLock.writeLock().lock();
          try {
            if (domain != null) {
              freeQuietly(domain);
              domain = null;
            }
          } finally {
            handleLock.writeLock().unlock();
          }
          return null;
        });
  }

  // ---- live migration (LiveMigration) ----

  /**
   * {@code virDomainMigrateToURI3}: blocks until the migration completes (returns) or fails or is
   * aborted (throws). Runs on the calling platform thread; other calls on this guest go on.
   */
  public void migrateToUri3(String destUri, MigrationParams params, int flags) {
    PointerByReference p = new PointerByReference();
    IntByReference n = new IntByReference(0);
    IntByReference max = new IntByReference(0);
    LibvirtNative lv = LibvirtNative.INSTANCE;
    try {
      for (String x : params.destinationXml().stream().toList()) {
        typed(lv.virTypedParamsAddString(p, n, max, LibvirtNative.MIGRATE_PARAM_DEST_XML, x));
        typed(lv.virTypedParamsAddString(p, n, max, LibvirtNative.MIGRATE_PARAM_PERSIST_XML, x));
      }
      for (String disk : params.migrateDisks()) {
        typed(
            lv.virTypedParamsAddString(p, n, max, LibvirtNative.MIGRATE_PARAM_MIGRATE_DISKS, disk));
      }
      for (String u : params.dataUri().stream().toList()) {
        typed(lv.virTypedParamsAddString(p, n, max, LibvirtNative.MIGRATE_PARAM_URI, u));
      }
      if (params.bandwidthMiBs() > 0) {
        typed(
            lv.virTypedParamsAddULLong(
                p, n, max, LibvirtNative.MIGRATE_PARAM_BANDWIDTH, params.bandwidthMiBs()));
      }
      if (params.parallelConnections() > 1) {
        typed(
            lv.virTypedParamsAddInt(
                p,
                n,
                max,
                LibvirtNative.MIGRATE_PARAM_PARALLEL_CONNECTIONS,
                params.parallelConnections()));
      }
      nativeCall(
          "migrate to " + destUri,
          d -> lv.virDomainMigrateToURI3(d, destUri, p.getValue(), n.getValue(), flags));
    } finally {
      if (p.getValue() != null) {
        lv.virTypedParamsFree(p.getValue(), n.getValue());
      }
    }
  }

  private static void typed(int rc) {
    if (rc < 0) {
      throw new LibvirtException(
          "build migration parameters: " + LibvirtNative.INSTANCE.virGetLastErrorMessage(),
          -1,
          "NATIVE",
          null);
    }
  }

  /** {@code virDomainGetJobStats}: the current job ({@code completed}: the last finished one). */
  public MigrationJobStats jobStats(boolean completed) {
    IntByReference type = new IntByReference();
    PointerByReference params = new PointerByReference();
    IntByReference n = new IntByReference();
    LibvirtNative lv = LibvirtNative.INSTANCE;
    int flags = completed ? LibvirtNative.JOB_STATS_COMPLETED : 0;
    nativeCall("read job stats", d -> lv.virDomainGetJobStats(d, type, params, n, flags));
    Pointer p = params.getValue();
    try {
      int c = n.getValue();
      return new MigrationJobStats(
          type.getValue(),
          ullong(p, c, "time_elapsed"),
          ullong(p, c, "data_total"),
          ullong(p, c, "data_processed"),
          ullong(p, c, "data_remaining"),
          ullong(p, c, "memory_total"),
          ullong(p, c, "memory_processed"),
          ullong(p, c, "memory_remaining"),
          ullong(p, c, "disk_total"),
          ullong(p, c, "disk_processed"),
          ullong(p, c, "disk_remaining"),
          ullong(p, c, "downtime"));
    } finally {
      if (p != null) {
        lv.virTypedParamsFree(p, n.getValue());
      }
    }
  }

  private static long ullong(Pointer p, int n, String name) {
    LongByReference v = new LongByReference();
    return p != null && LibvirtNative.INSTANCE.virTypedParamsGetULLong(p, n, name, v) == 1
        ? v.getValue()
        : 0;
  }

  public void migrateSetMaxDowntime(long ms) {
    nativeCall(
        "set max downtime " + ms + " ms",
        d -> LibvirtNative.INSTANCE.virDomainMigrateSetMaxDowntime(d, ms, 0));
  }

  public void migrateStartPostCopy() {
    nativeCall(
        "switch to post-copy", d -> LibvirtNative.INSTANCE.virDomainMigrateStartPostCopy(d, 0));
  }

  public void abortJob() {
    nativeCall("abort job", LibvirtNative.INSTANCE::virDomainAbortJob);
  }

  static void freeQuietly(Domain d) {
    try {
      d.free();
    } catch (org.libvirt.LibvirtException e) {
      LOG.debug("freeing domain handle: {}", e.getMessage());
    }
  }
}
