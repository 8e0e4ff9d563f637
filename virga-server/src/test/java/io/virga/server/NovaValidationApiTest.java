package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.virt.FakeDriver;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bodies, query parameters and headers as Nova's schemas and WSGI layer take them. */
class NovaValidationApiTest {
  @TempDir Path home;
  ComputeTestCloud cloud;
  String admin;
  String demo;

  @BeforeEach
  void start() {
    cloud = new ComputeTestCloud(home, new FakeDriver("fake-host", 8, 8192, 100), Map.of());
    admin = cloud.admin();
    demo = cloud.demo();
  }

  @AfterEach
  void stop() {
    cloud.close();
  }

  ComputeTestCloud.Reply post(String path, String token, String version, String body) {
    return cloud.call("POST", path, token, version, body);
  }

  String serverBody(String nameJson, String extra) {
    return """
        {"server": {"name": %s, "imageRef": "%s", "flavorRef": "v1.tiny", "networks": "none"%s}}
        """
        .formatted(nameJson, cloud.ensureImage(), extra);
  }

  @Test
  void flavorsTakeNovasLooseTypes() {
    ComputeTestCloud.Reply r =
        post(
            "/flavors",
            admin,
            null,
            """
            {"flavor": {"name": "loose", "id": 4242, "ram": "512", "vcpus": "1", "disk": 1,
             "os-flavor-access:is_public": "True", "rxtx_factor": "1.5"}}
            """);
    assertThat(r.status()).as(r.text()).isEqualTo(200);
    assertThat(r.json().at("/flavor/id").asText()).isEqualTo("4242");
    assertThat(r.json().at("/flavor/ram").asInt()).isEqualTo(512);
    assertThat(r.json().at("/flavor/os-flavor-access:is_public").asBoolean()).isTrue();
    assertThat(cloud.get("/flavors/4242", demo).status()).isEqualTo(200);
    ComputeTestCloud.Reply priv =
        post(
            "/flavors",
            admin,
            null,
            "{\"flavor\": {\"name\": \"p\", \"ram\": 64, \"vcpus\": 1, \"disk\": 0,"
                + " \"os-flavor-access:is_public\": \"no\"}}");
    assertThat(priv.json().at("/flavor/os-flavor-access:is_public").asBoolean()).isFalse();
    for (String bad :
        List.of(
            "\"os-flavor-access:is_public\": \"maybe\"",
            "\"os-flavor-access:is_public\": 1",
            "\"ram\": \"12x\"",
            "\"id\": 1.5",
            "\"name\": \"a\\u0000b\"")) {
      String body =
          "{\"flavor\": {\"name\": \"b\", \"ram\": 64, \"vcpus\": 1, \"disk\": 0, "
              + bad.replace("\"name\": \"b\", ", "")
              + "}}";
      if (bad.startsWith("\"name\"")) {
        body = "{\"flavor\": {" + bad + ", \"ram\": 64, \"vcpus\": 1, \"disk\": 0}}";
      }
      assertThat(post("/flavors", admin, null, body).status()).as(bad).isEqualTo(400);
    }
  }

  @Test
  void accessIpsAreValidatedStoredAndUpdated() {
    ComputeTestCloud.Reply created =
        post(
            "/servers",
            demo,
            "2.37",
            serverBody(
                "\"ips\"", ", \"accessIPv4\": \"192.0.2.10\", \"accessIPv6\": \"2001:db8::a\""));
    assertThat(created.status()).as(created.text()).isEqualTo(202);
    String id = created.json().at("/server/id").asText();
    JsonNode shown = cloud.server(demo, id);
    assertThat(shown.get("accessIPv4").asText()).isEqualTo("192.0.2.10");
    assertThat(shown.get("accessIPv6").asText()).isEqualTo("2001:db8::a");
    for (String bad :
        List.of(
            "\"accessIPv4\": \"1.1.1.1.1\"",
            "\"accessIPv4\": \"256.1.1.1\"",
            "\"accessIPv6\": \"2001:db8:::1\"",
            "\"accessIPv6\": \"1.1.1.1\"",
            "\"accessIPv6\": \"fe80::1%eth0\"")) {
      assertThat(post("/servers", demo, "2.37", serverBody("\"x\"", ", " + bad)).status())
          .as(bad)
          .isEqualTo(400);
    }
    ComputeTestCloud.Reply updated =
        cloud.call(
            "PUT",
            "/servers/" + id,
            demo,
            "2.37",
            "{\"server\": {\"accessIPv4\": \"198.51.100.1\", \"name\": \"renamed\"}}");
    assertThat(updated.status()).as(updated.text()).isEqualTo(200);
    assertThat(updated.json().at("/server/accessIPv4").asText()).isEqualTo("198.51.100.1");
    assertThat(
            cloud
                .call(
                    "PUT",
                    "/servers/" + id,
                    demo,
                    "2.37",
                    "{\"server\": {\"accessIPv6\": \"zz::1\"}}")
                .status())
        .isEqualTo(400);
  }

  @Test
  void serverNamesFollowNovasPrintableRule() {
    for (String name :
        List.of(
            "\"a\\u0000b\"", "\"\\ud800\"", "\"tab\\tname\"", "\" lead\"", "\"\\u200b\"", "\"\"")) {
      ComputeTestCloud.Reply r = post("/servers", demo, "2.37", serverBody(name, ""));
      assertThat(r.status()).as(name + " " + r.text()).isEqualTo(400);
    }
    assertThat(
            post("/servers", demo, "2.37", serverBody("\"caf\\u00e9 \\u6f22\\u5b57 ok\"", ""))
                .status())
        .isEqualTo(202);
    ComputeTestCloud.Reply reservation =
        post(
            "/servers",
            demo,
            "2.37",
            serverBody("\"r\"", ", \"return_reservation_id\": \"True\", \"min_count\": \"1\""));
    assertThat(reservation.status()).as(reservation.text()).isEqualTo(202);
    assertThat(reservation.json().get("reservation_id").asText()).startsWith("r-");
  }

  @Test
  void aBodyThatIsNotJsonIs415() throws Exception {
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(cloud.url() + "/compute/v2.1/servers"))
                    .header("X-Auth-Token", demo)
                    .header("Content-Type", "text/plain")
                    .POST(HttpRequest.BodyPublishers.ofString(serverBody("\"plain\"", "")))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(415);
    assertThat(ComputeTestCloud.JSON.readTree(r.body()).has("badMediaType")).isTrue();
    assertThat(cloud.get("/servers", demo).json().get("servers")).isEmpty();
  }

  @Test
  void listTimeAndSortParametersAreValidated() {
    cloud.boot(demo, "bbb", "v1.tiny");
    cloud.boot(demo, "aaa", "v1.tiny");
    assertThat(cloud.get("/servers?changes-since=yesterday", demo).status()).isEqualTo(400);
    assertThat(cloud.get("/servers?sort_key=;drop", demo).status()).isEqualTo(400);
    assertThat(cloud.get("/servers?sort_key=display_name&sort_dir=sideways", demo).status())
        .isEqualTo(400);
    JsonNode sorted =
        cloud.get("/servers/detail?sort_key=display_name&sort_dir=asc", demo).json().get("servers");
    assertThat(sorted.findValuesAsText("name")).containsExactly("aaa", "bbb");
    assertThat(cloud.get("/servers?sort_key=vcpus", demo).status())
        .as("ignored key")
        .isEqualTo(200);
    assertThat(cloud.get("/servers?changes-since=2001-01-01T00:00:00Z", demo).json().get("servers"))
        .hasSize(2);
    assertThat(cloud.get("/servers?changes-since=2999-01-01T00:00:00", demo).json().get("servers"))
        .isEmpty();
  }

  @Test
  void computeResponsesCarryBothRequestIdsAndTheRootListsV20First() {
    HttpResponse<String> r = cloud.send("GET", "/compute/v2.1/flavors", demo, null, null);
    String rid = r.headers().firstValue("X-Openstack-Request-Id").orElseThrow();
    assertThat(r.headers().firstValue("X-Compute-Request-Id")).contains(rid);
    HttpResponse<String> doc = cloud.send("GET", "/compute/", null, null, null);
    assertThat(doc.statusCode()).isEqualTo(200);
    JsonNode list;
    try {
      list = ComputeTestCloud.JSON.readTree(doc.body()).get("versions");
    } catch (java.io.IOException e) {
      throw new AssertionError(e);
    }
    assertThat(list.findValuesAsText("id")).containsExactly("v2.0", "v2.1");
    assertThat(cloud.send("GET", "/compute/v2/", null, null, null).statusCode()).isEqualTo(200);
  }

  @Test
  void updateAt237AnswersOnlyTheBaseAttributes() {
    String id = cloud.boot(demo, "upd", "v1.tiny");
    cloud.awaitStatus(demo, id, "ACTIVE");
    JsonNode updated =
        cloud
            .call("PUT", "/servers/" + id, demo, "2.37", "{\"server\": {\"name\": \"x\"}}")
            .json()
            .get("server");
    assertThat(updated.get("name").asText()).isEqualTo("x");
    assertThat(updated.has("locked")).isTrue(); // 2.9
    assertThat(updated.has("description")).isTrue(); // 2.19
    assertThat(updated.has("tags")).isTrue(); // 2.26
    for (String key :
        List.of(
            "OS-EXT-STS:vm_state",
            "OS-EXT-AZ:availability_zone",
            "OS-SRV-USG:launched_at",
            "config_drive",
            "key_name",
            "os-extended-volumes:volumes_attached")) {
      assertThat(updated.has(key)).as(key).isFalse();
    }
    assertThat(cloud.server(demo, id).has("OS-EXT-STS:vm_state")).isTrue();
  }
}
