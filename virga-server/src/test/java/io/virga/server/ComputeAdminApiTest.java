package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.virt.FakeDriver;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hypervisor values as Nova's resource tracker reports them, uptime, and the routes that exist only
 * at some microversions: os-hosts (below 2.43), the image proxy (below 2.36), os-quota-class-sets,
 * os-instance_usage_audit_log, hypervisor search/servers (below 2.53).
 */
class ComputeAdminApiTest {
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

  JsonNode get(String path, String token, String version, int status) {
    ComputeTestCloud.Reply r = cloud.call("GET", path, token, version, null);
    assertThat(r.status()).as(path + " " + r.text()).isEqualTo(status);
    return r.json();
  }

  @Test
  void hypervisorsReportAllocationsNotLiveUse() {
    String id = cloud.boot(demo, "alloc", "v1.tiny");
    cloud.awaitStatus(demo, id, "ACTIVE");
    JsonNode h = get("/os-hypervisors/detail", admin, null, 200).get("hypervisors").get(0);
    // reserved_host_memory_mb (512) + the flavor's 128 MB; one vCPU; one GB of root disk
    assertThat(h.get("memory_mb_used").asInt()).isEqualTo(512 + 128);
    assertThat(h.get("free_ram_mb").asInt()).isEqualTo(h.get("memory_mb").asInt() - 640);
    assertThat(h.get("vcpus_used").asInt()).isEqualTo(1);
    assertThat(h.get("local_gb_used").asInt()).isEqualTo(1);
    assertThat(h.get("running_vms").asInt()).isEqualTo(1);
    JsonNode stats =
        get("/os-hypervisors/statistics", admin, null, 200).get("hypervisor_statistics");
    assertThat(stats.get("memory_mb_used").asInt()).isEqualTo(640);
    assertThat(stats.get("vcpus_used").asInt()).isEqualTo(1);

    JsonNode up = get("/os-hypervisors/" + h.get("id").asText() + "/uptime", admin, null, 200);
    assertThat(up.at("/hypervisor/uptime").asText())
        .matches(" \\d\\d:\\d\\d:\\d\\d up .*load average: .*");
    get("/os-hypervisors/" + h.get("id").asText() + "/uptime", demo, null, 403);

    String name = h.get("hypervisor_hostname").asText();
    JsonNode servers = get("/os-hypervisors/" + name + "/servers", admin, "2.52", 200);
    assertThat(servers.at("/hypervisors/0/servers/0/uuid").asText()).isEqualTo(id);
    get("/os-hypervisors/" + name + "/search", admin, "2.52", 200);
    get("/os-hypervisors/" + name + "/search", admin, "2.53", 404);
  }

  @Test
  void osHostsExistBelow243() {
    String id = cloud.boot(demo, "h", "v1.tiny");
    cloud.awaitStatus(demo, id, "ACTIVE");
    JsonNode hosts = get("/os-hosts", admin, "2.42", 200).get("hosts");
    assertThat(hosts.findValuesAsText("host_name")).containsExactly("fake-host");
    get("/os-hosts", admin, "2.43", 404);
    get("/os-hosts", demo, "2.42", 403);
    JsonNode host = get("/os-hosts/fake-host", admin, "2.42", 200).get("host");
    assertThat(host.findValuesAsText("project")).contains("(total)", "(used_now)", "(used_max)");
    assertThat(host.get(2).at("/resource/memory_mb").asInt()).isEqualTo(128);
    assertThat(host.size()).isEqualTo(4); // plus the demo project's line
    get("/os-hosts/nowhere", admin, "2.42", 404);
    ComputeTestCloud.Reply disabled =
        cloud.call("PUT", "/os-hosts/fake-host", admin, "2.42", "{\"status\": \"disable\"}");
    assertThat(disabled.json().get("status").asText()).isEqualTo("disabled");
    assertThat(get("/os-services", admin, null, 200).at("/services/0/status").asText())
        .isEqualTo("disabled");
    cloud.call("PUT", "/os-hosts/fake-host", admin, "2.42", "{\"status\": \"enable\"}");
    assertThat(
            cloud
                .call(
                    "PUT",
                    "/os-hosts/fake-host",
                    admin,
                    "2.42",
                    "{\"maintenance_mode\": \"enable\"}")
                .status())
        .isEqualTo(501);
    get("/os-hosts/fake-host/reboot", admin, "2.42", 501);
  }

  @Test
  void quotaClassSetsShowAndChangeTheDefaults() {
    JsonNode old = get("/os-quota-class-sets/default", admin, null, 200).get("quota_class_set");
    assertThat(old.get("id").asText()).isEqualTo("default");
    assertThat(old.has("floating_ips")).isTrue();
    assertThat(old.has("server_groups")).isFalse();
    JsonNode v250 = get("/os-quota-class-sets/default", admin, "2.50", 200).get("quota_class_set");
    assertThat(v250.has("floating_ips")).isFalse();
    assertThat(v250.has("server_groups")).isTrue();
    get("/os-quota-class-sets/default", demo, null, 403);
    ComputeTestCloud.Reply set =
        cloud.call(
            "PUT",
            "/os-quota-class-sets/default",
            admin,
            "2.50",
            "{\"quota_class_set\": {\"instances\": 3, \"cores\": \"7\"}}");
    assertThat(set.status()).as(set.text()).isEqualTo(200);
    assertThat(set.json().at("/quota_class_set/instances").asInt()).isEqualTo(3);
    String project = cloud.running.users().demoProjectId();
    assertThat(get("/os-quota-sets/" + project, demo, null, 200).at("/quota_set/instances").asInt())
        .isEqualTo(3);
    assertThat(
            cloud
                .call(
                    "PUT",
                    "/os-quota-class-sets/default",
                    admin,
                    "2.50",
                    "{\"quota_class_set\": {\"floating_ips\": 3}}")
                .status())
        .isEqualTo(400);
  }

  @Test
  void usageAuditLogListsEveryHostAsNotRun() {
    JsonNode logs =
        get("/os-instance_usage_audit_log", admin, null, 200).get("instance_usage_audit_logs");
    assertThat(logs.get("num_hosts").asInt()).isEqualTo(1);
    assertThat(logs.get("hosts_not_run").get(0).asText()).isEqualTo("fake-host");
    JsonNode before =
        get("/os-instance_usage_audit_log/2012-07-05%2010:00:00", admin, null, 200)
            .get("instance_usage_audit_log");
    assertThat(before.get("period_beginning").asText()).isEqualTo("2012-06-01 00:00:00");
    assertThat(before.get("period_ending").asText()).isEqualTo("2012-07-01 00:00:00");
    get("/os-instance_usage_audit_log/yesterday", admin, null, 400);
    get("/os-instance_usage_audit_log", demo, null, 403);
  }

  @Test
  void theImageProxyExistsBelow236() {
    String image = cloud.ensureImage();
    JsonNode list = get("/images", demo, "2.35", 200).get("images");
    assertThat(list.findValuesAsText("id")).contains(image);
    get("/images", demo, "2.36", 404);
    JsonNode shown = get("/images/" + image, demo, null, 200).get("image");
    assertThat(shown.get("status").asText()).isEqualTo("ACTIVE");
    assertThat(shown.get("progress").asInt()).isEqualTo(100);
    assertThat(shown.get("OS-EXT-IMG-SIZE:size").asLong()).isEqualTo(1024 * 1024);
    assertThat(get("/images/detail?status=ACTIVE", demo, null, 200).get("images")).isNotEmpty();
    String meta = "/images/" + image + "/metadata";
    ComputeTestCloud.Reply denied =
        cloud.call("POST", meta, demo, null, "{\"metadata\": {\"k\": \"v\"}}");
    assertThat(denied.status()).as("the demo does not own the public image").isEqualTo(403);
    ComputeTestCloud.Reply merged =
        cloud.call("POST", meta, admin, null, "{\"metadata\": {\"k\": \"v\", \"os\": \"tiny\"}}");
    assertThat(merged.status()).as(merged.text()).isEqualTo(200);
    assertThat(get(meta + "/k", demo, null, 200).at("/meta/k").asText()).isEqualTo("v");
    assertThat(cloud.call("PUT", meta + "/k", admin, null, "{\"meta\": {\"k\": \"w\"}}").status())
        .isEqualTo(200);
    assertThat(get(meta, admin, null, 200).at("/metadata/k").asText()).isEqualTo("w");
    assertThat(cloud.call("DELETE", meta + "/k", admin, null, null).status()).isEqualTo(204);
    get(meta + "/k", admin, null, 404);
    ComputeTestCloud.Reply replaced =
        cloud.call("PUT", meta, admin, null, "{\"metadata\": {\"only\": \"this\"}}");
    assertThat(replaced.json().get("metadata").size()).isEqualTo(1);
    get("/images/00000000-0000-0000-0000-000000000000", demo, null, 404);
  }

  @Test
  void diagnosticsComeFromTheHostInTheMicroversionsShape() {
    String id = cloud.boot(demo, "diag", "v1.tiny");
    cloud.awaitStatus(demo, id, "ACTIVE");
    String path = "/servers/" + id + "/diagnostics";
    get(path, demo, null, 403);
    JsonNode legacy = get(path, admin, "2.47", 200);
    assertThat(legacy.get("cpu0_time").asLong()).isPositive();
    assertThat(legacy.get("memory").asLong()).isEqualTo(128 * 1024);
    assertThat(legacy.has("vda_read")).isTrue();
    assertThat(legacy.has("driver")).isFalse();
    JsonNode standard = get(path, admin, "2.48", 200);
    assertThat(standard.get("driver").asText()).isEqualTo("fake");
    assertThat(standard.get("state").asText()).isEqualTo("running");
    assertThat(standard.get("num_cpus").asInt()).isEqualTo(1);
    assertThat(standard.at("/memory_details/maximum").asInt()).isEqualTo(128);
    assertThat(standard.at("/disk_details/0/read_bytes").asLong()).isEqualTo(4096);
    assertThat(standard.get("uptime").asLong()).isNotNegative();
    assertThat(standard.has("cpu0_time")).isFalse();
  }
}
