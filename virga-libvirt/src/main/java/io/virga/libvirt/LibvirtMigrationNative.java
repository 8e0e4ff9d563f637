package io.virga.libvirt;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;
import org.libvirt.jna.DomainPointer;

/**
 * The live migration calls libvirt-java 0.5.4 lacks: {@code virDomainMigrateToURI3} with typed
 * parameters (built with libvirt's own {@code virTypedParamsAdd*} helpers, so Java never lays out
 * the union), job statistics, max downtime, post-copy and job abort. Only {@link
 * LibvirtMigrationDomain} calls these.
 */
interface LibvirtMigrationNative extends Library {
  LibvirtMigrationNative INSTANCE = Native.load("virt", LibvirtMigrationNative.class);

  // VIR_MIGRATE_PARAM_*
  String PARAM_DEST_XML = "destination_xml";
  String PARAM_PERSIST_XML = "persistent_xml";
  String PARAM_MIGRATE_DISKS = "migrate_disks";
  String PARAM_BANDWIDTH = "bandwidth";
  String PARAM_PARALLEL_CONNECTIONS = "parallel.connections";
  String PARAM_URI = "migrate_uri";
  String PARAM_DISKS_URI = "disks_uri";

  // virDomainJobType
  int JOB_NONE = 0;
  int JOB_BOUNDED = 1;
  int JOB_UNBOUNDED = 2;
  int JOB_COMPLETED = 3;
  int JOB_FAILED = 4;
  int JOB_CANCELLED = 5;

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

  int virTypedParamsGetInt(Pointer params, int nparams, String name, IntByReference value);

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

  String virGetLastErrorMessage();
}
