package io.virga.multihost;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * A namespaced host's directories and configuration files on the machine, prepared before its
 * namespace starts: libvirt's runtime, config, state, log and cache directories (bind-mounted over
 * the real ones inside), a hosts file naming every host of the set, and libvirtd.conf and qemu.conf
 * of its own. Kept across restarts (persistent domains, host UUID), like a real host.
 */
final class HostFiles {
  private static final Path MACHINE_LIBVIRT = Path.of("/etc/libvirt");
  private static final List<String> DIRS =
      List.of("run-libvirt", "etc-libvirt", "lib-libvirt", "log-libvirt", "cache-libvirt");

  /** qemu.conf settings every namespaced host needs, over what the machine's file says. */
  private static final Set<String> OWN_QEMU_KEYS =
      Set.of(
          "user",
          "group",
          "dynamic_ownership",
          "security_driver",
          "migration_host",
          "cgroup_controllers");

  private HostFiles() {}

  static void prepare(NamespacedHost host, List<NamespacedHost> all, Path shared) {
    try {
      Path dir = host.dir();
      for (String d : DIRS) {
        Files.createDirectories(dir.resolve(d));
      }
      emptyRuntimeDir(dir.resolve("run-libvirt"));
      prepareInstances(host, shared);
      writeHosts(dir.resolve("hosts"), all);
      writeLibvirtConf(dir);
      writeQemuConf(host);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare namespaced host " + host.name(), e);
    }
  }

  private static void prepareInstances(NamespacedHost host, Path shared) throws IOException {
    Path instances = host.instancesDir();
    if (shared != null) {
      Files.createDirectories(shared);
      if (!Files.isSymbolicLink(instances)) {
        if (Files.isDirectory(instances)) {
          throw new NamespacedHostsException(
              instances + " is a directory of its own; remove it to use shared storage");
        }
        Files.createSymbolicLink(instances, shared);
      }
    } else {
      if (Files.isSymbolicLink(instances)) {
        Files.delete(instances);
      }
      Files.createDirectories(instances);
    }
  }

  /** Sockets and pid files of a previous run would make libvirtd think it already runs. */
  private static void emptyRuntimeDir(Path run) throws IOException {
    try (Stream<Path> files = Files.walk(run)) {
      for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
        if (!p.equals(run)) {
          Files.delete(p);
        }
      }
    }
  }

  private static void writeHosts(Path file, List<NamespacedHost> all) throws IOException {
    List<String> lines = new ArrayList<>(List.of("127.0.0.1 localhost"));
    all.forEach(h -> lines.add(h.ip() + " " + h.name()));
    Files.write(file, lines);
  }

  private static void writeLibvirtConf(Path dir) throws IOException {
    Path etc = dir.resolve("etc-libvirt");
    for (String f : List.of("libvirt.conf", "virtlogd.conf")) {
      Path src = MACHINE_LIBVIRT.resolve(f);
      if (Files.isRegularFile(src) && !Files.exists(etc.resolve(f))) {
        Files.copy(src, etc.resolve(f));
      }
    }
    Path uuidFile = dir.resolve("host-uuid");
    if (!Files.exists(uuidFile)) {
      Files.writeString(uuidFile, UUID.randomUUID() + "\n");
    }
    String uuid = UUID.fromString(Files.readString(uuidFile).strip()).toString();
    Files.write(
        etc.resolve("libvirtd.conf"),
        List.of(
            "# written by virga for a namespaced host: reachable by the other hosts for migration",
            "listen_tls = 0",
            "listen_tcp = 1",
            "auth_tcp = \"none\"",
            "host_uuid = \"" + uuid + "\""));
  }

  /**
   * The machine's qemu.conf without the keys a namespaced host sets itself, then those: guests as
   * root without a security driver (as host-setup configures the machine), incoming migrations on
   * the host's bridge address, and no cgroups (libvirtds on one machine would share them).
   */
  private static void writeQemuConf(NamespacedHost host) throws IOException {
    Path src = MACHINE_LIBVIRT.resolve("qemu.conf");
    List<String> lines = new ArrayList<>();
    if (Files.isRegularFile(src)) {
      for (String line : Files.readAllLines(src)) {
        String key = line.split("=", 2)[0].strip();
        if (!OWN_QEMU_KEYS.contains(key)) {
          lines.add(line);
        }
      }
    }
    Map<String, String> own =
        Map.of(
            "user", "\"root\"",
            "group", "\"root\"",
            "dynamic_ownership", "0",
            "security_driver", "\"none\"",
            "migration_host", "\"" + host.ip() + "\"",
            "cgroup_controllers", "[ ]");
    lines.add("# set by virga for a namespaced host");
    own.entrySet().stream()
        .sorted(Map.Entry.comparingByKey())
        .forEach(e -> lines.add(e.getKey() + " = " + e.getValue()));
    Files.write(host.dir().resolve("etc-libvirt").resolve("qemu.conf"), lines);
  }
}
