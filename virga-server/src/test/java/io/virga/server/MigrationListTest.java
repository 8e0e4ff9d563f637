package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** os-migrations: fields per microversion, filters, paging; and the 2.54–2.80 server changes. */
class MigrationListTest {
  @TempDir Path home;
  TwoHostCloud hosts;
  ComputeTestCloud cloud;
  String admin;
  String demo;
  String id;

  @BeforeEach
  void start() {
    hosts = new TwoHostCloud(home, Map.of());
    cloud = hosts.cloud;
    admin = cloud.admin();
    demo = cloud.demo();
    id = cloud.boot(demo, "m1", "v1.tiny");
    cloud.awaitStatus(demo, id, "ACTIVE");
    // three migrations: resize+confirm, migrate back+confirm, live migration
    assertThat(hosts.action(demo, id, null, "{\"resize\": {\"flavorRef\": \"1\"}}")).isEqualTo(202);
    cloud.awaitStatus(demo, id, "VERIFY_RESIZE");
    assertThat(hosts.action(demo, id, null, "{\"confirmResize\": null}")).isEqualTo(204);
    hosts.awaitMigration(admin, id, "confirmed");
    cloud.awaitStatus(demo, id, "ACTIVE");
    assertThat(hosts.action(admin, id, null, "{\"migrate\": null}")).isEqualTo(202);
    cloud.awaitStatus(demo, id, "VERIFY_RESIZE");
    assertThat(hosts.action(demo, id, null, "{\"revertResize\": null}")).isEqualTo(202);
    hosts.awaitMigration(admin, id, "reverted");
    cloud.awaitStatus(demo, id, "ACTIVE");
    assertThat(
            hosts.action(
                admin,
                id,
                "2.25",
                "{\"os-migrateLive\": {\"host\": null, \"block_migration\": \"auto\"}}"))
        .isEqualTo(202);
    hosts.awaitMigration(admin, id, "completed");
    cloud.awaitStatus(demo, id, "ACTIVE");
  }

  @AfterEach
  void stop() {
    hosts.close();
  }

  private JsonNode list(String query, String version) {
    ComputeTestCloud.Reply r = cloud.call("GET", "/os-migrations" + query, admin, version, null);
    assertThat(r.status()).as(r.text()).isEqualTo(200);
    return r.json();
  }

  @Test
  void fieldsFollowTheMicroversion() {
    JsonNode v21 = list("", null).path("migrations");
    assertThat(v21).hasSize(3);
    JsonNode first = v21.get(0);
    assertThat(first.has("migration_type")).isFalse();
    assertThat(first.has("uuid")).isFalse();
    assertThat(first.path("instance_uuid").asText()).isEqualTo(id);
    assertThat(first.path("old_instance_type_id").asLong()).isPositive();
    assertThat(first.path("created_at").asText())
        .matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}");
    // newest first: live, migrate (reverted), resize (confirmed)
    JsonNode v223 = list("", "2.23").path("migrations");
    assertThat(v223.get(0).path("migration_type").asText()).isEqualTo("live-migration");
    assertThat(v223.get(0).path("status").asText()).isEqualTo("completed");
    assertThat(v223.get(1).path("migration_type").asText()).isEqualTo("migration");
    assertThat(v223.get(1).path("status").asText()).isEqualTo("reverted");
    assertThat(v223.get(2).path("migration_type").asText()).isEqualTo("resize");
    assertThat(v223.get(2).path("status").asText()).isEqualTo("confirmed");
    assertThat(v223.get(2).path("new_instance_type_id").asLong())
        .isNotEqualTo(v223.get(2).path("old_instance_type_id").asLong());
    assertThat(v223.get(0).has("uuid")).isFalse();
    assertThat(list("", "2.59").path("migrations").get(0).path("uuid").asText()).hasSize(36);
    assertThat(list("", "2.79").path("migrations").get(0).has("user_id")).isFalse();
    JsonNode v280 = list("", "2.80").path("migrations").get(0);
    assertThat(v280.path("user_id").asText()).isNotEmpty();
    assertThat(v280.path("project_id").asText()).isNotEmpty();
    // admin only
    assertThat(cloud.call("GET", "/os-migrations", demo, null, null).status()).isEqualTo(403);
  }

  @Test
  void filtersAndPaging() {
    assertThat(list("?migration_type=live-migration", "2.23").path("migrations")).hasSize(1);
    assertThat(list("?status=reverted", null).path("migrations")).hasSize(1);
    assertThat(list("?status=nonsense", null).path("migrations")).isEmpty();
    assertThat(list("?host=fake-host", null).path("migrations")).hasSize(3);
    String origin = list("", "2.23").path("migrations").get(2).path("source_compute").asText();
    assertThat(list("?source_compute=" + origin, null).path("migrations")).hasSize(1);
    assertThat(list("?instance_uuid=" + id, null).path("migrations")).hasSize(3);
    assertThat(list("?instance_uuid=00000000-0000-0000-0000-000000000000", null).path("migrations"))
        .isEmpty();
    // 2.59: limit, marker, links; changes-since
    JsonNode page = list("?limit=2", "2.59");
    assertThat(page.path("migrations")).hasSize(2);
    assertThat(page.path("migrations_links").get(0).path("href").asText()).contains("marker=");
    String marker = page.path("migrations").get(1).path("uuid").asText();
    JsonNode rest = list("?limit=2&marker=" + marker, "2.59");
    assertThat(rest.path("migrations")).hasSize(1);
    assertThat(rest.has("migrations_links")).isFalse();
    assertThat(cloud.call("GET", "/os-migrations?marker=nope", admin, "2.59", null).status())
        .isEqualTo(400);
    assertThat(cloud.call("GET", "/os-migrations?bogus=1", admin, "2.59", null).status())
        .isEqualTo(400);
    assertThat(cloud.call("GET", "/os-migrations?bogus=1", admin, "2.58", null).status())
        .isEqualTo(200);
    String future = Instant.now().plusSeconds(3600).toString();
    assertThat(list("?changes-since=" + future, "2.59").path("migrations")).isEmpty();
    assertThat(list("?changes-since=2000-01-01T00:00:00Z", "2.59").path("migrations")).hasSize(3);
    assertThat(list("?changes-before=2000-01-01T00:00:00Z", "2.66").path("migrations")).isEmpty();
    // 2.80: user and project filters
    String project = list("", "2.80").path("migrations").get(0).path("project_id").asText();
    assertThat(list("?project_id=" + project, "2.80").path("migrations")).hasSize(3);
    assertThat(list("?project_id=other", "2.80").path("migrations")).isEmpty();
  }

  @Test
  void serverBodiesGainTheLaterMicroversionsFields() {
    JsonNode s = cloud.call("GET", "/servers/" + id, admin, "2.80", null).json().path("server");
    assertThat(s.has("trusted_image_certificates")).isTrue();
    assertThat(s.path("server_groups").isArray()).isTrue();
    assertThat(s.has("locked_reason")).isTrue();
    JsonNode old = cloud.call("GET", "/servers/" + id, admin, "2.53", null).json().path("server");
    assertThat(old.has("trusted_image_certificates")).isFalse();
    assertThat(old.has("server_groups")).isFalse();
    JsonNode f = cloud.call("GET", "/flavors/1", admin, "2.75", null).json().path("flavor");
    assertThat(f.path("swap").asInt(-1)).isZero();
    assertThat(f.has("description")).isTrue();
    assertThat(f.path("extra_specs").isObject()).isTrue();
    assertThat(
            cloud
                .call("GET", "/flavors/1", admin, "2.1", null)
                .json()
                .path("flavor")
                .path("swap")
                .asText())
        .isEmpty();
    // 2.57: no personality limits or injected-file quotas
    JsonNode lim = cloud.call("GET", "/limits", admin, "2.57", null).json();
    assertThat(lim.path("limits").path("absolute").has("maxPersonality")).isFalse();
    assertThat(
            cloud
                .call("GET", "/limits", admin, "2.56", null)
                .json()
                .path("limits")
                .path("absolute")
                .has("maxPersonality"))
        .isTrue();
    String project = s.path("tenant_id").asText();
    assertThat(
            cloud
                .call("GET", "/os-quota-sets/" + project, admin, "2.57", null)
                .json()
                .path("quota_set")
                .has("injected_files"))
        .isFalse();
    assertThat(
            cloud
                .call(
                    "PUT",
                    "/os-quota-sets/" + project,
                    admin,
                    "2.57",
                    "{\"quota_set\": {\"injected_files\": 3}}")
                .status())
        .isEqualTo(400);
    // instance actions: 2.58 paging, 2.62 event host
    JsonNode actions =
        cloud
            .call("GET", "/servers/" + id + "/os-instance-actions?limit=1", admin, "2.58", null)
            .json();
    assertThat(actions.path("instanceActions")).hasSize(1);
    String rid = actions.path("instanceActions").get(0).path("request_id").asText();
    JsonNode a =
        cloud
            .call("GET", "/servers/" + id + "/os-instance-actions/" + rid, admin, "2.62", null)
            .json();
    assertThat(a.path("instanceAction").path("events").get(0).has("hostId")).isTrue();
  }
}
