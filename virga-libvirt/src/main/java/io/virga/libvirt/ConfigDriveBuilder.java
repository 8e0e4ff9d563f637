package io.virga.libvirt;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.virga.core.Command;
import io.virga.core.CommandException;
import io.virga.core.FileTrees;
import io.virga.core.VirgaException;
import io.virga.virt.InstanceSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the config drive (Nova's {@code virt/configdrive.py} over {@code api/metadata/base.py}):
 * an ISO9660 image labelled {@code config-2}, Joliet + Rock Ridge, holding {@code
 * openstack/<version>/} directories with meta_data.json, user_data, network_data.json and vendor
 * data. The ISO tool is run with an argument list; no value reaches a shell.
 */
final class ConfigDriveBuilder {
  private static final Logger LOG = LoggerFactory.getLogger(ConfigDriveBuilder.class);

  /** The OpenStack metadata versions Nova writes, oldest first; {@code latest} mirrors the last. */
  static final List<String> VERSIONS =
      List.of(
          "2012-08-10",
          "2013-04-04",
          "2013-10-17",
          "2015-10-15",
          "2016-06-30",
          "2016-10-06",
          "2017-02-22",
          "2018-08-27",
          "2020-10-14");

  /** Insertion order kept: uuid first, as Nova writes it (simple readers grep for it). */
  private static final ObjectMapper JSON = new ObjectMapper();

  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Duration ISO_TIMEOUT = Duration.ofSeconds(60);

  private final String isoTool;

  public ConfigDriveBuilder(String isoTool) {
    this.isoTool = isoTool;
  }

  /** xorriso if installed, else genisoimage (Nova's default). */
  static String defaultTool() {
    for (String dir : List.of("/usr/bin", "/usr/local/bin", "/bin")) {
      if (Files.isExecutable(Path.of(dir, "xorriso"))) {
        return Path.of(dir, "xorriso").toString();
      }
    }
    return "genisoimage";
  }

  /**
   * Writes the ISO to {@code target}. The staging tree lives next to it and is removed whatever
   * happens; on failure no partial ISO is left.
   */
  public void build(InstanceSpec spec, Path target) {
    Path staging = target.resolveSibling(target.getFileName() + ".tree");
    try {
      long t0 = System.nanoTime();
      writeTree(spec, staging);
      long t1 = System.nanoTime();
      makeIso(staging, target);
      LOG.debug(
          "instance {}: config drive tree written in {} ms, ISO made in {} ms",
          spec.uuid(),
          (t1 - t0) / 1_000_000,
          (System.nanoTime() - t1) / 1_000_000);
    } catch (IOException e) {
      deleteQuietly(target);
      throw new UncheckedIOException("config drive: cannot write " + target, e);
    } catch (RuntimeException e) {
      deleteQuietly(target);
      throw e;
    } finally {
      FileTrees.deleteTree(staging);
    }
  }

  /**
   * Everything of {@code spec} the drive's content depends on ({@link #writeTree}): two specs with
   * equal keys give equivalent drives (they differ only in the random seed). Keep in step with
   * {@link #metaData}.
   */
  static List<Object> contentKey(InstanceSpec spec) {
    return List.of(
        spec.uuid(),
        spec.metadata(),
        spec.publicKeys(),
        spec.hostname(),
        spec.displayName(),
        spec.launchIndex(),
        String.valueOf(spec.availabilityZone()),
        String.valueOf(spec.projectId()),
        spec.userData().map(b -> Base64.getEncoder().encodeToString(b)).orElse(""));
  }

  /** The {@code openstack/} tree Nova's metadata service would serve for this instance. */
  static void writeTree(InstanceSpec spec, Path root) throws IOException {
    List<String> dirs = new ArrayList<>(VERSIONS);
    dirs.add("latest");
    String seed = randomSeed();
    for (String version : dirs) {
      Path dir = Files.createDirectories(root.resolve("openstack").resolve(version));
      String v = version.equals("latest") ? VERSIONS.getLast() : version;
      Files.write(dir.resolve("meta_data.json"), JSON.writeValueAsBytes(metaData(spec, v, seed)));
      if (spec.userData().isPresent()) {
        Files.write(dir.resolve("user_data"), spec.userData().get());
      }
      if (atLeast(v, "2013-10-17")) {
        Files.writeString(dir.resolve("vendor_data.json"), "{}");
      }
      if (atLeast(v, "2015-10-15")) {
        Files.write(dir.resolve("network_data.json"), JSON.writeValueAsBytes(networkData()));
      }
      if (atLeast(v, "2016-10-06")) {
        Files.writeString(dir.resolve("vendor_data2.json"), "{}");
      }
    }
  }

  static boolean atLeast(String version, String since) {
    return version.compareTo(since) >= 0;
  }

  /** meta_data.json as Nova's InstanceMetadata.get_openstack_item builds it, per version. */
  static Map<String, Object> metaData(InstanceSpec spec, String version, String seed) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("uuid", spec.uuid());
    m.put("meta", new LinkedHashMap<>(spec.metadata()));
    // Nova's extra_md: the build's or rebuild's admin password, in every openstack version
    spec.adminPass().ifPresent(p -> m.put("admin_pass", p));
    if (!spec.publicKeys().isEmpty()) {
      m.put("public_keys", new LinkedHashMap<>(spec.publicKeys()));
      if (atLeast(version, "2016-06-30")) {
        List<Map<String, String>> keys = new ArrayList<>();
        spec.publicKeys().entrySet().stream()
            .sorted(Map.Entry.comparingByKey())
            .forEach(
                e -> {
                  Map<String, String> k = new LinkedHashMap<>();
                  k.put("name", e.getKey());
                  k.put("type", "ssh");
                  k.put("data", e.getValue());
                  keys.add(k);
                });
        m.put("keys", keys);
      }
    }
    m.put("hostname", spec.hostname());
    m.put("name", spec.displayName());
    m.put("launch_index", spec.launchIndex());
    m.put("availability_zone", spec.availabilityZone());
    if (atLeast(version, "2015-10-15")) {
      m.put("random_seed", seed);
      m.put("project_id", spec.projectId());
    }
    if (atLeast(version, "2016-06-30")) {
      m.put("devices", List.of());
    }
    if (atLeast(version, "2020-10-14")) {
      m.put("dedicated_cpus", List.of());
    }
    return m;
  }

  /** Virga attaches no networks yet: Nova's document for an instance without ports. */
  static Map<String, Object> networkData() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("links", List.of());
    m.put("networks", List.of());
    m.put("services", List.of());
    return m;
  }

  private static String randomSeed() {
    byte[] b = new byte[512];
    RANDOM.nextBytes(b);
    return Base64.getEncoder().encodeToString(b);
  }

  private void makeIso(Path tree, Path target) {
    List<String> cmd = new ArrayList<>();
    cmd.add(isoTool);
    if (Path.of(isoTool).getFileName().toString().startsWith("xorriso")) {
      cmd.addAll(List.of("-as", "genisoimage"));
    }
    cmd.addAll(
        List.of(
            "-o",
            target.toString(),
            "-ldots",
            "-allow-lowercase",
            "-allow-multidot",
            "-l",
            "-publisher",
            "Virga",
            "-quiet",
            "-J",
            "-r",
            "-V",
            "config-2",
            tree.toString()));
    try {
      Command.of(cmd).timeout(ISO_TIMEOUT).check();
    } catch (CommandException e) {
      throw new VirgaException("config drive: " + e.getMessage(), e);
    }
  }

  private static void deleteQuietly(Path p) {
    try {
      Files.deleteIfExists(p);
    } catch (IOException e) {
      // the caller's cleanup removes the instance dir anyway
    }
  }
}
