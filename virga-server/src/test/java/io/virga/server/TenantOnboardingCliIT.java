package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.virt.FakeDriver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The done-when of issue 15, with the stock {@code openstack} CLI (Debian's
 * python3-openstackclient) as an operator onboarding a tenant against {@code virga up}'s wiring
 * (FakeDriver as the hypervisor, so it runs beside the libvirt suites): project, user, member role;
 * the user logs in through a clouds.yaml entry, boots a server, sees only their own servers and
 * images, is refused admin calls, changes their password and reads their usage; the admin cannot
 * delete the project while it owns a server, disables the user (401 on their next call), then
 * cleans up.
 */
class TenantOnboardingCliIT {
  @TempDir Path home;
  @TempDir Path work;
  ComputeTestCloud cloud;
  Path clouds;

  @BeforeEach
  void start() throws IOException {
    cloud = new ComputeTestCloud(home, new FakeDriver("fake-host", 8, 8192, 100), Map.of());
    cloud.ensureImage();
    clouds = work.resolve("clouds.yaml");
    writeClouds("alice-pw");
  }

  @AfterEach
  void stop() {
    cloud.close();
  }

  void writeClouds(String alicePassword) throws IOException {
    String entry =
        """
          %s:
            auth:
              auth_url: %s/identity/v3
              username: %s
              password: %s
              project_name: %s
              user_domain_name: Default
              project_domain_name: Default
            region_name: RegionOne
            identity_api_version: 3
            compute_api_version: "2.37"
        """;
    Files.writeString(
        clouds,
        "clouds:\n"
            + entry.formatted("virga", cloud.url(), "admin", "adminpw", "admin")
            + entry.formatted("acme", cloud.url(), "alice", alicePassword, "acme"));
  }

  record Result(int exit, String out, String err) {}

  Result openstack(String cloudName, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("openstack", "--os-cloud", cloudName));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(work.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("OS_"));
    pb.environment().put("OS_CLIENT_CONFIG_FILE", clouds.toString());
    pb.environment().put("HOME", work.toString());
    Path out = work.resolve("out.txt");
    Path err = work.resolve("err.txt");
    pb.redirectOutput(out.toFile()).redirectError(err.toFile());
    pb.redirectInput(new java.io.File("/dev/null"));
    Process p = pb.start();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("timed out: " + cmd);
    }
    Result r = new Result(p.exitValue(), Files.readString(out), Files.readString(err));
    System.err.println("$ " + String.join(" ", cmd) + " → " + r.exit() + "\n" + r.err());
    return r;
  }

  JsonNode json(Result r) throws IOException {
    assertThat(r.exit()).as(r.err()).isZero();
    return ComputeTestCloud.JSON.readTree(r.out());
  }

  void ok(Result r) {
    assertThat(r.exit()).as(r.err()).isZero();
  }

  @Test
  void anOperatorOnboardsATenant() throws Exception {
    // the operator creates the tenant
    String project =
        json(openstack(
                "virga", "project", "create", "--description", "Acme Corp", "acme", "-f", "json"))
            .get("id")
            .asText();
    String user =
        json(openstack(
                "virga",
                "user",
                "create",
                "--project",
                "acme",
                "--password",
                "alice-pw",
                "--email",
                "alice@acme.example",
                "alice",
                "-f",
                "json"))
            .get("id")
            .asText();
    ok(openstack("virga", "role", "add", "--user", "alice", "--project", "acme", "member"));
    JsonNode assignments =
        json(
            openstack(
                "virga",
                "role",
                "assignment",
                "list",
                "--user",
                "alice",
                "--project",
                "acme",
                "--names",
                "-f",
                "json"));
    assertThat(assignments.findValuesAsText("Role")).containsExactly("member");
    assertThat(json(openstack("virga", "project", "list", "-f", "json")).findValuesAsText("Name"))
        .contains("admin", "demo", "acme");
    assertThat(json(openstack("virga", "domain", "list", "-f", "json")).findValuesAsText("Name"))
        .containsExactly("Default");

    // the admin owns a private image and a server the tenant must not see
    Path raw = work.resolve("private.raw");
    Files.write(raw, new byte[64 * 1024]);
    String privateImage =
        json(openstack(
                "virga",
                "image",
                "create",
                "--private",
                "--disk-format",
                "raw",
                "--container-format",
                "bare",
                "--file",
                raw.toString(),
                "admin-only",
                "-f",
                "json"))
            .get("id")
            .asText();
    String adminServer =
        json(openstack(
                "virga",
                "server",
                "create",
                "--flavor",
                "v1.tiny",
                "--image",
                cloud.imageId,
                "--nic",
                "none",
                "--wait",
                "admin-vm",
                "-f",
                "json"))
            .get("id")
            .asText();

    // the tenant logs in and works in their project
    JsonNode token = json(openstack("acme", "token", "issue", "-f", "json"));
    assertThat(token.get("project_id").asText()).isEqualTo(project);
    assertThat(token.get("user_id").asText()).isEqualTo(user);
    JsonNode server =
        json(
            openstack(
                "acme",
                "server",
                "create",
                "--flavor",
                "v1.tiny",
                "--image",
                cloud.imageId,
                "--nic",
                "none",
                "--wait",
                "acme-vm",
                "-f",
                "json"));
    String serverId = server.get("id").asText();
    assertThat(server.get("status").asText()).isEqualTo("ACTIVE");
    assertThat(json(openstack("acme", "server", "list", "-f", "json")).findValuesAsText("ID"))
        .containsExactly(serverId);
    assertThat(openstack("acme", "server", "show", adminServer).exit()).isNotZero();
    List<String> images =
        json(openstack("acme", "image", "list", "-f", "json")).findValuesAsText("ID");
    assertThat(images).contains(cloud.imageId).doesNotContain(privateImage);

    // sharing: a shared image reaches the tenant once it accepts; an image made for the tenant
    String shared =
        json(openstack(
                "virga",
                "image",
                "create",
                "--shared",
                "--disk-format",
                "raw",
                "--container-format",
                "bare",
                "--file",
                raw.toString(),
                "shared-img",
                "-f",
                "json"))
            .get("id")
            .asText();
    ok(openstack("virga", "image", "add", "project", shared, "acme"));
    assertThat(json(openstack("acme", "image", "list", "-f", "json")).findValuesAsText("ID"))
        .doesNotContain(shared);
    ok(openstack("acme", "image", "set", "--accept", shared));
    assertThat(json(openstack("acme", "image", "list", "-f", "json")).findValuesAsText("ID"))
        .contains(shared);
    String forAcme =
        json(openstack(
                "virga",
                "image",
                "create",
                "--project",
                "acme",
                "--disk-format",
                "raw",
                "--container-format",
                "bare",
                "--file",
                raw.toString(),
                "for-acme",
                "-f",
                "json"))
            .get("id")
            .asText();
    assertThat(
            json(openstack("acme", "image", "show", forAcme, "-f", "json")).get("owner").asText())
        .isEqualTo(project);

    // admin calls are refused (403)
    for (String[] call :
        List.of(
            new String[] {"hypervisor", "list"},
            new String[] {"user", "list"},
            new String[] {"project", "create", "other"},
            new String[] {"usage", "list"})) {
      Result r = openstack("acme", call);
      assertThat(r.exit()).as(String.join(" ", call)).isNotZero();
      assertThat(r.err()).as(String.join(" ", call)).contains("403");
    }

    // "project list" falls back to the user's own projects on 403, as against Keystone
    assertThat(json(openstack("acme", "project", "list", "-f", "json")).findValuesAsText("Name"))
        .containsExactly("acme");

    // usage of their own project: one server, running for some time
    JsonNode usage = json(openstack("acme", "usage", "show", "-f", "json"));
    // -f json prints the machine-readable values: the server usages themselves
    assertThat(usage.get("Servers")).hasSize(1);
    assertThat(usage.at("/Servers/0/instance_id").asText()).isEqualTo(serverId);
    assertThat(usage.get("RAM MB-Hours").asDouble()).isPositive();
    JsonNode all = json(openstack("virga", "usage", "list", "-f", "json"));
    assertThat(all.findValuesAsText("Project")).contains(project);

    // the operator's view of the host: allocations (512 MB reserved + two 128 MB servers), uptime
    JsonNode host = json(openstack("virga", "hypervisor", "show", "fake-host", "-f", "json"));
    assertThat(host.get("memory_mb_used").asInt()).isEqualTo(512 + 2 * 128);
    assertThat(host.get("vcpus_used").asInt()).isEqualTo(2);
    assertThat(host.get("running_vms").asInt()).isEqualTo(2);
    assertThat(host.get("load_average").asText()).as("uptime parsed by the CLI").isNotBlank();

    // the user changes their own password; the old one no longer works
    ok(
        openstack(
            "acme",
            "user",
            "password",
            "set",
            "--password",
            "alice-new",
            "--original-password",
            "alice-pw"));
    assertThat(openstack("acme", "server", "list").exit()).isNotZero();
    writeClouds("alice-new");
    ok(openstack("acme", "server", "list"));

    // the project cannot go while it owns a server
    Result refused = openstack("virga", "project", "delete", "acme");
    assertThat(refused.exit()).isNotZero();
    assertThat(refused.err()).contains("still owns 1 server");

    // disabled: the next call is 401
    ok(openstack("virga", "user", "set", "--disable", "alice"));
    Result denied = openstack("acme", "server", "list");
    assertThat(denied.exit()).isNotZero();
    assertThat(denied.err()).contains("401");

    ok(openstack("virga", "server", "delete", "--wait", serverId));
    Result owner = openstack("virga", "project", "delete", "acme");
    assertThat(owner.exit()).isNotZero();
    assertThat(owner.err()).contains("1 image(s)");
    ok(openstack("virga", "image", "delete", forAcme));
    ok(openstack("virga", "project", "delete", "acme"));
    ok(openstack("virga", "user", "delete", "alice"));
    assertThat(json(openstack("virga", "project", "list", "-f", "json")).findValuesAsText("Name"))
        .doesNotContain("acme");
    ok(openstack("virga", "server", "delete", "--wait", adminServer));
  }
}
