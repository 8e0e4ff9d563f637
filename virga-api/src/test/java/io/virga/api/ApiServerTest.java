package io.virga.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.virga.core.Config;
import io.virga.core.ConflictException;
import io.virga.db.Database;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ApiServerTest {
  @TempDir Path home;
  Database db;
  ApiServer server;
  ApiTestClient client;
  String demo;
  String reader;

  @BeforeEach
  void setUp() {
    Config config =
        Config.of(
            Map.of(
                "home",
                home.toString(),
                "port",
                "0",
                "password_hash_cost",
                "4",
                "max_request_body_bytes",
                "1000"));
    db = Database.open(config);
    server =
        ApiServer.builder(config, db)
            .routes(
                r -> {
                  r.post(
                      "/test/echo",
                      ctx -> {
                        ObjectNode body = ApiJson.object(ctx);
                        long n = ApiJson.optInteger(body, "n").orElse(0L);
                        ctx.json(Map.of("n", n, "project", AuthContext.of(ctx).project()));
                      });
                  r.get(
                      "/test/conflict",
                      ctx -> {
                        throw new ConflictException("busy");
                      });
                  r.get(
                      "/test/bug",
                      ctx -> {
                        throw new IllegalStateException("boom");
                      });
                  r.get(
                      "/test/version",
                      ctx -> ctx.result(Microversion.COMPUTE.negotiate(ctx).toString()));
                  r.get("/test/public", ctx -> ctx.result("ok"), ApiServer.Access.PUBLIC);
                })
            .start();
    var b = server.identity().bootstrap("a", "d");
    server.identity().ensureUser("viewer", "v", java.util.Optional.empty());
    server
        .identity()
        .grant(
            server.identity().repository().findUserByName("default", "viewer").orElseThrow().id(),
            b.demoProjectId(),
            "reader");
    client = new ApiTestClient(server.url());
    demo = client.token("demo", "d", "demo");
    reader = client.token("viewer", "v", "demo");
  }

  @AfterEach
  void tearDown() {
    server.close();
    db.close();
  }

  @Test
  void handlersSeeTheCallerAndTypedFields() {
    ApiTestClient.Response r = client.post("/test/echo", demo, "{\"n\": 5}");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.json().get("n").asInt()).isEqualTo(5);
    assertThat(r.json().get("project").asText()).isNotBlank();
  }

  @Test
  void malformedAndWronglyTypedBodiesAre400() {
    ApiTestClient.Response r = client.post("/test/echo", demo, "{\"n\": ");
    assertThat(r.status()).isEqualTo(400);
    assertThat(r.json().at("/badRequest/message").asText()).contains("Malformed request body");
    r = client.post("/test/echo", demo, "{\"n\": \"five\"}");
    assertThat(r.status()).isEqualTo(400);
    assertThat(r.json().at("/badRequest/message").asText()).contains("'n' must be an integer");
    assertThat(client.post("/test/echo", demo, "[1]").status()).isEqualTo(400);
    assertThat(client.post("/test/echo", demo, "").status()).isEqualTo(400);
  }

  @Test
  void oversizeBodiesAre413EvenWhenChunked() {
    String big = "{\"pad\": \"" + "x".repeat(2000) + "\"}";
    ApiTestClient.Response r = client.post("/test/echo", demo, big);
    assertThat(r.status()).isEqualTo(413);
    assertThat(r.json().at("/overLimit/code").asInt()).isEqualTo(413);
    r =
        client.send(
            "POST",
            "/test/echo",
            demo,
            "application/json",
            java.net.http.HttpRequest.BodyPublishers.ofInputStream(
                () -> new ByteArrayInputStream(big.getBytes())));
    assertThat(r.status()).isEqualTo(413);
  }

  @Test
  void faultsAreMappedOnceAndUnknownRoutesAre404() {
    ApiTestClient.Response r = client.get("/test/conflict", demo);
    assertThat(r.status()).isEqualTo(409);
    assertThat(r.json().at("/conflictingRequest/message").asText()).isEqualTo("busy");
    r = client.get("/no/such/thing", demo);
    assertThat(r.status()).isEqualTo(404);
    assertThat(r.json().at("/itemNotFound/code").asInt()).isEqualTo(404);
    assertThat(r.header("X-Openstack-Request-Id")).startsWith("req-");
    r = client.get("/test/bug", demo);
    assertThat(r.status()).isEqualTo(500);
    assertThat(r.json().at("/computeFault/message").asText())
        .contains(r.header("X-Openstack-Request-Id"));
    assertThat(client.delete("/test/public", demo).status()).isEqualTo(405);
  }

  @Test
  void authIsRequiredExceptOnPublicRoutesAndReadersCannotWrite() {
    assertThat(client.get("/test/conflict", null).status()).isEqualTo(401);
    assertThat(client.get("/test/public", null).status()).isEqualTo(200);
    assertThat(client.get("/test/version", reader).status()).isEqualTo(200);
    ApiTestClient.Response r = client.post("/test/echo", reader, "{}");
    assertThat(r.status()).isEqualTo(403);
    assertThat(r.json().at("/forbidden/code").asInt()).isEqualTo(403);
    // identity calls stay open to readers: they may revoke their own token
    var revoke =
        java.net.http.HttpRequest.newBuilder(
                java.net.URI.create(server.url() + "/identity/v3/auth/tokens"))
            .header("X-Auth-Token", reader)
            .header("X-Subject-Token", reader)
            .DELETE()
            .build();
    try {
      assertThat(
              java.net.http.HttpClient.newHttpClient()
                  .send(revoke, java.net.http.HttpResponse.BodyHandlers.discarding())
                  .statusCode())
          .isEqualTo(204);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    assertThat(client.get("/test/version", reader).status()).isEqualTo(401);
  }

  @Test
  void microversionHeadersAreNegotiated() {
    var http = java.net.http.HttpClient.newHttpClient();
    java.util.function.BiFunction<String, String, java.net.http.HttpResponse<String>> get =
        (h, v) -> {
          var b =
              java.net.http.HttpRequest.newBuilder(
                      java.net.URI.create(server.url() + "/test/version"))
                  .header("X-Auth-Token", demo);
          if (h != null) {
            b.header(h, v);
          }
          try {
            return http.send(b.build(), java.net.http.HttpResponse.BodyHandlers.ofString());
          } catch (Exception e) {
            throw new AssertionError(e);
          }
        };
    assertThat(get.apply(null, null).body()).isEqualTo("2.1");
    var r = get.apply("OpenStack-API-Version", "compute 2.37");
    assertThat(r.body()).isEqualTo("2.37");
    assertThat(r.headers().firstValue("OpenStack-API-Version")).contains("compute 2.37");
    assertThat(get.apply("X-OpenStack-Nova-API-Version", "2.10").body()).isEqualTo("2.10");
    assertThat(get.apply("OpenStack-API-Version", "compute latest").body())
        .isEqualTo(Microversion.COMPUTE.max().toString());
    assertThat(get.apply("OpenStack-API-Version", "compute 2.999").statusCode()).isEqualTo(406);
    assertThat(get.apply("OpenStack-API-Version", "compute two").statusCode()).isEqualTo(400);
  }

  @Test
  void metricsCountRequestsByRoute() {
    client.get("/test/public", null);
    String metrics = client.get("/metrics", null).text();
    assertThat(metrics)
        .contains(
            "virga_api_requests_seconds_count{method=\"GET\",route=\"/test/public\",status=\"200\"}");
  }
}
