package io.virga.libvirt;

import io.virga.core.Config;
import io.virga.core.InvalidInputException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * The snapshot flow's configuration (README table):
 *
 * <ul>
 *   <li>{@code snapshot_image_format} (default: the root disk's format) — {@code raw} or {@code
 *       qcow2}: the disk_format of the uploaded snapshot.
 *   <li>{@code snapshot_compression} (default false) — compress qcow2 output ({@code qemu-img
 *       convert -c}); ignored for raw.
 *   <li>{@code disable_live_snapshot} (default false) — always take the cold path: managedSave a
 *       running or paused guest, convert, then restore its power state.
 *   <li>{@code snapshots_directory} (default {@code <instances>/snapshots}) — temporary delta and
 *       output files; stale entries are removed at agent start.
 *   <li>{@code snapshot_block_job_timeout} (default 600 s) — how long the live path waits for the
 *       shallow copy's mirror to become ready before it aborts the copy and fails.
 * </ul>
 */
record SnapshotOptions(
    Optional<String> imageFormat,
    boolean compression,
    boolean disableLiveSnapshot,
    Path snapshotsDirectory,
    Duration blockJobTimeout) {

  SnapshotOptions {
    imageFormat.ifPresent(SnapshotOptions::checkFormat);
  }

  static SnapshotOptions from(Config config, Path instancesDir) {
    return new SnapshotOptions(
        config.get("snapshot_image_format").filter(s -> !s.isEmpty()),
        config.bool("snapshot_compression", false),
        config.bool("disable_live_snapshot", false),
        config.get("snapshots_directory").map(Path::of).orElse(instancesDir.resolve("snapshots")),
        config.seconds("snapshot_block_job_timeout", 600));
  }

  /** Defaults under {@code instancesDir} (tests, benchmarks). */
  static SnapshotOptions defaults(Path instancesDir) {
    return new SnapshotOptions(
        Optional.empty(), false, false, instancesDir.resolve("snapshots"), Duration.ofMinutes(10));
  }

  SnapshotOptions withImageFormat(String format) {
    return new SnapshotOptions(
        Optional.of(format), compression, disableLiveSnapshot, snapshotsDirectory, blockJobTimeout);
  }

  SnapshotOptions withCompression(boolean compress) {
    return new SnapshotOptions(
        imageFormat, compress, disableLiveSnapshot, snapshotsDirectory, blockJobTimeout);
  }

  SnapshotOptions withLiveSnapshotDisabled(boolean disabled) {
    return new SnapshotOptions(
        imageFormat, compression, disabled, snapshotsDirectory, blockJobTimeout);
  }

  /** The output format for a root disk recorded as {@code sourceFormat}. */
  String outputFormat(String sourceFormat) {
    return imageFormat.orElseGet(() -> checkFormat(sourceFormat));
  }

  private static String checkFormat(String format) {
    if (!format.equals("raw") && !format.equals("qcow2")) {
      throw new InvalidInputException(
          "snapshot_image_format must be raw or qcow2, not '" + format + "'");
    }
    return format;
  }
}
