package io.virga.tinyguest;

import io.virga.core.Command;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Debian packages the tiny guest is made of: which versions the host's apt lists name, fetching
 * them with {@code apt-get download} (never installing them) and unpacking with {@code dpkg-deb
 * -x}.
 */
final class TinyGuestPackages {
  private static final Logger LOG = LoggerFactory.getLogger(TinyGuestPackages.class);
  static final String KERNEL_META = "linux-image-cloud-amd64";
  static final String BUSYBOX = "busybox-static";
  private static final Pattern DEPENDS_KERNEL =
      Pattern.compile("(linux-image-[0-9][^ ,]*-cloud-amd64)(?: \\(= ([^)]+)\\))?");

  /** One package at one version. */
  record Pkg(String name, String version) {
    String spec() {
      return name + "=" + version;
    }

    /** The name apt-get download gives the file (an epoch's ':' is written as %3a). */
    String debPrefix() {
      return name + "_" + version.replace(":", "%3a") + "_";
    }
  }

  /** The kernel and busybox packages the guest will be built from. */
  record Selection(Pkg kernel, Pkg busybox) {}

  private TinyGuestPackages() {}

  /** Asks apt which kernel the cloud meta-package points at, and the busybox-static version. */
  static Selection resolve() {
    Map<String, String> stanzas = showCandidates(KERNEL_META, BUSYBOX);
    String depends =
        field(stanzas.get(KERNEL_META), "Depends")
            .orElseThrow(() -> new TinyGuestException(KERNEL_META + " has no Depends field"));
    Matcher m = DEPENDS_KERNEL.matcher(depends);
    if (!m.find()) {
      throw new TinyGuestException(
          KERNEL_META + " does not depend on a linux-image-*-cloud-amd64 package: " + depends);
    }
    String kernelName = m.group(1);
    String kernelVersion =
        m.group(2) != null
            ? m.group(2)
            : field(showCandidates(kernelName).get(kernelName), "Version").orElseThrow();
    String busyboxVersion =
        field(stanzas.get(BUSYBOX), "Version")
            .orElseThrow(() -> new TinyGuestException(BUSYBOX + " has no Version field"));
    return new Selection(new Pkg(kernelName, kernelVersion), new Pkg(BUSYBOX, busyboxVersion));
  }

  /** The .deb of this package in debsDir, downloaded first if it is not there yet. */
  static Path fetch(Pkg pkg, Path debsDir) {
    try {
      Files.createDirectories(debsDir);
      Optional<Path> have = findDeb(pkg, debsDir);
      if (have.isPresent()) {
        return have.get();
      }
      LOG.info("downloading {} with apt-get download", pkg.spec());
      Command.of("apt-get", "download", "-q", pkg.spec()).workDir(debsDir).check();
      Path deb =
          findDeb(pkg, debsDir)
              .orElseThrow(
                  () ->
                      new TinyGuestException(
                          "apt-get download " + pkg.spec() + " left no .deb in " + debsDir));
      removeOtherVersions(pkg, debsDir);
      return deb;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Unpacks a .deb's files into dir (no maintainer scripts run, nothing is installed). */
  static void extract(Path deb, Path dir) {
    Command.of("dpkg-deb", "-x", deb.toString(), dir.toString()).check();
  }

  /** The candidate version's control stanza of each package, by package name. */
  private static Map<String, String> showCandidates(String... pkgs) {
    List<String> cmd = new ArrayList<>(List.of("apt-cache", "show", "--no-all-versions"));
    cmd.addAll(List.of(pkgs));
    Command.Result r = Command.of(cmd).run();
    if (!r.ok()) {
      LOG.info("apt does not know {} yet; running apt-get update", String.join(" ", pkgs));
      Command.of("apt-get", "update", "-q").check();
      r = Command.of(cmd).run();
    }
    Map<String, String> stanzas = new HashMap<>();
    for (String stanza : r.stdout().split("\n\n")) {
      field(stanza, "Package").ifPresent(name -> stanzas.put(name, stanza));
    }
    for (String pkg : pkgs) {
      if (!stanzas.containsKey(pkg)) {
        throw new TinyGuestException(
            "apt cannot find package "
                + pkg
                + " (is this Debian with the main component enabled? try apt-get update): "
                + r.stderr().strip());
      }
    }
    return stanzas;
  }

  private static Optional<String> field(String control, String name) {
    for (String line : control.split("\n")) {
      if (line.startsWith(name + ": ")) {
        return Optional.of(line.substring(name.length() + 2).strip());
      }
    }
    return Optional.empty();
  }

  private static Optional<Path> findDeb(Pkg pkg, Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().startsWith(pkg.debPrefix()))
          .filter(p -> p.getFileName().toString().endsWith(".deb"))
          .findFirst();
    }
  }

  private static void removeOtherVersions(Pkg pkg, Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      for (Path p : s.toList()) {
        String f = p.getFileName().toString();
        if (f.startsWith(pkg.name() + "_") && !f.startsWith(pkg.debPrefix())) {
          Files.deleteIfExists(p);
        }
      }
    }
  }
}
