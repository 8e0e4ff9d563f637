package io.virga.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.core.Config;
import io.virga.db.Database;
import io.virga.image.ImageService;
import io.virga.testing.Cli;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The stock {@code openstack} CLI (Debian's python3-openstackclient) against identity + image
 * routes: token issue, image create from a qcow2 file (chunked upload), list, show, save (bytes and
 * checksum match), set --property, delete; and the demo user cannot see the admin's private image.
 */
class OpenstackCliImageIT {
  @TempDir Path home;
  @TempDir Path work;
  Database db;
  ApiServer server;
  Path clouds;

  @BeforeEach
  void setUp() throws IOException {
    Config config =
        Config.of(Map.of("home", home.toString(), "port", "0", "image_list_limit_default", "2"));
    db = Database.open(config);
    server = ApiServer.builder(config, db).images(new ImageService(db, config)).start();
    server.identity().bootstrap("admin-pw", "demo-pw");
    clouds = work.resolve("clouds.yaml");
    Files.writeString(
        clouds,
        """
        clouds:
          virga:
            auth:
              auth_url: %1$s/identity
              username: admin
              password: admin-pw
              project_name: admin
              user_domain_name: Default
              project_domain_name: Default
            region_name: RegionOne
            identity_api_version: 3
          virga-demo:
            auth:
              auth_url: %1$s/identity/v3
              username: demo
              password: demo-pw
              project_name: demo
              user_domain_name: Default
              project_domain_name: Default
            region_name: RegionOne
            identity_api_version: 3
        """
            .formatted(server.url()));
  }

  @AfterEach
  void tearDown() {
    server.close();
    db.close();
  }

  record Result(int exit, String out, String err) {}

  Result openstack(String cloud, String... args) {
    Cli.Result r = Cli.openstack(clouds, Map.of("HOME", work.toString()), cloud, args);
    if (!r.ok()) {
      System.err.println("$ openstack " + String.join(" ", args) + "\n" + r.out() + r.err());
    }
    return new Result(r.rc(), r.out(), r.err());
  }

  JsonNode json(Result r) throws IOException {
    assertThat(r.exit()).as(r.err()).isZero();
    return ApiJson.MAPPER.readTree(r.out());
  }

  @Test
  void imageLifecycleThroughTheCli() throws Exception {
    JsonNode token = json(openstack("virga", "token", "issue", "-f", "json"));
    assertThat(token.get("project_id").asText()).isNotBlank();
    assertThat(
            json(openstack("virga-demo", "token", "issue", "-f", "json")).get("user_id").asText())
        .isNotBlank();

    Path disk = work.resolve("disk.qcow2");
    Cli.run(List.of("qemu-img", "create", "-f", "qcow2", disk.toString(), "16M"))
        .orFail("qemu-img create");
    byte[] original = Files.readAllBytes(disk);

    JsonNode created =
        json(
            openstack(
                "virga",
                "image",
                "create",
                "--file",
                disk.toString(),
                "--disk-format",
                "qcow2",
                "--container-format",
                "bare",
                "--property",
                "os_distro=tiny",
                "-f",
                "json",
                "cli-image"));
    String id = created.get("id").asText();
    JsonNode shown = json(openstack("virga", "image", "show", "-f", "json", "cli-image"));
    assertThat(shown.get("id").asText()).isEqualTo(id);
    assertThat(shown.get("status").asText()).isEqualTo("active");
    assertThat(shown.get("checksum").asText()).isEqualTo(CraftedImages.hex("MD5", original));
    assertThat(shown.get("size").asLong()).isEqualTo(original.length);
    assertThat(shown.get("virtual_size").asLong()).isEqualTo(16L << 20);
    assertThat(shown.toString()).contains("os_distro");

    JsonNode list = json(openstack("virga", "image", "list", "-f", "json"));
    assertThat(list.findValuesAsText("ID")).contains(id);
    // the demo project does not see the admin's private image
    assertThat(json(openstack("virga-demo", "image", "list", "-f", "json")).findValuesAsText("ID"))
        .doesNotContain(id);
    assertThat(openstack("virga-demo", "image", "show", id).exit()).isNotZero();

    Path saved = work.resolve("saved.qcow2");
    Result save = openstack("virga", "image", "save", "--file", saved.toString(), id);
    assertThat(save.exit()).as(save.err()).isZero();
    assertThat(Files.readAllBytes(saved)).isEqualTo(original);

    Result set =
        openstack(
            "virga", "image", "set", "--property", "hw_disk_bus=virtio", "--name", "renamed", id);
    assertThat(set.exit()).as(set.err()).isZero();
    JsonNode after = json(openstack("virga", "image", "show", "-f", "json", id));
    assertThat(after.get("name").asText()).isEqualTo("renamed");
    assertThat(after.toString()).contains("hw_disk_bus");

    Result delete = openstack("virga", "image", "delete", id);
    assertThat(delete.exit()).as(delete.err()).isZero();
    assertThat(json(openstack("virga", "image", "list", "-f", "json")).findValuesAsText("ID"))
        .doesNotContain(id);
    assertThat(Files.exists(home.resolve("images").resolve(id))).isFalse();
  }

  @Test
  void aQcow2DeclaredRawIsRefusedThroughTheCli() throws Exception {
    Path disk = work.resolve("disk.qcow2");
    Cli.run(List.of("qemu-img", "create", "-f", "qcow2", disk.toString(), "1M"))
        .orFail("qemu-img create");
    Result r =
        openstack(
            "virga",
            "image",
            "create",
            "--file",
            disk.toString(),
            "--disk-format",
            "raw",
            "--container-format",
            "bare",
            "liar");
    assertThat(r.exit()).isNotZero();
    assertThat(
            new String(
                (r.out() + r.err()).getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8))
        .containsIgnoringCase("400");
  }

  @Test
  void listingFiltersPagingTagsAndPublicImages() throws Exception {
    Path raw = work.resolve("disk.raw");
    Files.write(raw, new byte[64 * 1024]);
    JsonNode pub =
        json(
            openstack(
                "virga",
                "image",
                "create",
                "--file",
                raw.toString(),
                "--disk-format",
                "raw",
                "--container-format",
                "bare",
                "--public",
                "--min-disk",
                "1",
                "-f",
                "json",
                "shared-base"));
    assertThat(pub.get("visibility").asText()).isEqualTo("public");
    for (int i = 0; i < 3; i++) {
      assertThat(
              openstack(
                      "virga",
                      "image",
                      "create",
                      "--disk-format",
                      "qcow2",
                      "--container-format",
                      "bare",
                      "queued-" + i)
                  .exit())
          .isZero();
    }
    // the demo project sees the public image, can boot-list it, cannot change it
    JsonNode demoList = json(openstack("virga-demo", "image", "list", "--public", "-f", "json"));
    assertThat(demoList.findValuesAsText("Name")).containsExactly("shared-base");
    assertThat(openstack("virga-demo", "image", "set", "--name", "mine", "shared-base").exit())
        .isNotZero();
    assertThat(
            openstack(
                    "virga-demo",
                    "image",
                    "create",
                    "--public",
                    "--disk-format",
                    "raw",
                    "--container-format",
                    "bare",
                    "nope")
                .exit())
        .isNotZero();

    // --limit asks the server for one page (newest first); --sort sorts it client-side
    JsonNode sorted =
        json(
            openstack(
                "virga", "image", "list", "--sort", "name:asc", "--limit", "2", "-f", "json"));
    assertThat(sorted.findValuesAsText("Name")).containsExactly("queued-1", "queued-2");
    // the server's page size is 2 here: the client must follow our "next" links to see all four
    JsonNode all = json(openstack("virga", "image", "list", "--long", "-f", "json"));
    assertThat(all.findValuesAsText("Name"))
        .containsExactlyInAnyOrder("shared-base", "queued-0", "queued-1", "queued-2");
    // without --file and without a terminal the CLI uploads its empty stdin: 0-byte active images
    JsonNode active = json(openstack("virga", "image", "list", "--status", "active", "-f", "json"));
    assertThat(active).hasSize(4);
    JsonNode empty = json(openstack("virga", "image", "show", "-f", "json", "queued-0"));
    assertThat(empty.get("size").asLong()).isZero();

    assertThat(
            openstack(
                    "virga",
                    "image",
                    "set",
                    "--tag",
                    "base",
                    "--property",
                    "a=1",
                    "--property",
                    "b=2",
                    "shared-base")
                .exit())
        .isZero();
    assertThat(openstack("virga", "image", "unset", "--property", "a", "shared-base").exit())
        .isZero();
    JsonNode shown = json(openstack("virga", "image", "show", "-f", "json", "shared-base"));
    assertThat(shown.toString()).contains("base").contains("\"b\"").doesNotContain("\"a\"");
    JsonNode tagged = json(openstack("virga", "image", "list", "--tag", "base", "-f", "json"));
    assertThat(tagged.findValuesAsText("Name")).containsExactly("shared-base");

    assertThat(openstack("virga", "image", "set", "--protected", "shared-base").exit()).isZero();
    assertThat(openstack("virga", "image", "delete", "shared-base").exit()).isNotZero();
    assertThat(openstack("virga", "image", "set", "--unprotected", "shared-base").exit()).isZero();
    assertThat(openstack("virga", "image", "delete", "shared-base").exit()).isZero();
  }

  @Test
  void identityCommandsThroughTheCli() throws Exception {
    assertThat(json(openstack("virga", "project", "list", "-f", "json")).findValuesAsText("Name"))
        .containsExactlyInAnyOrder("admin", "demo");
    assertThat(json(openstack("virga", "user", "list", "-f", "json")).findValuesAsText("Name"))
        .containsExactlyInAnyOrder("admin", "demo");
    assertThat(json(openstack("virga", "role", "list", "-f", "json")).findValuesAsText("Name"))
        .contains("admin", "member", "reader");
    assertThat(json(openstack("virga", "catalog", "list", "-f", "json")).findValuesAsText("Type"))
        .containsExactlyInAnyOrder("identity", "compute", "image");
    assertThat(json(openstack("virga", "endpoint", "list", "-f", "json"))).hasSize(9);
    // a non-admin gets 403 on /v3/projects; the CLI falls back to /v3/users/{id}/projects
    assertThat(
            json(openstack("virga-demo", "project", "list", "-f", "json")).findValuesAsText("Name"))
        .containsExactly("demo");
  }
}
