package io.virga.tinyguest;

import io.virga.core.Command;
import io.virga.core.CommandException;
import io.virga.core.FileTrees;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the tiny guest (see {@link TinyGuest}) into {@code <cacheDir>/<key>/}, where the key
 * hashes every input: the package versions, the guest's scripts, the SYSLINUX version and {@link
 * #BUILDER_VERSION}. Built in a temporary directory and renamed into place; a lock file serialises
 * builders across processes.
 */
final class TinyGuestBuilder {
  private static final Logger LOG = LoggerFactory.getLogger(TinyGuestBuilder.class);

  /** Bump when the build steps change in a way the other inputs do not show. */
  static final String BUILDER_VERSION = "1";

  static final String DISK = "disk.qcow2";
  static final String KERNEL = "vmlinuz";
  static final String INITRD = "initrd.gz";
  private static final String INPUTS = "inputs.txt";
  private static final String VOLUME_LABEL = "VIRGAROOT";
  private static final int RESERVED_SECTORS = 4096;
  private static final List<String> TOOLS =
      List.of("apt-get", "dpkg-deb", "mkdosfs", "mcopy", "syslinux", "qemu-img");

  /** FileChannel locks are per process; this keeps two threads of one JVM apart as well. */
  private static final ReentrantLock IN_PROCESS = new ReentrantLock();

  private final Path cacheDir;

  TinyGuestBuilder(Path cacheDir) {
    this.cacheDir = cacheDir.toAbsolutePath();
  }

  TinyGuest.Build ensure() {
    for (String tool : TOOLS) {
      if (!Command.onPath(tool)) {
        throw new TinyGuestException(
            "the tiny guest build needs "
                + tool
                + ", which is not installed; run `virga host-setup` (as root) first");
      }
    }
    try {
      Files.createDirectories(cacheDir);
      IN_PROCESS.lock();
      try (FileChannel ch =
              FileChannel.open(
                  cacheDir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
          FileLock lock = ch.lock()) {
        return buildLocked();
      } finally {
        IN_PROCESS.unlock();
      }
    } catch (IOException e) {
      throw new UncheckedIOException("tiny guest build in " + cacheDir + " failed", e);
    }
  }

  private TinyGuest.Build buildLocked() throws IOException {
    removeCrashedBuilds();
    Map<String, String> inputs;
    try {
      inputs = inputs(TinyGuestPackages.resolve());
    } catch (TinyGuestException | CommandException e) {
      // offline or no apt lists: any complete earlier build is better than none
      Optional<Path> newest = newestBuild();
      if (newest.isPresent()) {
        LOG.warn("cannot ask apt for the guest's packages ({}); using {}", e.getMessage(), newest);
        return new TinyGuest.Build(artifacts(newest.get()), false);
      }
      throw e;
    }
    String key = key(inputs);
    Path out = cacheDir.resolve(key);
    if (Files.isRegularFile(out.resolve(INPUTS))) {
      return new TinyGuest.Build(artifacts(out), false);
    }
    long start = System.nanoTime();
    Path work = cacheDir.resolve(".build-" + key + "-" + UUID.randomUUID());
    try {
      Path result = Files.createDirectories(work.resolve("out"));
      build(inputs, work, result);
      Files.writeString(result.resolve(INPUTS), render(inputs) + "key=" + key + "\n");
      if (Files.exists(out)) { // a partial directory from a crashed build: never used, replace it
        FileTrees.deleteTree(out);
      }
      Files.move(result, out, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      FileTrees.deleteTree(work);
    }
    LOG.info(
        "tiny guest {} built in {} ms into {}", key, (System.nanoTime() - start) / 1_000_000, out);
    return new TinyGuest.Build(artifacts(out), true);
  }

  private void build(Map<String, String> inputs, Path work, Path result) throws IOException {
    TinyGuestPackages.Selection sel =
        new TinyGuestPackages.Selection(
            new TinyGuestPackages.Pkg(inputs.get("kernel.package"), inputs.get("kernel.version")),
            new TinyGuestPackages.Pkg(TinyGuestPackages.BUSYBOX, inputs.get("busybox.version")));
    Path debs = cacheDir.resolve("debs");
    Path kernelTree = work.resolve("kernel");
    Path busyboxTree = work.resolve("busybox");
    TinyGuestPackages.extract(TinyGuestPackages.fetch(sel.kernel(), debs), kernelTree);
    TinyGuestPackages.extract(TinyGuestPackages.fetch(sel.busybox(), debs), busyboxTree);

    Path vmlinuz = single(kernelTree.resolve("boot"), "vmlinuz-");
    Path moduleDir = single(kernelTree.resolve("lib/modules"), "");
    Path kernel = result.resolve(KERNEL);
    Path initrd = result.resolve(INITRD);
    Files.copy(vmlinuz, kernel);
    TinyGuestInitramfs.write(busyboxTree.resolve("bin/busybox"), moduleDir, initrd);

    Path fat = work.resolve("disk.raw");
    long needMiB = (Files.size(kernel) + Files.size(initrd)) / (1 << 20) + 8;
    long sizeMiB = Math.max(32, (needMiB + 7) / 8 * 8);
    Command.of(
            List.of(
                "mkdosfs",
                "-C",
                "-n",
                VOLUME_LABEL,
                "-R",
                Integer.toString(RESERVED_SECTORS),
                "-i",
                "56495247",
                fat.toString(),
                Long.toString(sizeMiB * 1024)))
        .check();
    Path cfg = work.resolve("syslinux.cfg");
    Files.writeString(
        cfg,
        new String(TinyGuestInitramfs.resource("syslinux.cfg"), StandardCharsets.UTF_8)
            .replace("@CMDLINE@", TinyGuest.KERNEL_CMDLINE));
    Command.of(
            "mcopy",
            "-i",
            fat.toString(),
            kernel.toString(),
            initrd.toString(),
            cfg.toString(),
            "::/")
        .env("MTOOLS_SKIP_CHECK", "1")
        .timeout(java.time.Duration.ofMinutes(2))
        .check();
    Command.of("syslinux", "--install", fat.toString()).check();
    Command.of(
            List.of(
                "qemu-img",
                "convert",
                "-f",
                "raw",
                "-O",
                "qcow2",
                fat.toString(),
                result.resolve(DISK).toString()))
        .check();
    for (String f : List.of(DISK, KERNEL, INITRD)) {
      Files.setPosixFilePermissions(
          result.resolve(f), PosixFilePermissions.fromString("r--r--r--"));
    }
  }

  /** Every input of the build, by name; their hash is the cache key. */
  static Map<String, String> inputs(TinyGuestPackages.Selection sel) {
    Map<String, String> in = new TreeMap<>();
    in.put("builder.version", BUILDER_VERSION);
    in.put("kernel.package", sel.kernel().name());
    in.put("kernel.version", sel.kernel().version());
    in.put("busybox.version", sel.busybox().version());
    in.put("syslinux.version", installedVersion("syslinux"));
    in.put("kernel.cmdline", TinyGuest.KERNEL_CMDLINE);
    in.put("modules", String.join(",", TinyGuestInitramfs.MODULES));
    for (String r : new TreeMap<>(TinyGuestInitramfs.SCRIPTS).keySet()) {
      in.put("script." + r, sha256(TinyGuestInitramfs.resource(r)));
    }
    in.put("script.syslinux.cfg", sha256(TinyGuestInitramfs.resource("syslinux.cfg")));
    return in;
  }

  static String key(Map<String, String> inputs) {
    return sha256(render(inputs).getBytes(StandardCharsets.UTF_8)).substring(0, 16);
  }

  private static String render(Map<String, String> inputs) {
    StringBuilder sb = new StringBuilder();
    new TreeMap<>(inputs).forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
    return sb.toString();
  }

  private static String installedVersion(String pkg) {
    Command.Result r = Command.of("dpkg-query", "-W", "-f=${Version}", pkg).run();
    if (!r.ok() || r.stdout().isBlank()) {
      throw new TinyGuestException(
          pkg + " is not installed; run `virga host-setup` (as root) first");
    }
    return r.stdout().strip();
  }

  /** Work directories of builds that died midway; under the lock no build is running. */
  private void removeCrashedBuilds() throws IOException {
    try (Stream<Path> s = Files.list(cacheDir)) {
      for (Path p : s.filter(p -> p.getFileName().toString().startsWith(".build-")).toList()) {
        LOG.info("removing {} left by an interrupted tiny guest build", p);
        FileTrees.deleteTree(p);
      }
    }
  }

  private Optional<Path> newestBuild() throws IOException {
    try (Stream<Path> s = Files.list(cacheDir)) {
      return s.filter(p -> Files.isRegularFile(p.resolve(INPUTS)))
          .max(Comparator.comparingLong(p -> p.resolve(INPUTS).toFile().lastModified()));
    }
  }

  private static TinyGuest.Artifacts artifacts(Path dir) {
    return new TinyGuest.Artifacts(dir.resolve(DISK), dir.resolve(KERNEL), dir.resolve(INITRD));
  }

  /** The one entry of dir whose name starts with prefix. */
  private static Path single(Path dir, String prefix) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      List<Path> found = s.filter(p -> p.getFileName().toString().startsWith(prefix)).toList();
      if (found.size() != 1) {
        throw new TinyGuestException(
            "expected one " + prefix + "* in " + dir + " of the kernel package, found " + found);
      }
      return found.get(0);
    }
  }

  static String sha256(byte[] data) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
