package io.virga.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.core.Config;
import io.virga.core.ImageMeta;
import io.virga.db.Database;
import io.virga.image.ImageService;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageRoutesTest {
  static final String PATCH = "application/openstack-images-v2.1-json-patch";
  @TempDir Path home;
  Database db;
  ImageService images;
  ApiServer server;
  ApiTestClient client;
  String admin;
  String demo;
  String other;

  @BeforeEach
  void setUp() {
    Config config =
        config(
            Map.of(
                "home", home.toString(),
                "port", "0",
                "password_hash_cost", "4",
                "image_size_cap", "200000"));
    db = Database.open(config);
    images = new ImageService(db, config);
    server = ApiServer.builder(config, db).images(images).start();
    IdentityService id = server.identity();
    id.bootstrap("a", "d");
    var otherProject = id.ensureProject("other", "");
    var otherUser = id.ensureUser("olga", "o", Optional.of(otherProject.id()));
    id.grant(otherUser.id(), otherProject.id(), "member");
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

  ApiTestClient.Response upload(String token, String id, byte[] data) {
    return client.putChunked(
        "/image/v2/images/" + id + "/file",
        token,
        "application/octet-stream",
        new ByteArrayInputStream(data));
  }

  List<Path> storeFiles() throws Exception {
    try (Stream<Path> s = Files.list(home.resolve("images"))) {
      return s.toList();
    }
  }

  @Test
  void versionDocumentsAnswerAtImageAndV2() {
    ApiTestClient.Response r = client.get("/image", null);
    assertThat(r.status()).isEqualTo(300);
    assertThat(r.json().at("/versions/0/links/0/href").asText())
        .isEqualTo(server.url() + "/image/v2/");
    assertThat(client.get("/image/v2", null).json().at("/versions/0/status").asText())
        .isEqualTo("CURRENT");
  }

  @Test
  void createUploadShowDownloadWithChecksums() throws Exception {
    String id =
        create(
            demo,
            "{\"name\": \"cirros\", \"disk_format\": \"qcow2\", \"container_format\": \"bare\","
                + " \"min_disk\": 1, \"tags\": [\"t1\"], \"hw_disk_bus\": \"virtio\"}");
    JsonNode queued = client.get("/image/v2/images/" + id, demo).json();
    assertThat(queued.get("status").asText()).isEqualTo("queued");
    assertThat(queued.get("hw_disk_bus").asText()).isEqualTo("virtio");
    assertThat(queued.get("size").isNull()).isTrue();
    assertThat(client.get("/image/v2/images/" + id + "/file", demo).status()).isEqualTo(204);

    byte[] data = CraftedImages.qcow2(1 << 20, false);
    assertThat(upload(demo, id, data).status()).isEqualTo(204);
    JsonNode active = client.get("/image/v2/images/" + id, demo).json();
    assertThat(active.get("status").asText()).isEqualTo("active");
    assertThat(active.get("size").asLong()).isEqualTo(data.length);
    assertThat(active.get("virtual_size").asLong()).isEqualTo(1 << 20);
    assertThat(active.get("checksum").asText()).isEqualTo(CraftedImages.hex("MD5", data));
    assertThat(active.get("os_hash_algo").asText()).isEqualTo("sha512");
    assertThat(active.get("os_hash_value").asText()).isEqualTo(CraftedImages.hex("SHA-512", data));
    assertThat(active.get("tags")).hasSize(1);

    ApiTestClient.Response file = client.get("/image/v2/images/" + id + "/file", demo);
    assertThat(file.status()).isEqualTo(200);
    assertThat(file.body()).isEqualTo(data);
    assertThat(file.header("Content-MD5")).isEqualTo(CraftedImages.hex("MD5", data));
    assertThat(Files.readAllBytes(home.resolve("images").resolve(id))).isEqualTo(data);

    assertThat(upload(demo, id, data).status()).isEqualTo(409);

    ImageMeta meta = images.get(id);
    assertThat(meta.virtualSize()).isEqualTo(1 << 20);
    assertThat(meta.minDiskGb()).isEqualTo(1);
    assertThat(meta.property("hw_disk_bus")).contains("virtio");
    assertThat(images.dataPath(id)).hasBinaryContent(data);
  }

  @Test
  void jsonPatchAddsReplacesAndRemoves() {
    String id =
        create(demo, "{\"name\": \"a\", \"disk_format\": \"raw\", \"container_format\": \"bare\"}");
    String path = "/image/v2/images/" + id;
    ApiTestClient.Response r =
        client.patch(
            path,
            demo,
            PATCH,
            "[{\"op\": \"add\", \"path\": \"/os_distro\", \"value\": \"debian\"},"
                + " {\"op\": \"replace\", \"path\": \"/name\", \"value\": \"b\"},"
                + " {\"op\": \"replace\", \"path\": \"/min_ram\", \"value\": 64}]");
    assertThat(r.status()).as(r.text()).isEqualTo(200);
    assertThat(r.json().get("os_distro").asText()).isEqualTo("debian");
    assertThat(r.json().get("name").asText()).isEqualTo("b");
    assertThat(r.json().get("min_ram").asInt()).isEqualTo(64);
    r = client.patch(path, demo, PATCH, "[{\"op\": \"remove\", \"path\": \"/os_distro\"}]");
    assertThat(r.json().has("os_distro")).isFalse();
    assertThat(
            client
                .patch(path, demo, PATCH, "[{\"op\": \"remove\", \"path\": \"/os_distro\"}]")
                .status())
        .isEqualTo(409);
    assertThat(
            client
                .patch(
                    path,
                    demo,
                    PATCH,
                    "[{\"op\": \"replace\", \"path\": \"/status\", \"value\": \"active\"}]")
                .status())
        .isEqualTo(403);
    assertThat(
            client
                .patch(
                    path,
                    demo,
                    PATCH,
                    "[{\"op\": \"replace\", \"path\": \"/min_ram\", \"value\": \"lots\"}]")
                .status())
        .isEqualTo(400);
    assertThat(client.patch(path, demo, PATCH, "{\"op\": \"add\"}").status()).isEqualTo(400);
    assertThat(client.patch(path, demo, "application/json", "[]").status()).isEqualTo(415);
    // all or nothing: the failing second op leaves the first unapplied
    client.patch(
        path,
        demo,
        PATCH,
        "[{\"op\": \"add\", \"path\": \"/x\", \"value\": \"1\"}, {\"op\": \"add\", \"path\": \"/size\", \"value\": 1}]");
    assertThat(client.get(path, demo).json().has("x")).isFalse();
  }

  @Test
  void otherProjectsGet404AndNoLeakage() {
    String priv =
        create(
            demo, "{\"name\": \"mine\", \"disk_format\": \"raw\", \"container_format\": \"bare\"}");
    upload(demo, priv, new byte[4096]);
    String pub =
        create(
            admin,
            "{\"name\": \"pub\", \"disk_format\": \"raw\", \"container_format\": \"bare\", \"visibility\": \"public\"}");
    String path = "/image/v2/images/" + priv;
    assertThat(client.get(path, other).status()).isEqualTo(404);
    assertThat(client.get(path + "/file", other).status()).isEqualTo(404);
    assertThat(
            client
                .patch(
                    path,
                    other,
                    PATCH,
                    "[{\"op\": \"replace\", \"path\": \"/name\", \"value\": \"x\"}]")
                .status())
        .isEqualTo(404);
    assertThat(client.delete(path, other).status()).isEqualTo(404);
    assertThat(upload(other, priv, new byte[10]).status()).isEqualTo(404);
    assertThat(client.get(path, admin).status()).isEqualTo(200);

    List<String> seenByOther =
        client.get("/image/v2/images", other).json().get("images").findValuesAsText("id");
    assertThat(seenByOther).containsExactly(pub);
    assertThat(client.get("/image/v2/images", demo).json().get("images").findValuesAsText("id"))
        .containsExactlyInAnyOrder(pub, priv);
    assertThat(client.get(path, null).status()).isEqualTo(401);

    // public images are visible but not modifiable by others; only admins publicize
    assertThat(client.get("/image/v2/images/" + pub, other).status()).isEqualTo(200);
    assertThat(client.delete("/image/v2/images/" + pub, other).status()).isEqualTo(403);
    assertThat(
            client
                .post("/image/v2/images", demo, "{\"name\": \"p\", \"visibility\": \"public\"}")
                .status())
        .isEqualTo(403);
    assertThat(
            client
                .patch(
                    path,
                    demo,
                    PATCH,
                    "[{\"op\": \"replace\", \"path\": \"/visibility\", \"value\": \"public\"}]")
                .status())
        .isEqualTo(403);
    assertThat(client.get("/image/v2/images/not-a-uuid", demo).status()).isEqualTo(404);
  }

  @Test
  void malformedAndInvalidBodiesAre400() {
    assertThat(client.post("/image/v2/images", demo, "{\"name\": 5}").status()).isEqualTo(400);
    assertThat(client.post("/image/v2/images", demo, "{\"name\": ").status()).isEqualTo(400);
    ApiTestClient.Response r = client.post("/image/v2/images", demo, "{\"disk_format\": \"qed\"}");
    assertThat(r.status()).isEqualTo(400);
    assertThat(r.json().at("/badRequest/message").asText()).contains("qed");
    assertThat(client.post("/image/v2/images", demo, "{\"container_format\": \"zip\"}").status())
        .isEqualTo(400);
    assertThat(client.post("/image/v2/images", demo, "{\"min_disk\": -1}").status()).isEqualTo(400);
    assertThat(client.post("/image/v2/images", demo, "{\"os_type\": 7}").status()).isEqualTo(400);
    assertThat(client.post("/image/v2/images", demo, "{\"status\": \"active\"}").status())
        .isEqualTo(403);
    assertThat(client.post("/image/v2/images", demo, "{\"id\": \"nope\"}").status()).isEqualTo(400);
    assertThat(client.get("/image/v2/images?limit=x", demo).status()).isEqualTo(400);
    assertThat(client.get("/image/v2/images?sort_key=password", demo).status()).isEqualTo(400);
    String id = create(demo, "{\"name\": \"noformat\"}");
    assertThat(upload(demo, id, new byte[10]).status()).isEqualTo(400);
  }

  @Test
  void unsafeImagesAreRefusedAndTheirDataRemoved() throws Exception {
    String backed =
        create(
            demo, "{\"name\": \"b\", \"disk_format\": \"qcow2\", \"container_format\": \"bare\"}");
    ApiTestClient.Response r = upload(demo, backed, CraftedImages.qcow2(1 << 20, true));
    assertThat(r.status()).isEqualTo(400);
    assertThat(r.json().at("/badRequest/message").asText()).contains("backing file");
    assertThat(client.get("/image/v2/images/" + backed, demo).json().get("status").asText())
        .isEqualTo("queued");

    String lying =
        create(demo, "{\"name\": \"l\", \"disk_format\": \"raw\", \"container_format\": \"bare\"}");
    r = upload(demo, lying, CraftedImages.qcow2(1 << 20, false));
    assertThat(r.status()).isEqualTo(400);
    assertThat(r.json().at("/badRequest/message").asText()).contains("declared raw");
    assertThat(storeFiles()).isEmpty();

    // the refused image can take a correct upload afterwards
    assertThat(upload(demo, lying, new byte[8192]).status()).isEqualTo(204);
    assertThat(storeFiles()).hasSize(1);
  }

  @Test
  void uploadsOverTheCapAre413() throws Exception {
    String id =
        create(
            demo, "{\"name\": \"big\", \"disk_format\": \"raw\", \"container_format\": \"bare\"}");
    ApiTestClient.Response r = upload(demo, id, new byte[300000]);
    assertThat(r.status()).isEqualTo(413);
    assertThat(client.get("/image/v2/images/" + id, demo).json().get("status").asText())
        .isEqualTo("queued");
    assertThat(storeFiles()).isEmpty();
  }

  @Test
  void listPagesWithMarkersAndFilters() {
    Set<String> created = new HashSet<>();
    for (int i = 0; i < 5; i++) {
      created.add(
          create(
              demo,
              "{\"name\": \"img-"
                  + i
                  + "\", \"disk_format\": \""
                  + (i % 2 == 0 ? "raw" : "qcow2")
                  + "\"}"));
    }
    List<String> seen = new ArrayList<>();
    String next = "/v2/images?limit=2&sort=name:asc";
    int pages = 0;
    while (next != null && pages++ < 10) {
      JsonNode page = client.get("/image" + next, demo).json();
      page.get("images").forEach(i -> seen.add(i.get("name").asText()));
      next = page.has("next") ? page.get("next").asText() : null;
    }
    assertThat(seen).containsExactly("img-0", "img-1", "img-2", "img-3", "img-4");
    assertThat(pages).isEqualTo(3);
    JsonNode raw =
        client.get("/image/v2/images?disk_format=raw&sort_key=name&sort_dir=desc", demo).json();
    assertThat(raw.get("images").findValuesAsText("name"))
        .containsExactly("img-4", "img-2", "img-0");
    assertThat(client.get("/image/v2/images?name=img-3", demo).json().get("images")).hasSize(1);
    assertThat(client.get("/image/v2/images?marker=" + java.util.UUID.randomUUID(), demo).status())
        .isEqualTo(400);
  }

  @Test
  void protectedImagesRefuseDeletion() throws Exception {
    String id =
        create(
            demo,
            "{\"name\": \"p\", \"disk_format\": \"raw\", \"container_format\": \"bare\", \"protected\": true}");
    upload(demo, id, new byte[1024]);
    assertThat(client.delete("/image/v2/images/" + id, demo).status()).isEqualTo(403);
    client.patch(
        "/image/v2/images/" + id,
        demo,
        PATCH,
        "[{\"op\": \"replace\", \"path\": \"/protected\", \"value\": false}]");
    assertThat(client.delete("/image/v2/images/" + id, demo).status()).isEqualTo(204);
    assertThat(client.get("/image/v2/images/" + id, demo).status()).isEqualTo(404);
    assertThat(storeFiles()).isEmpty();
  }

  @Test
  void largeStreamedUploadIsNotBoundByTheJsonLimit() throws Exception {
    String id =
        create(demo, "{\"name\": \"r\", \"disk_format\": \"raw\", \"container_format\": \"bare\"}");
    byte[] data = new byte[150000];
    new java.util.Random(1).nextBytes(data);
    assertThat(upload(demo, id, data).status()).isEqualTo(204);
    try (InputStream in = client.download("/image/v2/images/" + id + "/file", demo)) {
      assertThat(in.readAllBytes()).isEqualTo(data);
    }
  }

  @Test
  void rawChunkedUploadWithConnectionCloseOverASocket() throws Exception {
    String id =
        create(
            demo, "{\"name\": \"sock\", \"disk_format\": \"raw\", \"container_format\": \"bare\"}");
    byte[] chunk = new byte[10000];
    java.util.Arrays.fill(chunk, (byte) 7);
    try (java.net.Socket s = new java.net.Socket("127.0.0.1", server.port())) {
      var out = s.getOutputStream();
      String head =
          "PUT /image/v2/images/"
              + id
              + "/file HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Auth-Token: "
              + demo
              + "\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
      out.write(head.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      for (int i = 0; i < 3; i++) {
        out.write(
            (Integer.toHexString(chunk.length) + "\r\n")
                .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        out.write(chunk);
        out.write("\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      }
      out.write("0\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      out.flush();
      String response =
          new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII);
      assertThat(response)
          .startsWith("HTTP/1.1 204")
          .containsIgnoringCase("X-Openstack-Request-Id: req-");
    }
    JsonNode image = client.get("/image/v2/images/" + id, demo).json();
    assertThat(image.get("size").asLong()).isEqualTo(30000);
    assertThat(image.get("status").asText()).isEqualTo("active");
  }
}
