package io.virga.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.virga.core.Config;
import io.virga.db.Database;
import io.virga.image.ImageService;
import java.net.http.HttpRequest;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Glance's sharing and admin features as glanceclient/openstackclient send them: image members,
 * shared visibility, deactivate/reactivate, an admin setting the owner, the v2.0 JSON patch.
 */
class ImageSharingRoutesTest {
  static final String PATCH = "application/openstack-images-v2.1-json-patch";
  static final String PATCH_20 = "application/openstack-images-v2.0-json-patch";
  @TempDir Path home;
  Database db;
  ApiServer server;
  ApiTestClient client;
  String admin;
  String demo;
  String other;
  String demoProject;
  String otherProject;

  @BeforeEach
  void setUp() {
    Config config = config(Map.of("home", home.toString(), "port", "0", "password_hash_cost", "4"));
    db = Database.open(config);
    server = ApiServer.builder(config, db).images(new ImageService(db, config)).start();
    IdentityService id = server.identity();
    demoProject = id.bootstrap("a", "d").demoProjectId();
    var op = id.ensureProject("other", "");
    otherProject = op.id();
    var olga = id.ensureUser("olga", "o", Optional.of(op.id()));
    id.grant(olga.id(), op.id(), "member");
    client = new ApiTestClient(server.url());
    admin = client.token("admin", "a", "admin");
    demo = client.token("demo", "d", "demo");
    other = client.token("olga", "o", "other");
  }

  /** The configuration tests run with; the PostgreSQL IT points it at a real server. */
  Config config(Map<String, String> values) {
    return Config.of(values);
  }

  @AfterEach
  void tearDown() {
    server.close();
    db.close();
  }

  String create(String token, String json) {
    ApiTestClient.Response r = client.post("/image/v2/images", token, json);
    assertThat(r.status()).as(r.text()).isEqualTo(201);
    return r.json().get("id").asText();
  }

  ApiTestClient.Response put(String path, String token, String json) {
    return client.send(
        "PUT", path, token, "application/json", HttpRequest.BodyPublishers.ofString(json));
  }

  ApiTestClient.Response upload(String id, String token) {
    return client.send(
        "PUT",
        "/image/v2/images/" + id + "/file",
        token,
        "application/octet-stream",
        HttpRequest.BodyPublishers.ofByteArray(new byte[4096]));
  }

  @Test
  void aSharedImageReachesAMemberThatAccepts() {
    String id =
        create(
            demo,
            "{\"name\": \"s\", \"disk_format\": \"raw\", \"container_format\": \"bare\","
                + " \"visibility\": \"shared\"}");
    String members = "/image/v2/images/" + id + "/members";
    assertThat(client.get("/image/v2/images/" + id, other).status()).isEqualTo(404);
    ApiTestClient.Response added =
        client.post(members, demo, "{\"member\": \"" + otherProject + "\"}");
    assertThat(added.status()).as(added.text()).isEqualTo(200);
    assertThat(added.json().get("status").asText()).isEqualTo("pending");
    assertThat(client.post(members, demo, "{\"member\": \"" + otherProject + "\"}").status())
        .isEqualTo(409);
    assertThat(client.post(members, other, "{\"member\": \"x\"}").status()).isEqualTo(403);

    // pending: the member can show the image but does not list it yet
    assertThat(client.get("/image/v2/images/" + id, other).status()).isEqualTo(200);
    assertThat(client.get("/image/v2/images", other).json().findValuesAsText("id"))
        .doesNotContain(id);
    assertThat(put(members + "/" + otherProject, demo, "{\"status\": \"accepted\"}").status())
        .as("only the member accepts")
        .isEqualTo(403);
    assertThat(put(members + "/" + otherProject, other, "{\"status\": \"maybe\"}").status())
        .isEqualTo(400);
    ApiTestClient.Response accepted =
        put(members + "/" + otherProject, other, "{\"status\": \"accepted\"}");
    assertThat(accepted.status()).isEqualTo(200);
    assertThat(accepted.json().get("status").asText()).isEqualTo("accepted");
    assertThat(client.get("/image/v2/images", other).json().findValuesAsText("id")).contains(id);
    assertThat(client.get(members, demo).json().get("members")).hasSize(1);
    assertThat(client.get(members, other).json().get("members")).hasSize(1);
    // the demo's third party never sees it
    assertThat(client.delete(members + "/" + otherProject, other).status()).isEqualTo(403);
    assertThat(client.delete(members + "/" + otherProject, demo).status()).isEqualTo(204);
    assertThat(client.get("/image/v2/images/" + id, other).status()).isEqualTo(404);

    String priv =
        create(demo, "{\"name\": \"p\", \"disk_format\": \"raw\", \"container_format\": \"bare\"}");
    assertThat(
            client
                .post("/image/v2/images/" + priv + "/members", demo, "{\"member\": \"x\"}")
                .status())
        .as("only shared images have members")
        .isEqualTo(403);
  }

  @Test
  void deactivatedImagesCannotBeDownloadedButByAdmins() {
    String id =
        create(demo, "{\"name\": \"d\", \"disk_format\": \"raw\", \"container_format\": \"bare\"}");
    String deactivate = "/image/v2/images/" + id + "/actions/deactivate";
    assertThat(client.post(deactivate, demo, "").status()).as("queued").isEqualTo(400);
    assertThat(upload(id, demo).status()).isEqualTo(204);
    assertThat(client.post(deactivate, other, "").status()).isEqualTo(404);
    assertThat(client.post(deactivate, demo, "").status()).isEqualTo(204);
    assertThat(client.post(deactivate, demo, "").status()).as("no-op").isEqualTo(204);
    assertThat(client.get("/image/v2/images/" + id, demo).json().get("status").asText())
        .isEqualTo("deactivated");
    assertThat(client.get("/image/v2/images/" + id + "/file", demo).status()).isEqualTo(403);
    assertThat(client.get("/image/v2/images/" + id + "/file", admin).status()).isEqualTo(200);
    assertThat(client.post("/image/v2/images/" + id + "/actions/reactivate", demo, "").status())
        .isEqualTo(204);
    assertThat(client.get("/image/v2/images/" + id + "/file", demo).status()).isEqualTo(200);
  }

  @Test
  void anAdminSetsTheOwnerOthersCannot() {
    String id =
        create(
            admin,
            "{\"name\": \"for-demo\", \"disk_format\": \"raw\", \"container_format\": \"bare\","
                + " \"owner\": \""
                + demoProject
                + "\"}");
    assertThat(client.get("/image/v2/images/" + id, demo).json().get("owner").asText())
        .isEqualTo(demoProject);
    assertThat(
            client
                .post(
                    "/image/v2/images",
                    demo,
                    "{\"name\": \"x\", \"owner\": \"" + otherProject + "\"}")
                .status())
        .isEqualTo(403);
    ApiTestClient.Response moved =
        client.patch(
            "/image/v2/images/" + id,
            admin,
            PATCH,
            "[{\"op\": \"replace\", \"path\": \"/owner\", \"value\": \"" + otherProject + "\"}]");
    assertThat(moved.status()).as(moved.text()).isEqualTo(200);
    assertThat(client.get("/image/v2/images/" + id, other).json().get("owner").asText())
        .isEqualTo(otherProject);
    assertThat(client.get("/image/v2/images/" + id, demo).status()).isEqualTo(404);
    assertThat(
            client
                .patch(
                    "/image/v2/images/" + id,
                    other,
                    PATCH,
                    "[{\"op\": \"replace\", \"path\": \"/owner\", \"value\": \""
                        + demoProject
                        + "\"}]")
                .status())
        .isEqualTo(403);
  }

  @Test
  void theOlderJsonPatchMediaTypeIsAccepted() {
    String id =
        create(
            demo, "{\"name\": \"old\", \"disk_format\": \"raw\", \"container_format\": \"bare\"}");
    ApiTestClient.Response r =
        client.patch(
            "/image/v2/images/" + id,
            demo,
            PATCH_20,
            "[{\"replace\": \"/name\", \"value\": \"renamed\"},"
                + " {\"add\": \"/hw_disk_bus\", \"value\": \"virtio\"}]");
    assertThat(r.status()).as(r.text()).isEqualTo(200);
    assertThat(r.json().get("name").asText()).isEqualTo("renamed");
    assertThat(r.json().get("hw_disk_bus").asText()).isEqualTo("virtio");
    assertThat(
            client
                .patch(
                    "/image/v2/images/" + id,
                    demo,
                    PATCH_20,
                    "[{\"replace\": \"/name\", \"remove\": \"/x\"}]")
                .status())
        .isEqualTo(400);
  }
}
