package io.virga.host;

import static org.assertj.core.api.Assertions.assertThat;

import io.virga.libvirt.Guest;
import io.virga.libvirt.LibvirtHost;
import io.virga.tinyguest.TinyGuest;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The probe host set-up runs, through Virga's libvirt wrapper: a transient TCG guest boots to its
 * boot line and is gone afterwards. (Whether KVM works depends on the machine; TCG must.)
 */
class KvmProbeIT {
  @Test
  void aTcgProbeGuestBootsAndLeavesNoDomain() {
    TinyGuest.Artifacts guest = TinyGuest.ensureBuilt(TinyGuest.defaultCacheDir());
    try (LibvirtHost host = new LibvirtHost("qemu:///system")) {
      KvmProbe.Outcome o = KvmProbe.boot(host, "qemu", guest, Duration.ofSeconds(180));
      assertThat(o.booted()).as(o.detail()).isTrue();
      assertThat(probeDomains(host)).isEmpty();
    }
  }

  private static List<String> probeDomains(LibvirtHost host) {
    return host.listAll().stream()
        .map(
            g -> {
              try (Guest d = g) {
                return d.name();
              }
            })
        .filter(n -> n.startsWith("virga-qemu-probe-"))
        .toList();
  }
}
