package io.virga.libvirt;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;
import java.lang.reflect.Field;
import org.libvirt.Domain;
import org.libvirt.jna.DomainPointer;
import org.libvirt.jna.virDomainBlockJobInfo;

/**
 * The JNA extension: libvirt calls that libvirt-java 0.5.4 lacks or types awkwardly, reached only
 * through {@link Guest} (and {@link LibvirtHost}), which guard the handles they take. For
 * snapshots: {@code virDomainBlockRebase} is missing, and the binding's {@code getBlockJobInfo}
 * drops the return value that says whether a job exists at all (a vanished job reads as {@code cur
 * == end == 0}, i.e. "complete").
 */
interface LibvirtNative extends Library {
  LibvirtNative INSTANCE = Native.load("virt", LibvirtNative.class);

  // virDomainBlockRebaseFlags
  int BLOCK_REBASE_SHALLOW = 1;
  int BLOCK_REBASE_REUSE_EXT = 1 << 1;
  int BLOCK_REBASE_COPY = 1 << 3;

  // virDomainBlockJobAbortFlags
  int BLOCK_JOB_ABORT_PIVOT = 1 << 1;

  int virDomainBlockRebase(
      DomainPointer dom, String disk, String base, NativeLong bandwidth, int flags);

  /** Returns -1 on error, 0 when there is no job on {@code disk}, 1 when {@code info} is filled. */
  int virDomainGetBlockJobInfo(
      DomainPointer dom, String disk, virDomainBlockJobInfo info, int flags);

  int virDomainBlockJobAbort(DomainPointer dom, String disk, int flags);

  // ---- live migration (LiveMigration through Guest) ----
  // typed parameters are built with libvirt's own virTypedParamsAdd* helpers: Java never lays out
  // the virTypedParameter union

  // VIR_MIGRATE_PARAM_*
  String MIGRATE_PARAM_DEST_XML = "destination_xml";
  String MIGRATE_PARAM_PERSIST_XML = "persistent_xml";
  String MIGRATE_PARAM_MIGRATE_DISKS = "migrate_disks";
  String MIGRATE_PARAM_BANDWIDTH = "bandwidth";
  String MIGRATE_PARAM_PARALLEL_CONNECTIONS = "parallel.connections";
  String MIGRATE_PARAM_URI = "migrate_uri";

  /** virDomainGetJobStatsFlags: the statistics of the last completed job. */
  int JOB_STATS_COMPLETED = 1;

  int virTypedParamsAddString(
      PointerByReference params,
      IntByReference nparams,
      IntByReference maxparams,
      String name,
      String value);

  int virTypedParamsAddULLong(
      PointerByReference params,
      IntByReference nparams,
      IntByReference maxparams,
      String name,
      long value);

  int virTypedParamsAddInt(
      PointerByReference params,
      IntByReference nparams,
      IntByReference maxparams,
      String name,
      int value);

  /** 1 found, 0 absent, -1 error. */
  int virTypedParamsGetULLong(Pointer params, int nparams, String name, LongByReference value);

  void virTypedParamsFree(Pointer params, int nparams);

  int virDomainMigrateToURI3(
      DomainPointer dom, String dconnuri, Pointer params, int nparams, int flags);

  int virDomainGetJobStats(
      DomainPointer dom,
      IntByReference type,
      PointerByReference params,
      IntByReference nparams,
      int flags);

  int virDomainMigrateSetMaxDowntime(DomainPointer dom, long downtimeMs, int flags);

  int virDomainMigrateStartPostCopy(DomainPointer dom, int flags);

  int virDomainAbortJob(DomainPointer dom);

  /** The calling thread's last libvirt error message (libvirt errors are thread-local). */
  String virGetLastErrorMessage();

  /** The binding keeps the native handle in a package-private field; we only borrow it. */
  static DomainPointer pointerOf(Domain domain) {
    try {
      Field vdp = Domain.class.getDeclaredField("vdp");
      vdp.setAccessible(true);
      return (DomainPointer) vdp.get(domain);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(
          "libvirt-java changed: org.libvirt.Domain has no readable vdp field", e);
    }
  }
}
