package io.virga.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.core.Config;
import io.virga.db.Database;
import io.virga.image.ImageService;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Keystone v3 administration over real HTTP: projects, users, roles, grants, passwords. */
class IdentityAdminRoutesTest {
  @TempDir Path home;
  Database db;
  ApiServer server;
  ApiTestClient client;
  String admin;

  /** The configuration tests run with; the PostgreSQL IT points it at a real server. */
  Config config(Map<String, String> values) {
    return Config.of(values);
  }

  @BeforeEach
  void setUp() {
    Map<String, String> values =
        new HashMap<>(
            Map.of(
                "home",
                home.toString(),
                "port",
                "0",
                "password_hash_cost",
                "4",
                "max_password_length",
                "100"));
    Config config = config(values);
    db = Database.open(config);
    server = ApiServer.builder(config, db).images(new ImageService(db, config)).start();
    server.identity().bootstrap("admin-secret", "demo-secret");
    client = new ApiTestClient(server.url());
    admin = client.token("admin", "admin-secret", "admin");
  }

  @AfterEach
  void tearDown() {
    server.close();
    db.close();
  }

  String createProject(String name) {
    ApiTestClient.Response r =
        client.post(
            "/identity/v3/projects",
            admin,
            "{\"project\": {\"name\": \""
                + name
                + "\", \"description\": \"d\", \"domain_id\": \"default\"}}");
    assertThat(r.status()).as(r.text()).isEqualTo(201);
    return r.json().at("/project/id").asText();
  }

  String createUser(String name, String password, String project) {
    ApiTestClient.Response r =
        client.post(
            "/identity/v3/users",
            admin,
            "{\"user\": {\"name\": \"%s\", \"password\": \"%s\", \"default_project_id\": \"%s\", \"email\": \"x@example.org\"}}"
                .formatted(name, password, project));
    assertThat(r.status()).as(r.text()).isEqualTo(201);
    assertThat(r.text()).doesNotContain(password);
    return r.json().at("/user/id").asText();
  }

  String roleId(String name) {
    JsonNode roles = client.get("/identity/v3/roles?name=" + name, admin).json().get("roles");
    assertThat(roles).hasSize(1);
    return roles.get(0).get("id").asText();
  }

  void grant(String project, String user, String role) {
    ApiTestClient.Response r =
        client.send(
            "PUT",
            "/identity/v3/projects/%s/users/%s/roles/%s".formatted(project, user, roleId(role)),
            admin,
            null,
            java.net.http.HttpRequest.BodyPublishers.noBody());
    assertThat(r.status()).as(r.text()).isEqualTo(204);
  }

  int login(String user, String password, String project) {
    return client
        .post("/identity/v3/auth/tokens", null, ApiTestClient.passwordAuth(user, password, project))
        .status();
  }

  @Test
  void anAdminOnboardsATenantThatThenWorksAlone() {
    String project = createProject("acme");
    String user = createUser("alice", "alice-pw", project);
    assertThat(login("alice", "alice-pw", "acme")).as("no role yet").isEqualTo(401);
    grant(project, user, "member");
    String alice = client.token("alice", "alice-pw", "acme");

    JsonNode token = client.get("/identity/v3/auth/tokens", alice).json();
    assertThat(client.get("/identity/v3/projects/" + project, alice).status()).isEqualTo(200);
    assertThat(client.get("/identity/v3/users/" + user, alice).json().at("/user/email").asText())
        .isEqualTo("x@example.org");
    assertThat(client.get("/identity/v3/auth/projects", alice).json().findValuesAsText("name"))
        .containsExactly("acme");
    assertThat(token).isNotNull();
    // member is not admin: Keystone's defaults refuse administration
    assertThat(client.get("/identity/v3/projects", alice).status()).isEqualTo(403);
    assertThat(client.get("/identity/v3/users", alice).status()).isEqualTo(403);
    assertThat(
            client
                .post("/identity/v3/projects", alice, "{\"project\": {\"name\": \"x\"}}")
                .status())
        .isEqualTo(403);
    String demoProject =
        client.get("/identity/v3/projects?name=demo", admin).json().at("/projects/0/id").asText();
    assertThat(client.get("/identity/v3/projects/" + demoProject, alice).status()).isEqualTo(403);

    JsonNode assignments =
        client
            .get(
                "/identity/v3/role_assignments?scope.project.id=" + project + "&include_names=True",
                admin)
            .json()
            .get("role_assignments");
    assertThat(assignments).hasSize(1);
    assertThat(assignments.get(0).at("/role/name").asText()).isEqualTo("member");
    assertThat(assignments.get(0).at("/user/name").asText()).isEqualTo("alice");
    assertThat(assignments.get(0).at("/scope/project/name").asText()).isEqualTo("acme");

    ApiTestClient.Response dup =
        client.post("/identity/v3/projects", admin, "{\"project\": {\"name\": \"acme\"}}");
    assertThat(dup.status()).isEqualTo(409);
    assertThat(
            client.post("/identity/v3/users", admin, "{\"user\": {\"name\": \"alice\"}}").status())
        .isEqualTo(409);
  }

  @Test
  void disablingAUserOrProjectEndsItsTokensAndLogins() {
    String project = createProject("p1");
    String user = createUser("bob", "bob-pw", project);
    grant(project, user, "member");
    String bob = client.token("bob", "bob-pw", "p1");
    assertThat(client.get("/identity/v3/users/" + user, bob).status()).isEqualTo(200);

    assertThat(
            client
                .patch(
                    "/identity/v3/users/" + user,
                    admin,
                    "application/json",
                    "{\"user\": {\"enabled\": false}}")
                .status())
        .isEqualTo(200);
    assertThat(client.get("/identity/v3/users/" + user, bob).status()).isEqualTo(401);
    assertThat(login("bob", "bob-pw", "p1")).isEqualTo(401);
    client.patch(
        "/identity/v3/users/" + user, admin, "application/json", "{\"user\": {\"enabled\": true}}");
    bob = client.token("bob", "bob-pw", "p1");

    client.patch(
        "/identity/v3/projects/" + project,
        admin,
        "application/json",
        "{\"project\": {\"enabled\": false}}");
    assertThat(client.get("/identity/v3/projects/" + project, bob).status()).isEqualTo(401);
    assertThat(login("bob", "bob-pw", "p1")).isEqualTo(401);
    assertThat(
            client
                .patch(
                    "/identity/v3/projects/" + project,
                    admin,
                    "application/json",
                    "{\"project\": {\"enabled\": \"yes\"}}")
                .status())
        .as("Keystone's booleans are strict")
        .isEqualTo(400);
  }

  @Test
  void passwordsChangeByTheUserOrTheAdminAndRevokeTokens() {
    String project = createProject("p2");
    String user = createUser("carol", "carol-pw", project);
    grant(project, user, "member");
    String carol = client.token("carol", "carol-pw", "p2");
    String path = "/identity/v3/users/" + user + "/password";
    assertThat(
            client
                .post(
                    path,
                    carol,
                    "{\"user\": {\"password\": \"new\", \"original_password\": \"bad\"}}")
                .status())
        .isEqualTo(401);
    assertThat(
            client
                .post(
                    path,
                    carol,
                    "{\"user\": {\"password\": \"carol-new\", \"original_password\": \"carol-pw\"}}")
                .status())
        .isEqualTo(204);
    assertThat(client.get("/identity/v3/users/" + user, carol).status()).isEqualTo(401);
    assertThat(login("carol", "carol-pw", "p2")).isEqualTo(401);
    assertThat(login("carol", "carol-new", "p2")).isEqualTo(201);

    client.patch(
        "/identity/v3/users/" + user,
        admin,
        "application/json",
        "{\"user\": {\"password\": \"by-admin\"}}");
    assertThat(login("carol", "carol-new", "p2")).isEqualTo(401);
    assertThat(login("carol", "by-admin", "p2")).isEqualTo(201);
  }

  @Test
  void longPasswordsAre401AtLoginAndBoundedWhenSet() {
    String longPw = "x".repeat(80); // over bcrypt's 72 bytes, under max_password_length (100)
    assertThat(login("admin", longPw, "admin")).isEqualTo(401);
    assertThat(login("admin", "y".repeat(5000), "admin")).isEqualTo(401);
    String project = createProject("p3");
    ApiTestClient.Response tooLong =
        client.post(
            "/identity/v3/users",
            admin,
            "{\"user\": {\"name\": \"dave\", \"password\": \"%s\"}}".formatted("z".repeat(101)));
    assertThat(tooLong.status()).isEqualTo(400);
    assertThat(tooLong.text()).contains("max_password_length");
    String user = createUser("dave", longPw, project);
    grant(project, user, "reader");
    assertThat(login("dave", longPw, "p3")).isEqualTo(201);
    // bcrypt's limit made explicit: only the first 72 bytes count
    assertThat(Passwords.BCRYPT_MAX_BYTES).isEqualTo(72);
    assertThat(login("dave", "x".repeat(72) + "different", "p3")).isEqualTo(201);
    assertThat(login("dave", "x".repeat(71), "p3")).isEqualTo(401);
  }

  @Test
  void rolesGrantsAndRevokes() {
    String project = createProject("p4");
    String user = createUser("erin", "erin-pw", project);
    ApiTestClient.Response role =
        client.post("/identity/v3/roles", admin, "{\"role\": {\"name\": \"observer\"}}");
    assertThat(role.status()).isEqualTo(201);
    grant(project, user, "observer");
    grant(project, user, "reader");
    String grants = "/identity/v3/projects/%s/users/%s/roles".formatted(project, user);
    assertThat(client.get(grants, admin).json().findValuesAsText("name"))
        .containsExactlyInAnyOrder("observer", "reader");
    assertThat(client.get(grants + "/" + roleId("member"), admin).status()).isEqualTo(404);
    assertThat(client.delete(grants + "/" + roleId("observer"), admin).status()).isEqualTo(204);
    assertThat(client.delete(grants + "/" + roleId("observer"), admin).status()).isEqualTo(404);
    assertThat(client.delete("/identity/v3/roles/" + roleId("observer"), admin).status())
        .isEqualTo(204);
    assertThat(client.delete("/identity/v3/roles/" + roleId("admin"), admin).status())
        .isEqualTo(403);
    assertThat(client.get("/identity/v3/domains", admin).json().findValuesAsText("name"))
        .containsExactly("Default");
    String erin = client.token("erin", "erin-pw", "p4");
    assertThat(client.get("/identity/v3/domains/default", erin).status()).isEqualTo(200);
    assertThat(client.get("/identity/v3/roles", erin).status()).isEqualTo(403);
    assertThat(client.get("/identity/v3/role_assignments?user.id=" + user, erin).status())
        .isEqualTo(200);
    assertThat(client.delete("/identity/v3/users/" + user, admin).status()).isEqualTo(204);
    assertThat(client.get("/identity/v3/projects/" + project, erin).status()).isEqualTo(401);
  }

  @Test
  void aProjectOwningAnImageIsNotDeleted() {
    String project = createProject("p5");
    String user = createUser("frank", "frank-pw", project);
    grant(project, user, "member");
    String frank = client.token("frank", "frank-pw", "p5");
    ApiTestClient.Response image =
        client.post(
            "/image/v2/images",
            frank,
            "{\"name\": \"mine\", \"disk_format\": \"raw\", \"container_format\": \"bare\"}");
    assertThat(image.status()).as(image.text()).isEqualTo(201);
    ApiTestClient.Response refused = client.delete("/identity/v3/projects/" + project, admin);
    assertThat(refused.status()).isEqualTo(409);
    assertThat(refused.text()).contains("1 image(s)");
    assertThat(client.delete("/image/v2/images/" + image.json().get("id").asText(), frank).status())
        .isEqualTo(204);
    assertThat(client.delete("/identity/v3/projects/" + project, admin).status()).isEqualTo(204);
    assertThat(client.get("/identity/v3/projects/" + project, admin).status()).isEqualTo(404);
    assertThat(login("frank", "frank-pw", "p5")).isEqualTo(401);
  }
}
