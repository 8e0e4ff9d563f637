package io.virga.host;

import io.virga.core.FileTrees;
import io.virga.libvirt.Guest;
import io.virga.libvirt.LibvirtException;
import io.virga.libvirt.LibvirtHost;
import io.virga.tinyguest.TinyGuest;
import io.virga.tinyguest.TinyGuestDomain;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;

/**
 * Finds out whether KVM guests really run on this host: /dev/kvm can exist while guests never get
 * past the firmware (nested virtualisation without the right CPU flags). Boots the tiny guest as a
 * transient {@code type='kvm'} domain by direct kernel boot and watches its console for {@link
 * TinyGuest#BOOT_LINE}; without it, the host must use TCG ({@code virt_type=qemu}).
 */
final class KvmProbe {
  /** What the probe saw: whether the guest booted (its boot line appeared), and why not. */
  record Outcome(boolean booted, String detail) {}

  private KvmProbe() {}

  /** Boots the tiny guest under KVM through {@code host} and waits up to {@code timeout}. */
  static Outcome probe(LibvirtHost host, TinyGuest.Artifacts guest, Duration timeout) {
    if (!Files.exists(Path.of("/dev/kvm"))) {
      return new Outcome(false, "/dev/kvm does not exist");
    }
    return boot(host, "kvm", guest, timeout);
  }

  /**
   * Boots the tiny guest as a transient domain of the given type ({@code kvm} or {@code qemu}) by
   * direct kernel boot and reports whether its boot line appeared within {@code timeout}.
   */
  static Outcome boot(LibvirtHost host, String type, TinyGuest.Artifacts guest, Duration timeout) {
    Path dir;
    try {
      dir = Files.createTempDirectory("virga-kvm-probe");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Path console = dir.resolve("console.log");
    String name = "virga-" + type + "-probe-" + UUID.randomUUID().toString().substring(0, 8);
    String xml =
        TinyGuestDomain.domainXml(type, name, guest, Optional.empty(), Optional.empty(), console);
    try (Guest g = host.createTransient(xml)) {
      try {
        return awaitBootLine(type, console, timeout);
      } finally {
        g.destroy(); // transient: destroying it removes it
      }
    } catch (LibvirtException e) {
      return new Outcome(false, "libvirt refused a " + type + " guest: " + e.getMessage());
    } finally {
      try {
        FileTrees.deleteTree(dir);
      } catch (UncheckedIOException e) {
        // a leftover temp file is harmless
      }
    }
  }

  private static Outcome awaitBootLine(String type, Path console, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    try {
      while (System.nanoTime() < deadline) {
        if (TinyGuestDomain.consoleHas(console, TinyGuest.BOOT_LINE)) {
          return new Outcome(true, "a " + type + " guest booted");
        }
        Thread.sleep(100);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Outcome(false, "interrupted");
    }
    return new Outcome(
        false,
        "a "
            + type
            + " guest started but printed no boot line within "
            + timeout.toSeconds()
            + " s");
  }
}
