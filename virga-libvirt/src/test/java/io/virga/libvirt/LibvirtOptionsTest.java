package io.virga.libvirt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.virga.core.Config;
import io.virga.core.InvalidInputException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LibvirtOptionsTest {
  @Test
  void defaults() {
    var o = LibvirtOptions.from(Config.of(Map.of("home", "/srv/virga")));
    assertThat(o.connectionUri()).isEqualTo("qemu:///system");
    assertThat(o.virtType()).isEqualTo("kvm");
    assertThat(o.cpuMode()).isEqualTo("host-model");
    assertThat(o.machineType()).isEqualTo("pc");
    assertThat(o.cdromBus()).isEqualTo("ide");
    assertThat(o.imagesType()).isEqualTo("qcow2");
    assertThat(o.forceConfigDrive()).as("no metadata service: a config drive by default").isTrue();
    assertThat(o.shutdownTimeout()).isEqualTo(Duration.ofSeconds(60));
    assertThat(o.shutdownRetryInterval()).isEqualTo(Duration.ofSeconds(10));
    assertThat(o.instancesPath()).isEqualTo(Path.of("/srv/virga/instances"));
    assertThat(o.diskCacheMode()).isEqualTo("none");
  }

  @Test
  void tcgDefaultsToNoCpuModelAndQ35UsesSata() {
    var o = LibvirtOptions.from(Config.of(Map.of("virt_type", "qemu", "hw_machine_type", "q35")));
    assertThat(o.cpuMode()).isEqualTo("none");
    assertThat(o.cdromBus()).isEqualTo("sata");
  }

  @Test
  void invalidValuesAreRefused() {
    assertThatThrownBy(() -> LibvirtOptions.from(Config.of(Map.of("virt_type", "xen"))))
        .isInstanceOf(InvalidInputException.class);
    assertThatThrownBy(() -> LibvirtOptions.from(Config.of(Map.of("cpu_mode", "custom"))))
        .hasMessageContaining("cpu_model");
    assertThatThrownBy(() -> LibvirtOptions.from(Config.of(Map.of("images_type", "rbd"))))
        .isInstanceOf(InvalidInputException.class);
  }

  @Test
  void cpuInfoFromCapabilities() {
    String caps =
        "<capabilities><host><cpu><arch>x86_64</arch><model>Broadwell</model>"
            + "<vendor>Intel</vendor><topology sockets='1' dies='1' cores='2' threads='1'/>"
            + "<feature name='vme'/><feature name='avx512f'/></cpu></host>"
            + "<guest><cpu><model>ignored</model></cpu></guest></capabilities>";
    assertThat(LibvirtHostResources.cpuInfoJson(caps))
        .isEqualTo(
            "{\"arch\":\"x86_64\",\"model\":\"Broadwell\",\"vendor\":\"Intel\","
                + "\"topology\":{\"cells\":1,\"sockets\":1,\"cores\":2,\"threads\":1},"
                + "\"features\":[\"avx512f\",\"vme\"]}");
  }
}
