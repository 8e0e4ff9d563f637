package io.virga.libvirt;

import io.virga.core.Config;
import io.virga.core.InvalidInputException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * Options of the migration flows, named as Nova names them ({@code [libvirt] live_migration_*}),
 * plus Virga's disk transfer channel for cold migration ({@code disk_transfer_*}), which Nova does
 * not have (it copies over SSH).
 *
 * @param bandwidthMiBs {@code live_migration_bandwidth}: MiB/s cap, 0 = unlimited
 * @param downtimeMs {@code live_migration_downtime}: the last max-downtime step, ms (min 100)
 * @param downtimeSteps {@code live_migration_downtime_steps} (min 3)
 * @param downtimeDelaySec {@code live_migration_downtime_delay}: seconds per GiB between steps
 * @param completionTimeoutSec {@code live_migration_completion_timeout}: seconds per GiB, 0 = off
 * @param timeoutAction {@code live_migration_timeout_action}: {@code abort} or {@code
 *     force_complete}
 * @param permitPostCopy {@code live_migration_permit_post_copy}
 * @param permitAutoConverge {@code live_migration_permit_auto_converge}
 * @param parallelConnections {@code live_migration_parallel_connections}: 0 or 1 = one connection,
 *     more = libvirt's PARALLEL migration with that many
 * @param nativeTls {@code live_migration_with_native_tls}: QEMU's own TLS for the data streams
 * @param scheme {@code live_migration_scheme}: transport of the peer-to-peer libvirt URI (tcp)
 * @param inboundAddr {@code live_migration_inbound_addr}: the address or name other hosts reach
 *     this one by, for live migration (default {@code my_ip})
 * @param uriTemplate {@code live_migration_uri}: Nova's (deprecated there) full URI template,
 *     {@code %s} standing for the destination; when set it wins over the scheme
 * @param myIp {@code my_ip}: where the disk transfer receiver listens (default 127.0.0.1)
 * @param transferBandwidthMiBs {@code disk_transfer_bandwidth}: MiB/s cap of the cold-migration
 *     disk transfer, 0 = unlimited
 * @param transferKeystore {@code disk_transfer_tls_keystore}: a PKCS#12 file with this host's key
 *     and the certificates it trusts; when set, the disk transfer runs over TLS
 * @param transferKeystorePassword {@code disk_transfer_tls_password}
 */
public record MigrationOptions(
    long bandwidthMiBs,
    int downtimeMs,
    int downtimeSteps,
    int downtimeDelaySec,
    int completionTimeoutSec,
    TimeoutAction timeoutAction,
    boolean permitPostCopy,
    boolean permitAutoConverge,
    int parallelConnections,
    boolean nativeTls,
    String scheme,
    String inboundAddr,
    Optional<String> uriTemplate,
    String myIp,
    long transferBandwidthMiBs,
    Optional<Path> transferKeystore,
    String transferKeystorePassword) {

  /** What the monitor does when a migration outlives its completion timeout. */
  public enum TimeoutAction {
    ABORT,
    FORCE_COMPLETE;

    static TimeoutAction parse(String v) {
      return switch (v.toLowerCase(Locale.ROOT)) {
        case "abort" -> ABORT;
        case "force_complete" -> FORCE_COMPLETE;
        default ->
            throw new InvalidInputException(
                "live_migration_timeout_action must be abort or force_complete, not '" + v + "'");
      };
    }
  }

  public MigrationOptions {
    if (!scheme.matches("[a-z][a-z0-9+]*")) {
      throw new InvalidInputException("live_migration_scheme must be like tcp or tls");
    }
    if (bandwidthMiBs < 0 || transferBandwidthMiBs < 0 || parallelConnections < 0) {
      throw new InvalidInputException("migration bandwidths and connections cannot be negative");
    }
    if (completionTimeoutSec < 0) {
      throw new InvalidInputException("live_migration_completion_timeout cannot be negative");
    }
    // Nova's minimums (nova/conf/libvirt.py)
    downtimeMs = Math.max(downtimeMs, 100);
    downtimeSteps = Math.max(downtimeSteps, 3);
    downtimeDelaySec = Math.max(downtimeDelaySec, 3);
  }

  public static MigrationOptions from(Config c) {
    String myIp = c.string("my_ip", "127.0.0.1");
    return new MigrationOptions(
        c.longValue("live_migration_bandwidth", 0),
        c.integer("live_migration_downtime", 500),
        c.integer("live_migration_downtime_steps", 10),
        c.integer("live_migration_downtime_delay", 75),
        c.integer("live_migration_completion_timeout", 800),
        TimeoutAction.parse(c.string("live_migration_timeout_action", "abort")),
        c.bool("live_migration_permit_post_copy", false),
        c.bool("live_migration_permit_auto_converge", false),
        c.integer("live_migration_parallel_connections", 0),
        c.bool("live_migration_with_native_tls", false),
        c.string("live_migration_scheme", "tcp"),
        c.string("live_migration_inbound_addr", myIp),
        c.get("live_migration_uri").filter(s -> !s.isBlank()),
        myIp,
        c.longValue("disk_transfer_bandwidth", 0),
        c.get("disk_transfer_tls_keystore").filter(s -> !s.isBlank()).map(Path::of),
        c.string("disk_transfer_tls_password", ""));
  }

  /** The peer-to-peer libvirt URI of a destination: {@code qemu+<scheme>://<host>/system}. */
  public String migrationUri(String host) {
    if (!host.matches("[A-Za-z0-9._:\\[\\]-]+")) {
      throw new InvalidInputException("not a host name or address: '" + host + "'");
    }
    return uriTemplate
        .map(t -> t.replace("%s", host))
        .orElse("qemu+" + scheme + "://" + host + "/system");
  }
}
