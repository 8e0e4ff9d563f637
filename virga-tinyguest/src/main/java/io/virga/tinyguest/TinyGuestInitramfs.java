package io.virga.tinyguest;

import io.virga.core.Command;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * The tiny guest's initramfs: busybox, the /init script and the virga-* commands (resources under
 * {@code io/virga/tinyguest/guest/}), and the kernel modules /init loads, in dependency order.
 */
final class TinyGuestInitramfs {
  /** Modules the guest needs (each with its dependencies); built-in ones are skipped. */
  static final List<String> MODULES =
      List.of(
          "virtio_pci", // virtio devices on the PCI bus
          "virtio_blk", // vda, vdb, ...: root, ephemeral, swap, config drive on virtio
          "virtio_console",
          "virtio_balloon", // the memballoon device Nova's XML has
          "ata_piix", // the IDE controller of the pc machine type: config drive cdrom
          "sr_mod", // SCSI cdrom (sr0) on top of libata
          "cdrom",
          "isofs", // the config drive's ISO9660
          "fat",
          "vfat", // vfat config drives and the root disk
          "nls_cp437",
          "nls_ascii",
          "nls_utf8",
          "button", // the ACPI power button
          "evdev"); // its /dev/input/event* device

  /** Modules the guest must have; the build fails without them rather than boot a broken guest. */
  private static final Set<String> REQUIRED =
      Set.of("virtio_pci", "virtio_blk", "ata_piix", "sr_mod", "isofs", "vfat", "button", "evdev");

  /** The guest's own scripts: resource name → path in the initramfs. */
  static final Map<String, String> SCRIPTS =
      Map.of(
          "init", "init",
          "functions.sh", "lib/virga/functions.sh",
          "power-button", "bin/virga-power-button",
          "virga-marker", "bin/virga-marker",
          "virga-ignore-acpi", "bin/virga-ignore-acpi",
          "virga-poweroff", "bin/virga-poweroff",
          "virga-reboot", "bin/virga-reboot",
          "virga-dirty-memory", "bin/virga-dirty-memory");

  private TinyGuestInitramfs() {}

  static byte[] resource(String name) {
    try (InputStream in = TinyGuest.class.getResourceAsStream("guest/" + name)) {
      if (in == null) {
        throw new IllegalStateException("missing resource io/virga/tinyguest/guest/" + name);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Writes the gzip'd cpio initramfs.
   *
   * @param busybox the static busybox binary
   * @param moduleDir the kernel's lib/modules/&lt;version&gt; directory
   */
  static void write(Path busybox, Path moduleDir, Path out) throws IOException {
    Map<String, Path> available = moduleFiles(moduleDir);
    Set<String> builtin = builtinModules(moduleDir);
    List<String> order = loadOrder(available, builtin);
    try (OutputStream file = Files.newOutputStream(out);
        TinyGuestCpio cpio = new TinyGuestCpio(new GZIPOutputStream(file, 1 << 16))) {
      for (String d :
          List.of(
              "bin",
              "dev",
              "etc",
              "etc/virga",
              "lib",
              "lib/modules",
              "lib/virga",
              "mnt",
              "mnt/config",
              "proc",
              "run",
              "sys",
              "tmp")) {
        cpio.directory(d);
      }
      cpio.charDevice("dev/console", 0600, 5, 1);
      cpio.file("bin/busybox", 0755, Files.readAllBytes(busybox));
      cpio.symlink("bin/sh", "busybox");
      for (Map.Entry<String, String> s : new java.util.TreeMap<>(SCRIPTS).entrySet()) {
        int perms = s.getValue().endsWith(".sh") ? 0644 : 0755;
        cpio.file(s.getValue(), perms, resource(s.getKey()));
      }
      for (String m : order) {
        cpio.file("lib/modules/" + m + ".ko", 0644, moduleBytes(available.get(m)));
      }
      cpio.file(
          "etc/virga/modules",
          0644,
          (String.join("\n", order) + "\n").getBytes(StandardCharsets.UTF_8));
    }
  }

  /** The modules to load, each after its dependencies. */
  static List<String> loadOrder(Map<String, Path> available, Set<String> builtin)
      throws IOException {
    Set<String> order = new LinkedHashSet<>();
    for (String m : MODULES) {
      String name = normalize(m);
      if (builtin.contains(name)) {
        continue;
      }
      if (!available.containsKey(name)) {
        if (REQUIRED.contains(name)) {
          throw new TinyGuestException(
              "the guest kernel has no module "
                  + name
                  + " (neither built in nor a .ko); the tiny guest cannot be built from it");
        }
        continue;
      }
      addWithDependencies(name, available, builtin, order, new LinkedHashSet<>());
    }
    return new ArrayList<>(order);
  }

  private static void addWithDependencies(
      String name,
      Map<String, Path> available,
      Set<String> builtin,
      Set<String> order,
      Set<String> visiting)
      throws IOException {
    if (order.contains(name) || builtin.contains(name)) {
      return;
    }
    if (!visiting.add(name)) {
      throw new TinyGuestException("kernel module dependency cycle at " + name);
    }
    Path file = available.get(name);
    if (file == null) {
      throw new TinyGuestException("kernel module " + name + " is needed but missing");
    }
    for (String dep : dependencies(moduleBytes(file))) {
      addWithDependencies(dep, available, builtin, order, visiting);
    }
    order.add(name);
  }

  /** The "depends=" entry of a module's .modinfo section (NUL-separated key=value strings). */
  static List<String> dependencies(byte[] ko) {
    byte[] key = "depends=".getBytes(StandardCharsets.US_ASCII);
    outer:
    for (int i = 1; i + key.length <= ko.length; i++) {
      if (ko[i - 1] != 0) {
        continue;
      }
      for (int j = 0; j < key.length; j++) {
        if (ko[i + j] != key[j]) {
          continue outer;
        }
      }
      int start = i + key.length;
      int end = start;
      while (end < ko.length && ko[end] != 0) {
        end++;
      }
      String value = new String(ko, start, end - start, StandardCharsets.US_ASCII);
      return value.isEmpty()
          ? List.of()
          : Stream.of(value.split(",")).map(TinyGuestInitramfs::normalize).toList();
    }
    return List.of();
  }

  /** Module name → file, for every module of the kernel (.ko, .ko.gz, .ko.xz, .ko.zst). */
  private static Map<String, Path> moduleFiles(Path moduleDir) throws IOException {
    Map<String, Path> files = new HashMap<>();
    try (Stream<Path> s = Files.walk(moduleDir.resolve("kernel"))) {
      s.filter(Files::isRegularFile)
          .forEach(
              p -> {
                String f = p.getFileName().toString();
                int ko = f.indexOf(".ko");
                if (ko > 0) {
                  files.put(normalize(f.substring(0, ko)), p);
                }
              });
    }
    return files;
  }

  private static Set<String> builtinModules(Path moduleDir) throws IOException {
    Path list = moduleDir.resolve("modules.builtin");
    if (!Files.exists(list)) {
      return Set.of();
    }
    Set<String> names = new LinkedHashSet<>();
    for (String line : Files.readAllLines(list)) {
      String f = line.substring(line.lastIndexOf('/') + 1);
      int ko = f.indexOf(".ko");
      if (ko > 0) {
        names.add(normalize(f.substring(0, ko)));
      }
    }
    return names;
  }

  /** A module's bytes, decompressed: busybox insmod loads only plain .ko files. */
  private static byte[] moduleBytes(Path file) throws IOException {
    String f = file.getFileName().toString();
    if (f.endsWith(".ko")) {
      return Files.readAllBytes(file);
    }
    if (f.endsWith(".ko.gz")) {
      try (InputStream in = new GZIPInputStream(Files.newInputStream(file))) {
        return in.readAllBytes();
      }
    }
    String tool = f.endsWith(".ko.xz") ? "xz" : f.endsWith(".ko.zst") ? "zstd" : null;
    if (tool == null) {
      throw new TinyGuestException("unknown kernel module compression: " + file);
    }
    Path plain = Files.createTempFile("virga-module", ".ko");
    try {
      Command.Result r = Command.of(tool, "-dc", file.toString()).stdoutTo(plain).run();
      if (!r.ok()) {
        throw new TinyGuestException(
            "cannot decompress " + file + " with " + tool + ": " + r.stderr());
      }
      return Files.readAllBytes(plain);
    } finally {
      Files.deleteIfExists(plain);
    }
  }

  private static String normalize(String module) {
    return module.replace('-', '_');
  }
}
