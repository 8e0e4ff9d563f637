package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.virt.FakeDriver;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** os-simple-tenant-usage as novaclient sends it, on virga up's wiring with a FakeDriver. */
class UsageApiTest {
  static final DateTimeFormatter NOVACLIENT =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSS").withZone(ZoneOffset.UTC);
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

  String window() {
    Instant now = Instant.now();
    return "start="
        + NOVACLIENT.format(now.minus(28, ChronoUnit.DAYS))
        + "&end="
        + NOVACLIENT.format(now.plus(1, ChronoUnit.DAYS));
  }

  @Test
  void aProjectSeesItsOwnUsageAndAnAdminEveryProjects() throws Exception {
    String id = cloud.boot(demo, "worker", "v1.tiny");
    JsonNode server = cloud.awaitStatus(demo, id, "ACTIVE");
    String project = server.get("tenant_id").asText();
    Thread.sleep(50);

    ComputeTestCloud.Reply show =
        cloud.get("/os-simple-tenant-usage/" + project + "?" + window(), demo);
    assertThat(show.status()).as(show.text()).isEqualTo(200);
    JsonNode usage = show.json().get("tenant_usage");
    assertThat(usage.get("tenant_id").asText()).isEqualTo(project);
    assertThat(usage.get("total_hours").asDouble()).isPositive();
    assertThat(usage.get("total_memory_mb_usage").asDouble())
        .isCloseTo(
            usage.get("total_hours").asDouble() * 128, org.assertj.core.data.Offset.offset(1e-6));
    JsonNode su = usage.get("server_usages").get(0);
    assertThat(su.get("instance_id").asText()).isEqualTo(id);
    assertThat(su.get("flavor").asText()).isEqualTo("v1.tiny");
    assertThat(su.get("state").asText()).isEqualTo("active");
    assertThat(su.get("ended_at").isNull()).isTrue();

    // a deleted server still counts, as terminated
    assertThat(cloud.call("DELETE", "/servers/" + id, demo, null, null).status()).isEqualTo(204);
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(20))
        .until(() -> cloud.get("/servers/" + id, demo).status() == 404);
    JsonNode after = cloud.get("/os-simple-tenant-usage/" + project + "?" + window(), demo).json();
    assertThat(after.at("/tenant_usage/server_usages/0/state").asText()).isEqualTo("terminated");
    assertThat(after.at("/tenant_usage/server_usages/0/ended_at").isNull()).isFalse();

    ComputeTestCloud.Reply list =
        cloud.get("/os-simple-tenant-usage?detailed=1&" + window(), admin);
    assertThat(list.status()).isEqualTo(200);
    assertThat(list.json().get("tenant_usages").findValuesAsText("tenant_id")).contains(project);
    ComputeTestCloud.Reply summary = cloud.get("/os-simple-tenant-usage?" + window(), admin);
    assertThat(summary.json().get("tenant_usages").get(0).has("server_usages")).isFalse();

    assertThat(cloud.get("/os-simple-tenant-usage?" + window(), demo).status()).isEqualTo(403);
    String adminProject = cloud.running.users().adminProjectId();
    assertThat(cloud.get("/os-simple-tenant-usage/" + adminProject, demo).status()).isEqualTo(403);
    // a period without instances is an empty object
    JsonNode empty =
        cloud
            .get(
                "/os-simple-tenant-usage/"
                    + project
                    + "?start=2001-01-01T00:00:00&end=2001-01-02T00:00:00",
                demo)
            .json();
    assertThat(empty.get("tenant_usage").isEmpty()).isTrue();
  }

  @Test
  void badPeriodsAre400() {
    String project = cloud.running.users().demoProjectId();
    assertThat(cloud.get("/os-simple-tenant-usage/" + project + "?start=yesterday", demo).status())
        .isEqualTo(400);
    assertThat(
            cloud
                .get(
                    "/os-simple-tenant-usage/"
                        + project
                        + "?start=2020-01-02T00:00:00&end=2020-01-01T00:00:00",
                    demo)
                .status())
        .isEqualTo(400);
  }

  @Test
  void pagesFromMicroversion240() {
    cloud.awaitStatus(demo, cloud.boot(demo, "a", "v1.tiny"), "ACTIVE");
    cloud.awaitStatus(demo, cloud.boot(demo, "b", "v1.tiny"), "ACTIVE");
    String project = cloud.running.users().demoProjectId();
    ComputeTestCloud.Reply first =
        cloud.call(
            "GET",
            "/os-simple-tenant-usage/" + project + "?limit=1&" + window(),
            demo,
            "2.40",
            null);
    assertThat(first.json().at("/tenant_usage/server_usages")).hasSize(1);
    String next = first.json().at("/tenant_usage_links/0/href").asText();
    assertThat(next).contains("marker=");
    ComputeTestCloud.Reply second =
        cloud.call(
            "GET", next.substring(next.indexOf("/os-simple-tenant-usage")), demo, "2.40", null);
    assertThat(second.json().at("/tenant_usage/server_usages/0/name").asText()).isEqualTo("b");
    // below 2.40 there is no paging
    ComputeTestCloud.Reply old =
        cloud.get("/os-simple-tenant-usage/" + project + "?limit=1&" + window(), demo);
    assertThat(old.json().at("/tenant_usage/server_usages")).hasSize(2);
  }
}
