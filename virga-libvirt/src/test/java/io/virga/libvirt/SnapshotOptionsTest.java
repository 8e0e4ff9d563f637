package io.virga.libvirt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.virga.core.Config;
import io.virga.core.InvalidInputException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SnapshotOptionsTest {
  final Path instances = Path.of("/var/lib/virga/instances");

  @Test
  void defaultsFollowTheSourceFormatUnderTheInstancesPath() {
    SnapshotOptions o = SnapshotOptions.from(Config.of(Map.of()), instances);

    assertThat(o.outputFormat("qcow2")).isEqualTo("qcow2");
    assertThat(o.outputFormat("raw")).isEqualTo("raw");
    assertThat(o.compression()).isFalse();
    assertThat(o.disableLiveSnapshot()).isFalse();
    assertThat(o.snapshotsDirectory()).isEqualTo(instances.resolve("snapshots"));
    assertThat(o.blockJobTimeout()).isEqualTo(Duration.ofSeconds(600));
  }

  @Test
  void everyOptionIsRead() {
    SnapshotOptions o =
        SnapshotOptions.from(
            Config.of(
                Map.of(
                    "snapshot_image_format", "raw",
                    "snapshot_compression", "true",
                    "disable_live_snapshot", "yes",
                    "snapshots_directory", "/srv/snap",
                    "snapshot_block_job_timeout", "30")),
            instances);

    assertThat(o.outputFormat("qcow2")).isEqualTo("raw");
    assertThat(o.compression()).isTrue();
    assertThat(o.disableLiveSnapshot()).isTrue();
    assertThat(o.snapshotsDirectory()).isEqualTo(Path.of("/srv/snap"));
    assertThat(o.blockJobTimeout()).isEqualTo(Duration.ofSeconds(30));
  }

  @Test
  void onlyRawAndQcow2AreAccepted() {
    assertThatThrownBy(
            () ->
                SnapshotOptions.from(Config.of(Map.of("snapshot_image_format", "vmdk")), instances))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("raw or qcow2");
  }
}
