package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.virga.core.Config;
import io.virga.core.VirgaException;
import io.virga.multihost.NamespacedHost;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code up --hosts} writes for an agent and what {@code virga agent --up-host} refuses,
 * without namespaces (those run in LifecycleUpHostsIT).
 */
class UpHostAgentTest {
  @TempDir Path home;

  @Test
  void agentConfHoldsTheHomesFileUpsEnvironmentAndTheHostsOwnSettingsButNoDatabase()
      throws Exception {
    Files.writeString(
        home.resolve("virga.conf"),
        "images_type = raw\nvirt_type = kvm\ndatabase_url = jdbc:postgresql://db/virga\n");
    Config config = Config.load(Map.of("VIRGA_HOME", home.toString()));
    NamespacedHost h = new NamespacedHost("virga-host1", "10.0.0.11", home.resolve("h1"), 0);
    Files.createDirectories(h.dir());
    Path conf =
        UpHostAgent.writeConf(
            h,
            config,
            Map.of(
                "VIRGA_VIRT_TYPE", "qemu",
                "VIRGA_DATABASE_PASSWORD", "secret",
                "VIRGA_ADMIN_PASSWORD", "admin-pw",
                "VIRGA_HOME", home.toString(),
                "PATH", "/usr/bin"),
            Map.of("my_ip", "10.0.0.11", "metrics_port", "0"));
    Properties p = new Properties();
    try (var r = Files.newBufferedReader(conf)) {
      p.load(r);
    }
    assertThat(p)
        .containsEntry("images_type", "raw")
        .containsEntry("virt_type", "qemu") // up's environment overrides the file
        .containsEntry("my_ip", "10.0.0.11")
        .containsEntry("metrics_port", "0")
        .doesNotContainKeys("database_url", "database_password", "admin_password", "home", "path");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(conf)))
        .isEqualTo("rw-------");
  }

  @Test
  void aRestartNeedsAConfiguredHostWhoseInitStillRuns() throws Exception {
    assertThatThrownBy(() -> UpHostAgent.hostToRestart(home, "virga-host1"))
        .isInstanceOf(VirgaException.class)
        .hasMessageContaining("no host virga-host1");
    assertThatThrownBy(() -> UpHostAgent.hostToRestart(home, "../etc"))
        .isInstanceOf(VirgaException.class)
        .hasMessageContaining("no host");
    Path dir = home.resolve("hosts/virga-host1");
    Files.createDirectories(dir);
    Files.writeString(dir.resolve(UpHostAgent.CONF), "my_ip=10.0.0.11\n");
    assertThatThrownBy(() -> UpHostAgent.hostToRestart(home, "virga-host1"))
        .hasMessageContaining("is not running");
    // a live process that is not this host's init (a stale pid reused) is not taken for it
    Files.writeString(dir.resolve("init.pid"), ProcessHandle.current().pid() + "\n");
    assertThatThrownBy(() -> UpHostAgent.hostToRestart(home, "virga-host1"))
        .hasMessageContaining("is not running");
  }
}
