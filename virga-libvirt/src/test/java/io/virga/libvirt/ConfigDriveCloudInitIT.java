package io.virga.libvirt;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The config drive as cloud-init reads it: the ISO is built by xorriso, checked for its label,
 * Joliet and Rock Ridge, extracted without mounting, and parsed by cloud-init's own
 * ConfigDriveReader (Debian's cloud-init 22.4 and python3-configobj, fetched with {@code apt-get
 * download} into /var/cache/virga/cloud-init and unpacked — never installed).
 */
class ConfigDriveCloudInitIT {
  private static final Path CLOUD_INIT = Path.of("/var/cache/virga/cloud-init");

  private static String run(Path cwd, List<String> cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).directory(cwd.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(String.join(" ", cmd) + "\n" + out).isZero();
    return out;
  }

  /** cloud-init's python package, unpacked from the Debian packages once. */
  private static Path cloudInitPythonPath() throws Exception {
    Path site = CLOUD_INIT.resolve("root/usr/lib/python3/dist-packages");
    if (Files.isDirectory(site.resolve("cloudinit"))
        && Files.isDirectory(site.resolve("configobj"))) {
      return site;
    }
    Files.createDirectories(CLOUD_INIT);
    run(CLOUD_INIT, List.of("apt-get", "download", "cloud-init", "python3-configobj"));
    try (var debs = Files.list(CLOUD_INIT)) {
      for (Path deb : debs.filter(p -> p.toString().endsWith(".deb")).toList()) {
        run(
            CLOUD_INIT,
            List.of("dpkg-deb", "-x", deb.toString(), CLOUD_INIT.resolve("root").toString()));
      }
    }
    return site;
  }

  @Test
  void cloudInitsReaderParsesTheDrive(@TempDir Path tmp) throws Exception {
    var spec =
        TestSpecs.spec("name with \"quotes\" & <brackets>", TestSpecs.tiny())
            .withAdminPass(java.util.Optional.of("pw \"with\" quotes"));
    Path iso = tmp.resolve("disk.config");
    new ConfigDriveBuilder(ConfigDriveBuilder.defaultTool()).build(spec, iso);

    String pvd = run(tmp, List.of("xorriso", "-indev", iso.toString(), "-pvd_info"));
    assertThat(pvd).contains("Volume Id    : config-2");
    String toc = run(tmp, List.of("xorriso", "-indev", iso.toString(), "-toc"));
    assertThat(toc).containsPattern("ISO offers +: Rock_Ridge Joliet");

    Path tree = tmp.resolve("tree");
    run(
        tmp,
        List.of(
            "xorriso",
            "-osirrox",
            "on",
            "-indev",
            iso.toString(),
            "-extract",
            "/",
            tree.toString()));
    // Rock Ridge keeps lower-case names: openstack/latest/meta_data.json, not OPENSTAC/...
    assertThat(tree.resolve("openstack/latest/meta_data.json")).isRegularFile();
    assertThat(tree.resolve("openstack/2012-08-10/meta_data.json")).isRegularFile();

    Path script = tmp.resolve("read.py");
    Files.writeString(
        script,
        String.join(
            "\n",
            "import json, sys",
            "from cloudinit.sources.helpers.openstack import ConfigDriveReader",
            "r = ConfigDriveReader(sys.argv[1])",
            "res = r.read_v2()",
            "md = res['metadata']",
            "ud = res.get('userdata')",
            "ud = ud.decode() if isinstance(ud, bytes) else ud",
            "print(json.dumps({'uuid': md['uuid'], 'name': md['name'], 'hostname': md['hostname'],",
            "  'admin_pass': md.get('admin_pass'),",
            "  'keys': md.get('public_keys'), 'userdata': ud, 'version': res['version'],",
            "  'networkdata': res.get('networkdata'), 'vendordata': res.get('vendordata'),",
            "  'files': sorted(res.get('files', {}).keys())}))",
            ""));
    List<String> cmd =
        new ArrayList<>(
            List.of(
                "env",
                "PYTHONPATH=" + cloudInitPythonPath(),
                "python3",
                script.toString(),
                tree.toString()));
    String out = run(tmp, cmd);
    JsonNode r = new ObjectMapper().readTree(out.lines().reduce((a, b) -> b).orElseThrow());
    assertThat(r.get("uuid").asText()).isEqualTo(spec.uuid());
    assertThat(r.get("name").asText()).isEqualTo("name with \"quotes\" & <brackets>");
    assertThat(r.get("hostname").asText()).isEqualTo("warm1");
    assertThat(r.get("admin_pass").asText()).isEqualTo("pw \"with\" quotes");
    assertThat(r.get("keys").get("mykey").asText()).startsWith("ssh-ed25519");
    assertThat(r.get("userdata").asText()).isEqualTo("#!/bin/sh\necho hi\n");
    assertThat(r.get("version").asInt()).isEqualTo(2);
    assertThat(r.get("networkdata").get("links").isArray()).isTrue();
  }
}
