package io.virga.libvirt;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * The live migration monitor's policies as plain functions (Nova's {@code
 * nova/virt/libvirt/migration.py}): how much data a migration moves, the max-downtime steps, the
 * completion timeout and when it triggers, and the migration flags. Unit tests feed them numbers.
 */
final class LiveMigrationPolicy {
  // virDomainMigrateFlags
  static final int LIVE = 1;
  static final int PEER2PEER = 1 << 1;
  static final int PERSIST_DEST = 1 << 3;
  static final int UNDEFINE_SOURCE = 1 << 4;
  static final int NON_SHARED_INC = 1 << 7;
  static final int AUTO_CONVERGE = 1 << 13;
  static final int POSTCOPY = 1 << 15;
  static final int TLS = 1 << 16;
  static final int PARALLEL = 1 << 17;

  private static final long GIB = 1L << 30;

  /** From {@code elapsedSec} on, max downtime is {@code downtimeMs}. */
  record DowntimeStep(long elapsedSec, long downtimeMs) {}

  private LiveMigrationPolicy() {}

  /**
   * Nova's {@code _live_migration_data_gb}: guest RAM in GiB (at least 2), plus for a block
   * migration the disks' size in GiB (at least 2).
   */
  static long dataGb(int memoryMb, long diskBytes, boolean block) {
    long ram = Math.max(memoryMb / 1024, 2);
    if (!block) {
      return ram;
    }
    return ram + Math.max(diskBytes / GIB, 2);
  }

  /**
   * Nova's {@code _migration_downtime_steps}: {@code steps + 1} steps, the first at 0 s with
   * downtime/steps, each {@code delay × dataGb} seconds later a bit more, the last at {@code
   * downtime}.
   */
  static List<DowntimeStep> downtimeSteps(MigrationOptions o, long dataGb) {
    long delay = (long) o.downtimeDelaySec() * dataGb;
    double base = (double) o.downtimeMs() / o.downtimeSteps();
    double offset = (o.downtimeMs() - base) / o.downtimeSteps();
    List<DowntimeStep> out = new ArrayList<>();
    for (int i = 0; i <= o.downtimeSteps(); i++) {
      out.add(new DowntimeStep(delay * i, (long) (base + offset * i)));
    }
    return out;
  }

  /**
   * Nova's {@code update_downtime}: the downtime the latest step reached by {@code elapsedSec} asks
   * for, when it differs from {@code current}.
   */
  static OptionalLong downtimeUpdate(List<DowntimeStep> steps, long elapsedSec, long current) {
    long wanted = -1;
    for (DowntimeStep s : steps) {
      if (s.elapsedSec() <= elapsedSec) {
        wanted = s.downtimeMs();
      }
    }
    return wanted < 0 || wanted == current ? OptionalLong.empty() : OptionalLong.of(wanted);
  }

  /** Seconds a migration of {@code dataGb} may take; 0 means no limit. */
  static long completionTimeoutSec(MigrationOptions o, long dataGb) {
    return (long) o.completionTimeoutSec() * dataGb;
  }

  /**
   * Nova's {@code should_trigger_timeout_action}: past the completion timeout, unless none is set
   * or the migration already switched to post-copy (which always finishes).
   */
  static boolean timedOut(long elapsedSec, long completionTimeoutSec, boolean inPostCopy) {
    return completionTimeoutSec > 0 && !inPostCopy && elapsedSec > completionTimeoutSec;
  }

  /**
   * The migrateToURI3 flags: LIVE | PEER2PEER | PERSIST_DEST | UNDEFINE_SOURCE, NON_SHARED_INC for
   * block migration, POSTCOPY when permitted (it wins over auto-converge, as in Nova), TLS and
   * PARALLEL when configured.
   */
  static int flags(MigrationOptions o, boolean block) {
    int f = LIVE | PEER2PEER | PERSIST_DEST | UNDEFINE_SOURCE;
    if (block) {
      f |= NON_SHARED_INC;
    }
    if (o.permitPostCopy()) {
      f |= POSTCOPY;
    } else if (o.permitAutoConverge()) {
      f |= AUTO_CONVERGE;
    }
    if (o.nativeTls()) {
      f |= TLS;
    }
    if (o.parallelConnections() > 1) {
      f |= PARALLEL;
    }
    return f;
  }

  /** How force-complete proceeds: post-copy when the migration was started with it, else pause. */
  static boolean forceCompleteByPostCopy(int flags) {
    return (flags & POSTCOPY) != 0;
  }
}
