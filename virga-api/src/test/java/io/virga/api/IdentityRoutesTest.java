package io.virga.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.core.Config;
import io.virga.db.Database;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdentityRoutesTest {
  @TempDir Path home;
  Database db;
  ApiServer server;
  ApiTestClient client;

  void start(Map<String, String> extra) {
    Map<String, String> values =
        new HashMap<>(Map.of("home", home.toString(), "port", "0", "password_hash_cost", "4"));
    values.putAll(extra);
    Config config = config(values);
    db = Database.open(config);
    server = ApiServer.builder(config, db).start();
    server.identity().bootstrap("admin-secret", "demo-secret");
    client = new ApiTestClient(server.url());
  }

  /** The configuration tests run with; the PostgreSQL IT points it at a real server. */
  Config config(Map<String, String> values) {
    return Config.of(values);
  }

  @BeforeEach
  void setUp() {
    start(Map.of());
  }

  @AfterEach
  void tearDown() {
    server.close();
    db.close();
  }

  @Test
  void passwordAuthIssuesAScopedTokenWithCatalog() {
    ApiTestClient.Response r =
        client.post(
            "/identity/v3/auth/tokens",
            null,
            ApiTestClient.passwordAuth("demo", "demo-secret", "demo"));
    assertThat(r.status()).isEqualTo(201);
    assertThat(r.header("X-Subject-Token")).hasSizeGreaterThan(40);
    assertThat(r.header("X-Openstack-Request-Id")).startsWith("req-");
    JsonNode token = r.json().get("token");
    assertThat(token.get("user").get("name").asText()).isEqualTo("demo");
    assertThat(token.get("project").get("name").asText()).isEqualTo("demo");
    assertThat(token.get("project").get("domain").get("id").asText()).isEqualTo("default");
    assertThat(token.get("expires_at").asText())
        .matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}Z");
    assertThat(token.get("roles").findValuesAsText("name"))
        .containsExactlyInAnyOrder("member", "reader");
    JsonNode catalog = token.get("catalog");
    assertThat(catalog.findValuesAsText("type"))
        .containsExactlyInAnyOrder("identity", "compute", "image");
    for (JsonNode service : catalog) {
      assertThat(service.get("endpoints")).hasSize(3);
      for (JsonNode e : service.get("endpoints")) {
        assertThat(e.has("interface") && e.has("url") && e.has("region") && e.has("region_id"))
            .isTrue();
      }
    }
    assertThat(catalog.findValuesAsText("url"))
        .contains(
            server.url() + "/identity/v3", server.url() + "/compute/v2.1", server.url() + "/image");
  }

  @Test
  void userAndProjectByIdWork() {
    var b = server.identity().bootstrap("admin-secret", "demo-secret");
    String body =
        """
        {"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": "%s", "password": "admin-secret"}}},
         "scope": {"project": {"id": "%s"}}}}
        """
            .formatted(b.adminUserId(), b.adminProjectId());
    ApiTestClient.Response r = client.post("/identity/v3/auth/tokens", null, body);
    assertThat(r.status()).isEqualTo(201);
    assertThat(r.json().at("/token/roles").findValuesAsText("name")).contains("admin");
  }

  @Test
  void badPasswordUnknownUserAndForeignProjectAre401() {
    assertThat(
            client
                .post(
                    "/identity/v3/auth/tokens",
                    null,
                    ApiTestClient.passwordAuth("demo", "wrong", "demo"))
                .status())
        .isEqualTo(401);
    ApiTestClient.Response r =
        client.post(
            "/identity/v3/auth/tokens", null, ApiTestClient.passwordAuth("nobody", "x", "demo"));
    assertThat(r.status()).isEqualTo(401);
    // Keystone's fault shape, which keystoneauth reads
    assertThat(r.json().get("error").get("code").asInt()).isEqualTo(401);
    assertThat(r.json().get("error").get("title").asText()).isEqualTo("Unauthorized");
    assertThat(
            client
                .post(
                    "/identity/v3/auth/tokens",
                    null,
                    ApiTestClient.passwordAuth("demo", "demo-secret", "admin"))
                .status())
        .isEqualTo(401);
  }

  @Test
  void validationRevocationAndMissingTokens() {
    String demo = client.token("demo", "demo-secret", "demo");
    String admin = client.token("admin", "admin-secret", "admin");
    ApiTestClient.Response check =
        client.send(
            "GET",
            "/identity/v3/auth/tokens",
            demo,
            null,
            java.net.http.HttpRequest.BodyPublishers.noBody());
    assertThat(check.status()).isEqualTo(400); // no X-Subject-Token
    var http = java.net.http.HttpClient.newHttpClient();
    var req =
        java.net.http.HttpRequest.newBuilder(
                java.net.URI.create(server.url() + "/identity/v3/auth/tokens"))
            .header("X-Auth-Token", admin)
            .header("X-Subject-Token", demo)
            .GET()
            .build();
    try {
      var resp = http.send(req, java.net.http.HttpResponse.BodyHandlers.ofString());
      assertThat(resp.statusCode()).isEqualTo(200);
      assertThat(resp.body()).contains("\"name\":\"demo\"");
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    assertThat(client.get("/identity/v3/projects", null).status()).isEqualTo(401);
    assertThat(client.get("/identity/v3/projects", "not-a-token").status()).isEqualTo(401);
    assertThat(client.get("/identity/v3/projects", demo).status()).isEqualTo(403);
    JsonNode projects = client.get("/identity/v3/projects", admin).json();
    assertThat(projects.get("projects").findValuesAsText("name")).contains("admin", "demo");
    assertThat(
            client
                .get("/identity/v3/auth/projects", demo)
                .json()
                .get("projects")
                .findValuesAsText("name"))
        .containsExactly("demo");
    assertThat(server.identity().revoke(demo)).isTrue();
    assertThat(client.get("/identity/v3/auth/projects", demo).status()).isEqualTo(401);
  }

  @Test
  void tokensExpire() throws Exception {
    tearDown();
    start(Map.of("token_expiration", "1"));
    String demo = client.token("demo", "demo-secret", "demo");
    assertThat(client.get("/identity/v3/auth/projects", demo).status()).isEqualTo(200);
    Thread.sleep(1100);
    ApiTestClient.Response r = client.get("/identity/v3/auth/projects", demo);
    assertThat(r.status()).isEqualTo(401);
    assertThat(r.header("WWW-Authenticate")).contains("/identity");
  }

  @Test
  void versionDocumentsArePublic() {
    JsonNode v3 = client.get("/identity/v3", null).json();
    assertThat(v3.at("/version/id").asText()).isEqualTo("v3.14");
    assertThat(v3.at("/version/links/0/href").asText()).isEqualTo(server.url() + "/identity/v3/");
    ApiTestClient.Response root = client.get("/identity", null);
    assertThat(root.status()).isEqualTo(300);
    assertThat(root.json().at("/versions/values/0/id").asText()).isEqualTo("v3.14");
  }

  @Test
  void bootstrapIsIdempotentAndUpdatesPasswords() {
    var first = server.identity().bootstrap("admin-secret", "demo-secret");
    var second = server.identity().bootstrap("admin-secret", "demo-other");
    assertThat(second).isEqualTo(first);
    assertThat(
            client
                .post(
                    "/identity/v3/auth/tokens",
                    null,
                    ApiTestClient.passwordAuth("demo", "demo-secret", "demo"))
                .status())
        .isEqualTo(401);
    assertThat(client.token("demo", "demo-other", "demo")).isNotBlank();
    assertThat(server.identity().repository().listUsers()).hasSize(2);
  }

  @Test
  void tokenMethodRescopesWithoutExtendingTheSession() {
    var b = server.identity().bootstrap("admin-secret", "demo-secret");
    server.identity().grant(b.adminUserId(), b.demoProjectId(), "member");
    ApiTestClient.Response first =
        client.post(
            "/identity/v3/auth/tokens",
            null,
            ApiTestClient.passwordAuth("admin", "admin-secret", "admin"));
    String body =
        """
        {"auth": {"identity": {"methods": ["token"], "token": {"id": "%s"}},
         "scope": {"project": {"name": "demo", "domain": {"name": "Default"}}}}}
        """
            .formatted(first.header("X-Subject-Token"));
    ApiTestClient.Response r = client.post("/identity/v3/auth/tokens?nocatalog", null, body);
    assertThat(r.status()).as(r.text()).isEqualTo(201);
    assertThat(r.json().at("/token/project/name").asText()).isEqualTo("demo");
    assertThat(r.json().at("/token/methods").toString()).contains("password", "token");
    assertThat(r.json().at("/token").has("catalog")).isFalse();
    assertThat(r.json().at("/token/expires_at").asText())
        .isEqualTo(first.json().at("/token/expires_at").asText());
    // the demo user cannot re-scope into the admin project
    String demo = client.token("demo", "demo-secret", "demo");
    String intoAdmin =
        """
        {"auth": {"identity": {"methods": ["token"], "token": {"id": "%s"}},
         "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
        """
            .formatted(demo);
    assertThat(client.post("/identity/v3/auth/tokens", null, intoAdmin).status()).isEqualTo(401);
  }

  @Test
  void servicesAndEndpointsListTheCatalogForAdmins() {
    String admin = client.token("admin", "admin-secret", "admin");
    String demo = client.token("demo", "demo-secret", "demo");
    JsonNode endpoints = client.get("/identity/v3/endpoints", admin).json().get("endpoints");
    assertThat(endpoints).hasSize(9);
    assertThat(endpoints.findValuesAsText("url")).contains(server.url() + "/compute/v2.1");
    assertThat(
            client
                .get("/identity/v3/services", admin)
                .json()
                .get("services")
                .findValuesAsText("type"))
        .containsExactlyInAnyOrder("identity", "compute", "image");
    assertThat(client.get("/identity/v3/services", demo).status()).isEqualTo(403);
  }
}
