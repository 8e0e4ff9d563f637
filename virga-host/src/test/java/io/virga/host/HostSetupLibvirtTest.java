package io.virga.host;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class HostSetupLibvirtTest {
  private static final String CONFIGURED =
      "user = \"root\"\ngroup = \"root\"\ndynamic_ownership = 0\nsecurity_driver = \"none\"\n";

  @Test
  void writesAllSettingsIntoAMissingOrEmptyFile() {
    String conf = HostSetupLibvirt.updatedQemuConf("").orElseThrow();
    assertThat(conf)
        .contains("user = \"root\"")
        .contains("group = \"root\"")
        .contains("dynamic_ownership = 0")
        .contains("security_driver = \"none\"");
    assertThat(HostSetupLibvirt.updatedQemuConf(conf)).isEmpty();
  }

  @Test
  void leavesAConfiguredFileAlone() {
    assertThat(HostSetupLibvirt.updatedQemuConf(CONFIGURED)).isEmpty();
    assertThat(HostSetupLibvirt.updatedQemuConf("# a comment\n  user=\"root\"\n" + CONFIGURED))
        .isEmpty();
  }

  @Test
  void changesWrongValuesInPlaceAndIgnoresComments() {
    String current =
        "#user = \"libvirt-qemu\"\n"
            + "user = \"libvirt-qemu\"\n"
            + "vnc_listen = \"0.0.0.0\"\n"
            + "dynamic_ownership = 1\n";
    Optional<String> updated = HostSetupLibvirt.updatedQemuConf(current);
    assertThat(updated).isPresent();
    assertThat(updated.get().lines())
        .startsWith("#user = \"libvirt-qemu\"", "user = \"root\"", "vnc_listen = \"0.0.0.0\"")
        .contains("dynamic_ownership = 0", "group = \"root\"", "security_driver = \"none\"")
        .doesNotContain("dynamic_ownership = 1", "user = \"libvirt-qemu\"");
    assertThat(HostSetupLibvirt.updatedQemuConf(updated.get())).isEmpty();
  }
}
