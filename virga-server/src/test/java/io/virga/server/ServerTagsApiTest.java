package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.virga.virt.FakeDriver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Server tags (2.26) and instance actions of deleted servers (2.21), as novaclient sends them. */
class ServerTagsApiTest {
  @TempDir Path home;
  ComputeTestCloud cloud;
  String demo;
  String admin;

  @BeforeEach
  void start() {
    cloud = new ComputeTestCloud(home, new FakeDriver("fake-host", 8, 8192, 100), Map.of());
    demo = cloud.demo();
    admin = cloud.admin();
  }

  @AfterEach
  void stop() {
    cloud.close();
  }

  ComputeTestCloud.Reply at226(String method, String path, String body) {
    return cloud.call(method, path, demo, "2.26", body);
  }

  @Test
  void tagsAreListedAddedReplacedCheckedAndDeleted() {
    String id = cloud.boot(demo, "tagged", "v1.tiny");
    cloud.awaitStatus(demo, id, "ACTIVE");
    String tags = "/servers/" + id + "/tags";
    assertThat(cloud.call("GET", tags, demo, "2.25", null).status()).isEqualTo(404);
    assertThat(at226("GET", tags, null).json().get("tags")).isEmpty();
    ComputeTestCloud.Reply added = at226("PUT", tags + "/web", null);
    assertThat(added.status()).isEqualTo(201);
    assertThat(at226("PUT", tags + "/web", null).status()).isEqualTo(204);
    assertThat(at226("GET", tags + "/web", null).status()).isEqualTo(204);
    assertThat(at226("GET", tags + "/db", null).status()).isEqualTo(404);
    ComputeTestCloud.Reply replaced = at226("PUT", tags, "{\"tags\": [\"a\", \"b\", \"a\"]}");
    assertThat(replaced.status()).isEqualTo(200);
    assertThat(replaced.json().get("tags").toString()).isEqualTo("[\"a\",\"b\"]");
    assertThat(at226("GET", tags, null).json().get("tags").toString()).isEqualTo("[\"a\",\"b\"]");
    assertThat(at226("GET", "/servers/" + id, null).json().at("/server/tags").toString())
        .isEqualTo("[\"a\",\"b\"]");
    assertThat(at226("PUT", tags + "/x,y", null).status()).isEqualTo(400);
    assertThat(at226("PUT", tags, "{\"tags\": [\"" + "t".repeat(61) + "\"]}").status())
        .isEqualTo(400);
    StringBuilder many = new StringBuilder("{\"tags\": [");
    for (int i = 0; i < 51; i++) {
      many.append(i == 0 ? "" : ",").append("\"t").append(i).append('"');
    }
    assertThat(at226("PUT", tags, many + "]}").status()).isEqualTo(400);
    // list filters
    assertThat(cloud.call("GET", "/servers?tags=a,b", demo, "2.26", null).json().get("servers"))
        .hasSize(1);
    assertThat(
            cloud.call("GET", "/servers?not-tags-any=b", demo, "2.26", null).json().get("servers"))
        .isEmpty();
    assertThat(at226("DELETE", tags + "/a", null).status()).isEqualTo(204);
    assertThat(at226("DELETE", tags + "/a", null).status()).isEqualTo(404);
    assertThat(at226("DELETE", tags, null).status()).isEqualTo(204);
    assertThat(at226("GET", tags, null).json().get("tags")).isEmpty();
    // admins see every project's tags
    assertThat(cloud.call("GET", tags, admin, "2.26", null).status()).isEqualTo(200);
  }

  @Test
  void actionsOfADeletedServerAreListedFrom221() {
    String id = cloud.boot(demo, "gone", "v1.tiny");
    cloud.awaitStatus(demo, id, "ACTIVE");
    assertThat(cloud.call("DELETE", "/servers/" + id, demo, null, null).status()).isEqualTo(204);
    Awaitility.await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> cloud.get("/servers/" + id, demo).status() == 404);
    String path = "/servers/" + id + "/os-instance-actions";
    assertThat(cloud.call("GET", path, demo, "2.20", null).status()).isEqualTo(404);
    ComputeTestCloud.Reply list = cloud.call("GET", path, demo, "2.21", null);
    assertThat(list.status()).isEqualTo(200);
    assertThat(list.json().get("instanceActions").findValuesAsText("action"))
        .contains("create", "delete");
    String rid = list.json().get("instanceActions").get(0).get("request_id").asText();
    assertThat(cloud.call("GET", path + "/" + rid, demo, "2.21", null).status()).isEqualTo(200);
    String other = cloud.token("admin", "adminpw", "admin");
    assertThat(cloud.call("GET", path, other, "2.21", null).status()).isEqualTo(200);
  }
}
