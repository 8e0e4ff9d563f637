package io.virga.libvirt;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;
import java.util.List;
import java.util.Optional;
import org.libvirt.jna.DomainPointer;

/**
 * One domain's live migration calls over {@link LibvirtMigrationNative}, on platform threads
 * through the owning {@link LibvirtHost}; libvirt's error message is read on the thread that
 * failed. Does not own the {@link Guest} it wraps.
 */
final class LibvirtMigrationDomain {
  private static final LibvirtMigrationNative N = LibvirtMigrationNative.INSTANCE;
  private final Guest guest;

  /**
   * What migrateToURI3 is given.
   *
   * @param dataUri {@code migrate_uri}: where the data connection goes ({@code tcp://<addr>})
   * @param bandwidthMiBs 0 = unlimited
   * @param parallelConnections 0 = not set
   */
  record Params(
      Optional<String> destinationXml,
      List<String> migrateDisks,
      Optional<String> dataUri,
      long bandwidthMiBs,
      int parallelConnections) {}

  /**
   * One poll of {@code virDomainGetJobStats} (bytes, ms); absent fields read 0.
   *
   * @param type libvirt's virDomainJobType
   */
  record JobStats(
      int type,
      long timeElapsedMs,
      long dataTotal,
      long dataProcessed,
      long dataRemaining,
      long memoryTotal,
      long memoryProcessed,
      long memoryRemaining,
      long diskTotal,
      long diskProcessed,
      long diskRemaining,
      long downtimeMs) {}

  LibvirtMigrationDomain(Guest guest) {
    this.guest = guest;
  }

  @FunctionalInterface
  private interface Call {
    int apply(DomainPointer p);
  }

  private int call(String step, Call c) {
    return guest.withPointer(
        step,
        p -> {
          int rc = c.apply(p);
          if (rc < 0) {
            throw new LibvirtException(
                step + ": " + N.virGetLastErrorMessage(), -1, "VIR_ERR_MIGRATION", null);
          }
          return rc;
        });
  }

  /** Blocks until the migration completes (returns) or fails or is aborted (throws). */
  void migrateToUri3(String destUri, Params params, int flags) {
    PointerByReference p = new PointerByReference();
    IntByReference n = new IntByReference(0);
    IntByReference max = new IntByReference(0);
    try {
      params
          .destinationXml()
          .ifPresent(
              x -> {
                add(N.virTypedParamsAddString(p, n, max, LibvirtMigrationNative.PARAM_DEST_XML, x));
                add(
                    N.virTypedParamsAddString(
                        p, n, max, LibvirtMigrationNative.PARAM_PERSIST_XML, x));
              });
      for (String disk : params.migrateDisks()) {
        add(N.virTypedParamsAddString(p, n, max, LibvirtMigrationNative.PARAM_MIGRATE_DISKS, disk));
      }
      params
          .dataUri()
          .ifPresent(
              u -> add(N.virTypedParamsAddString(p, n, max, LibvirtMigrationNative.PARAM_URI, u)));
      if (params.bandwidthMiBs() > 0) {
        add(
            N.virTypedParamsAddULLong(
                p, n, max, LibvirtMigrationNative.PARAM_BANDWIDTH, params.bandwidthMiBs()));
      }
      if (params.parallelConnections() > 1) {
        add(
            N.virTypedParamsAddInt(
                p,
                n,
                max,
                LibvirtMigrationNative.PARAM_PARALLEL_CONNECTIONS,
                params.parallelConnections()));
      }
      call(
          "migrate to " + destUri,
          d -> N.virDomainMigrateToURI3(d, destUri, p.getValue(), n.getValue(), flags));
    } finally {
      if (p.getValue() != null) {
        N.virTypedParamsFree(p.getValue(), n.getValue());
      }
    }
  }

  private static void add(int rc) {
    if (rc < 0) {
      throw new LibvirtException(
          "build migration parameters: " + N.virGetLastErrorMessage(),
          -1,
          "VIR_ERR_INVALID_ARG",
          null);
    }
  }

  /** The current job's statistics ({@code completed}: the last finished job's). */
  JobStats jobStats(boolean completed) {
    IntByReference type = new IntByReference();
    PointerByReference params = new PointerByReference();
    IntByReference n = new IntByReference();
    call(
        "read migration job stats",
        d ->
            N.virDomainGetJobStats(
                d, type, params, n, completed ? LibvirtMigrationNative.JOB_STATS_COMPLETED : 0));
    Pointer p = params.getValue();
    try {
      int c = n.getValue();
      return new JobStats(
          type.getValue(),
          get(p, c, "time_elapsed"),
          get(p, c, "data_total"),
          get(p, c, "data_processed"),
          get(p, c, "data_remaining"),
          get(p, c, "memory_total"),
          get(p, c, "memory_processed"),
          get(p, c, "memory_remaining"),
          get(p, c, "disk_total"),
          get(p, c, "disk_processed"),
          get(p, c, "disk_remaining"),
          get(p, c, "downtime"));
    } finally {
      if (p != null) {
        N.virTypedParamsFree(p, n.getValue());
      }
    }
  }

  private static long get(Pointer p, int n, String name) {
    if (p == null) {
      return 0;
    }
    LongByReference v = new LongByReference();
    return N.virTypedParamsGetULLong(p, n, name, v) == 1 ? v.getValue() : 0;
  }

  void setMaxDowntime(long ms) {
    call("set max downtime " + ms + " ms", d -> N.virDomainMigrateSetMaxDowntime(d, ms, 0));
  }

  void startPostCopy() {
    call("switch to post-copy", d -> N.virDomainMigrateStartPostCopy(d, 0));
  }

  void abortJob() {
    call("abort migration job", N::virDomainAbortJob);
  }
}
