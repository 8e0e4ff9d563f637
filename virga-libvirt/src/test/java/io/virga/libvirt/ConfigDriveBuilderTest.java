package io.virga.libvirt;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigDriveBuilderTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void contentKeyIgnoresTheFlavorButNotWhatTheDriveHolds() {
    var spec = TestSpecs.spec("keyed", TestSpecs.tiny());
    var bigger = new io.virga.core.Flavor("b", "bigger", 256, 2, 2, 0, 0, java.util.Map.of());
    // a resize's new flavor: the drive built at prep_resize is still the right one
    assertThat(ConfigDriveBuilder.contentKey(spec.withFlavor(bigger)))
        .isEqualTo(ConfigDriveBuilder.contentKey(spec));
    var renamed = TestSpecs.spec("other name", TestSpecs.tiny());
    assertThat(ConfigDriveBuilder.contentKey(renamed))
        .isNotEqualTo(ConfigDriveBuilder.contentKey(spec));
  }

  @Test
  void treeHasEveryVersionAndLatest(@TempDir Path tmp) throws Exception {
    var spec = TestSpecs.spec("my \"vm\" & <co>", TestSpecs.tiny());
    ConfigDriveBuilder.writeTree(spec, tmp);
    for (String v : ConfigDriveBuilder.VERSIONS) {
      assertThat(tmp.resolve("openstack").resolve(v).resolve("meta_data.json")).isRegularFile();
    }
    Path latest = tmp.resolve("openstack/latest");
    JsonNode md = JSON.readTree(latest.resolve("meta_data.json").toFile());
    assertThat(md.get("uuid").asText()).isEqualTo(spec.uuid());
    assertThat(md.get("name").asText()).isEqualTo("my \"vm\" & <co>");
    assertThat(md.get("hostname").asText()).isEqualTo("warm1");
    assertThat(md.get("launch_index").asInt()).isZero();
    assertThat(md.get("availability_zone").asText()).isEqualTo("nova");
    assertThat(md.get("project_id").asText()).isEqualTo(spec.projectId());
    assertThat(md.get("meta").get("role").asText()).isEqualTo("test");
    assertThat(md.get("public_keys").get("mykey").asText()).startsWith("ssh-ed25519");
    assertThat(md.get("keys").get(0).get("type").asText()).isEqualTo("ssh");
    assertThat(md.get("devices").isArray()).isTrue();
    assertThat(md.get("random_seed").asText()).hasSizeGreaterThan(600);
    assertThat(Files.readAllBytes(latest.resolve("user_data")))
        .isEqualTo(spec.userData().orElseThrow());
    JsonNode net = JSON.readTree(latest.resolve("network_data.json").toFile());
    assertThat(net.get("links").size() + net.get("networks").size() + net.get("services").size())
        .isZero();
    assertThat(latest.resolve("vendor_data.json")).hasContent("{}");
    assertThat(latest.resolve("vendor_data2.json")).hasContent("{}");
    // older versions carry only what existed then
    Path folsom = tmp.resolve("openstack/2012-08-10");
    assertThat(folsom.resolve("network_data.json")).doesNotExist();
    assertThat(folsom.resolve("vendor_data.json")).doesNotExist();
    assertThat(JSON.readTree(folsom.resolve("meta_data.json").toFile()).has("random_seed"))
        .isFalse();
  }

  @Test
  void theAdminPasswordIsInEveryOpenstackVersionsMetaDataOnlyWhenGiven(@TempDir Path tmp)
      throws Exception {
    var spec = TestSpecs.spec("pw", TestSpecs.tiny());
    ConfigDriveBuilder.writeTree(spec.withAdminPass(java.util.Optional.of("s3cr3t")), tmp);
    java.util.List<String> dirs = new java.util.ArrayList<>(ConfigDriveBuilder.VERSIONS);
    dirs.add("latest");
    for (String v : dirs) {
      JsonNode md = JSON.readTree(tmp.resolve("openstack/" + v + "/meta_data.json").toFile());
      assertThat(md.path("admin_pass").asText()).as(v).isEqualTo("s3cr3t");
    }
    Path none = tmp.resolve("none");
    ConfigDriveBuilder.writeTree(spec, none);
    assertThat(
            JSON.readTree(none.resolve("openstack/latest/meta_data.json").toFile())
                .has("admin_pass"))
        .isFalse();
    // the password never shows in a logged spec
    assertThat(spec.withAdminPass(java.util.Optional.of("s3cr3t")).toString())
        .doesNotContain("s3cr3t");
  }

  @Test
  void failedToolLeavesNoIsoAndNoTree(@TempDir Path tmp) {
    Path target = tmp.resolve("disk.config");
    var b = new ConfigDriveBuilder("/bin/false");
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> b.build(TestSpecs.spec("n", TestSpecs.tiny()), target))
        .hasMessageContaining("config drive")
        .hasMessageContaining("exit code 1");
    assertThat(tmp).isEmptyDirectory();
  }
}
