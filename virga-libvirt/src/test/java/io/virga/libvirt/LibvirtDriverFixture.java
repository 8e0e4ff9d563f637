package io.virga.libvirt;

import static org.assertj.core.api.Assertions.assertThat;

import io.virga.core.Config;
import io.virga.core.DiskFormat;
import io.virga.core.Flavor;
import io.virga.core.ImageMeta;
import io.virga.tinyguest.TinyGuest;
import io.virga.virt.ImageSource;
import io.virga.virt.InstanceSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real LibvirtDriver (qemu:///system, TCG) over a fresh temporary VIRGA_HOME, serving the tiny
 * guest as images and counting fetches. {@link #close()} destroys and undefines every instance it
 * made and removes the home.
 */
final class LibvirtDriverFixture implements AutoCloseable {
  final Path home;
  final LibvirtDriver driver;
  final TinyGuest.Artifacts guest;
  private final Map<String, Path> imageFiles = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> fetches = new ConcurrentHashMap<>();
  private final List<InstanceSpec> spawned =
      java.util.Collections.synchronizedList(new ArrayList<>());

  LibvirtDriverFixture(Map<String, String> extraConfig) {
    try {
      guest = TinyGuest.ensureBuilt(TinyGuest.defaultCacheDir());
      home = Files.createTempDirectory("virga-h3-it-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Map<String, String> conf = new HashMap<>();
    conf.put("virt_type", "qemu");
    conf.put("instances_path", home.resolve("instances").toString());
    conf.put("shutdown_timeout", "20");
    conf.put("shutdown_retry_interval", "2");
    conf.put("force_config_drive", "false"); // each test says whether it wants one
    conf.putAll(extraConfig);
    driver = LibvirtDriver.fromConfig(Config.of(conf));
    driver.init();
  }

  LibvirtDriverFixture() {
    this(Map.of());
  }

  /** A new image id serving the tiny guest's qcow2 disk (not cached yet). */
  ImageMeta diskImage(Map<String, String> properties) {
    String id = UUID.randomUUID().toString();
    imageFiles.put(id, guest.disk());
    return new ImageMeta(
        id, "tiny-" + id, DiskFormat.QCOW2, "bare", size(guest.disk()), 0, 0, 0, properties);
  }

  /** An image that boots the tiny guest's kernel + initramfs directly, with its command line. */
  ImageMeta kernelBootImage() {
    String kernelId = UUID.randomUUID().toString();
    String ramdiskId = UUID.randomUUID().toString();
    imageFiles.put(kernelId, guest.kernel());
    imageFiles.put(ramdiskId, guest.initrd());
    return diskImage(
        Map.of(
            "kernel_id", kernelId,
            "ramdisk_id", ramdiskId,
            "os_command_line", TinyGuest.KERNEL_CMDLINE));
  }

  private static long size(Path p) {
    try {
      return Files.size(p);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Copies the image's file, counting fetches per image id. */
  final ImageSource images =
      (meta, target) -> {
        fetches.computeIfAbsent(meta.id(), k -> new AtomicInteger()).incrementAndGet();
        Path src = imageFiles.get(meta.id());
        if (src == null) {
          throw new io.virga.core.NotFoundException("no image " + meta.id());
        }
        try {
          Files.copy(src, target, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      };

  int fetchCount(String imageId) {
    AtomicInteger n = fetches.get(imageId);
    return n == null ? 0 : n.get();
  }

  static Flavor flavor(int memoryMb, int ephemeralGb, int swapMb) {
    return new Flavor("h3", "h3.tiny", memoryMb, 1, 1, ephemeralGb, swapMb, Map.of());
  }

  /** A spec with a unique high domain name (libvirtd is shared with other test suites). */
  InstanceSpec spec(String displayName, Flavor flavor, ImageMeta image, Optional<String> userData) {
    long id = 0x40000000L + ThreadLocalRandom.current().nextLong(0x3fffffffL);
    InstanceSpec s =
        new InstanceSpec(
            UUID.randomUUID().toString(),
            String.format("instance-%08x", id),
            displayName,
            "h3-" + Long.toHexString(id),
            "p-h3",
            "u-h3",
            flavor,
            image,
            Map.of(),
            userData.map(u -> u.getBytes(java.nio.charset.StandardCharsets.UTF_8)),
            Map.of(),
            true,
            "nova",
            0,
            Instant.now());
    spawned.add(s);
    return s;
  }

  /** The same instance with the user's config drive request changed. */
  static InstanceSpec withConfigDrive(InstanceSpec s, boolean configDrive) {
    return new InstanceSpec(
        s.uuid(),
        s.domainName(),
        s.displayName(),
        s.hostname(),
        s.projectId(),
        s.userId(),
        s.flavor(),
        s.image(),
        s.metadata(),
        s.userData(),
        s.publicKeys(),
        configDrive,
        s.availabilityZone(),
        s.launchIndex(),
        s.createdAt());
  }

  InstanceSpec spawn(InstanceSpec spec) {
    driver.spawn(spec, images, t -> {});
    return spec;
  }

  Path instanceDir(InstanceSpec spec) {
    return driver.options().instanceDir(spec.uuid());
  }

  String console(InstanceSpec spec) {
    return driver.getConsoleOutput(spec, 1 << 20);
  }

  /** Waits until the console matches {@code regex}; returns the first match's group 1 or 0. */
  String awaitConsole(InstanceSpec spec, String regex, Duration timeout) {
    Pattern p = Pattern.compile(regex);
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      String out = console(spec);
      Matcher m = p.matcher(out);
      if (m.find()) {
        return m.groupCount() > 0 ? m.group(1) : m.group();
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            "console of " + spec.uuid() + " never matched " + regex + "; it shows:\n" + out);
      }
      Guest.sleep(200);
    }
  }

  /** The highest TICK the console shows (0 when none). */
  int lastTick(InstanceSpec spec) {
    Matcher m = Pattern.compile("TICK (\\d+)").matcher(console(spec));
    int last = 0;
    while (m.find()) {
      last = Integer.parseInt(m.group(1));
    }
    return last;
  }

  void assertNoDomain(InstanceSpec spec) {
    assertThat(driver.getInfo(spec.uuid())).as("domain of " + spec.uuid()).isEmpty();
    assertThat(driver.host().lookupByName(spec.domainName())).isEmpty();
  }

  /** No leftover .part or staging files anywhere under the instances dir. */
  void assertNoPartFiles() throws IOException {
    Path instances = driver.options().instancesPath();
    if (!Files.exists(instances)) {
      return;
    }
    try (var walk = Files.walk(instances)) {
      assertThat(walk.map(Path::toString).filter(s -> s.endsWith(".part") || s.endsWith(".tree")))
          .isEmpty();
    }
  }

  /** openstack/latest/meta_data.json of an ISO, extracted with xorriso (no mount). */
  static com.fasterxml.jackson.databind.JsonNode configDriveMetaData(Path iso, Path tmp)
      throws Exception {
    Path out = tmp.resolve("meta_data.json");
    Process p =
        new ProcessBuilder(
                "xorriso",
                "-osirrox",
                "on",
                "-indev",
                iso.toString(),
                "-extract",
                "/openstack/latest/meta_data.json",
                out.toString())
            .redirectErrorStream(true)
            .start();
    String log =
        new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(log).isZero();
    return new com.fasterxml.jackson.databind.ObjectMapper().readTree(Files.readString(out));
  }

  @Override
  public void close() {
    for (InstanceSpec s : List.copyOf(spawned)) {
      try {
        driver.destroy(s, true);
      } catch (RuntimeException e) {
        System.err.println("cleanup of " + s.uuid() + ": " + e);
      }
    }
    driver.close();
    io.virga.core.FileTrees.deleteTree(home);
  }
}
