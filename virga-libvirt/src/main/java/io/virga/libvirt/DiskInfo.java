package io.virga.libvirt;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.virga.core.DiskFormat;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Collections;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@code <instance dir>/disk.info} (DESIGN §3.1 step 5): each disk's format, recorded when the disk
 * is created and read back later, so a disk's format is never re-probed. JSON object keyed by the
 * disk's file name ({@code {"disk": "qcow2", "disk.local": "qcow2", "disk.swap": "qcow2"}}); file
 * names rather than Nova's absolute paths, so the file survives {@code <uuid>_resize} renames and
 * migration to a host with another instances path. Absolute-path keys (Nova's layout) are read by
 * their file name.
 */
final class DiskInfo {
  public static final String FILE = "disk.info";

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ConcurrentHashMap<Path, Object> LOCKS = new ConcurrentHashMap<>();

  private DiskInfo() {}

  /** Disk file name → format; empty when the instance has no disk.info yet. */
  public static Map<String, DiskFormat> read(Path instanceDir) {
    Path file = instanceDir.resolve(FILE);
    if (!Files.isRegularFile(file)) {
      return Map.of();
    }
    Map<String, String> raw;
    try {
      raw = JSON.readValue(file.toFile(), new TypeReference<Map<String, String>>() {});
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
    Map<String, DiskFormat> out = new TreeMap<>();
    raw.forEach((k, v) -> out.put(Path.of(k).getFileName().toString(), DiskFormat.ofGlance(v)));
    return Collections.unmodifiableMap(out);
  }

  /** The recorded format of one disk ({@code "disk"}, {@code "disk.local"} …). */
  public static Optional<DiskFormat> format(Path instanceDir, String diskName) {
    return Optional.ofNullable(read(instanceDir).get(diskName));
  }

  /** Forgets a disk that was removed (rebuild's root disk, rescue's disk.rescue). */
  public static void forget(Path instanceDir, String diskName) {
    Path dir = instanceDir.toAbsolutePath().normalize();
    synchronized (LOCKS.computeIfAbsent(dir, d -> new Object())) {
      Map<String, String> all = new TreeMap<>();
      read(dir).forEach((k, v) -> all.put(k, v.glanceName()));
      if (all.remove(diskName) == null) {
        return;
      }
      Path tmp = dir.resolve(FILE + ".tmp");
      try {
        JSON.writeValue(tmp.toFile(), all);
        Files.move(tmp, dir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write " + dir.resolve(FILE), e);
      }
    }
  }

  /** Records (or replaces) one disk's format; the file is rewritten atomically. */
  public static void record(Path instanceDir, String diskName, DiskFormat format) {
    if (diskName.isEmpty() || diskName.contains("/")) {
      throw new IllegalArgumentException("disk name must be a file name, not '" + diskName + "'");
    }
    Path dir = instanceDir.toAbsolutePath().normalize();
    synchronized (LOCKS.computeIfAbsent(dir, d -> new Object())) {
      Map<String, String> all = new TreeMap<>();
      read(dir).forEach((k, v) -> all.put(k, v.glanceName()));
      all.put(diskName, format.glanceName());
      Path tmp = dir.resolve(FILE + ".tmp");
      try {
        JSON.writeValue(tmp.toFile(), all);
        Files.move(tmp, dir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write " + dir.resolve(FILE), e);
      }
    }
  }
}
