package io.virga.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Writes the {@code virga} (admin) and {@code virga-demo} entries into an openstack client {@code
 * clouds.yaml}, keeping every other entry of the file. The file holds passwords, so it is written
 * with mode 0600.
 */
final class UpCloudsYaml {
  private static final ObjectMapper YAML =
      new ObjectMapper(
          new YAMLFactory()
              .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
              .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));

  private UpCloudsYaml() {}

  static Path defaultFile() {
    return Path.of(System.getProperty("user.home"), ".config", "openstack", "clouds.yaml");
  }

  static void write(Path file, String authUrl, UpCredentials creds) {
    try {
      ObjectNode root;
      if (Files.isRegularFile(file) && Files.size(file) > 0) {
        JsonNode existing = YAML.readTree(file.toFile());
        root = existing instanceof ObjectNode o ? o : YAML.createObjectNode();
      } else {
        root = YAML.createObjectNode();
      }
      ObjectNode clouds = root.get("clouds") instanceof ObjectNode c ? c : root.putObject("clouds");
      clouds.set("virga", entry(authUrl, "admin", creds.adminPassword(), "admin"));
      clouds.set("virga-demo", entry(authUrl, "demo", creds.demoPassword(), "demo"));
      Files.createDirectories(file.toAbsolutePath().getParent());
      Path tmp = file.resolveSibling(file.getFileName() + ".virga.tmp");
      Files.deleteIfExists(tmp);
      Files.createFile(
          tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      YAML.writeValue(tmp.toFile(), root);
      Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }

  private static ObjectNode entry(String authUrl, String user, String password, String project) {
    ObjectNode e = YAML.createObjectNode();
    ObjectNode auth = e.putObject("auth");
    auth.put("auth_url", authUrl);
    auth.put("username", user);
    auth.put("password", password);
    auth.put("project_name", project);
    auth.put("user_domain_name", "Default");
    auth.put("project_domain_name", "Default");
    e.put("region_name", "RegionOne");
    e.put("identity_api_version", "3");
    e.put("interface", "public");
    return e;
  }
}
