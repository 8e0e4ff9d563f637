package io.virga.host;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class HostSetupTest {
  @Test
  void countsOnlyFullyInstalledPackages() {
    String out =
        "qemu-utils install ok installed\n"
            + "libvirt0:amd64 install ok installed\n"
            + "xorriso deinstall ok config-files\n"
            + "mtools install ok unpacked\n"
            + "cpio hold ok installed\n" // held at its version, but installed
            + "syslinux purge ok not-installed\n";
    assertThat(HostSetup.installedPackages(out))
        .containsExactlyInAnyOrder("qemu-utils", "libvirt0", "cpio");
  }

  @Test
  void theTestPackagesComeOnTopOfTheHostPackages() {
    assertThat(HostSetup.PACKAGES)
        .contains("qemu-system-x86", "libvirt-daemon-driver-qemu", "xorriso", "syslinux", "mtools")
        .doesNotContainAnyElementsOf(HostSetup.TEST_PACKAGES);
  }
}
