package io.virga.libvirt;

import java.util.Optional;

/**
 * What the snapshot flow needs from one libvirt domain: {@link LibvirtSnapshotDomain} implements it
 * over a {@link Guest}, the unit tests over a fake. Every method throws {@link SnapshotException}
 * or {@link LibvirtException} on failure.
 */
interface SnapshotDomain {

  /** The power state as the snapshot flow distinguishes it. */
  enum PowerState {
    RUNNING,
    PAUSED,
    SHUTOFF,
    /** Shut off with a managed-save image: Nova's "suspended". */
    SUSPENDED,
    /** Crashed, shutting down, pmsuspended, nostate: not snapshotted. */
    OTHER
  }

  String name();

  PowerState powerState();

  boolean isPersistent();

  /** The persistent definition, with secrets (INACTIVE|SECURE). */
  String persistentXml();

  /** The live definition (what qemu runs now). */
  String liveXml();

  /** Undefine, keeping NVRAM and any managed-save image: a running domain becomes transient. */
  void undefineKeepRunning();

  /** Define {@code xml} again (the domain becomes persistent). */
  void define(String xml);

  /** {@code virDomainBlockRebase(disk, dest, 0, COPY|REUSE_EXT|SHALLOW)}. */
  void blockCopyShallowReuseExternal(String disk, String dest);

  /** The block job on {@code disk}, or empty when there is none. */
  Optional<Guest.BlockJob> blockJobInfo(String disk);

  /** End the block job on {@code disk} without pivoting (the guest keeps its disk). */
  void blockJobAbort(String disk);

  /** Save RAM to the managed-save image and stop (Nova's suspend). */
  void managedSave();

  /** Start (from the managed-save image if any); {@code paused} keeps the vCPUs stopped. */
  void start(boolean paused);
}
