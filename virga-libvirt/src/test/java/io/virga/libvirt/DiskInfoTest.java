package io.virga.libvirt;

import static org.assertj.core.api.Assertions.assertThat;

import io.virga.core.DiskFormat;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DiskInfoTest {
  @TempDir Path dir;

  @Test
  void recordsAndReadsFormatsByFileName() throws Exception {
    assertThat(DiskInfo.read(dir)).isEmpty();
    DiskInfo.record(dir, "disk", DiskFormat.QCOW2);
    DiskInfo.record(dir, "disk.swap", DiskFormat.RAW);
    DiskInfo.record(dir, "disk", DiskFormat.RAW);
    assertThat(DiskInfo.read(dir))
        .isEqualTo(Map.of("disk", DiskFormat.RAW, "disk.swap", DiskFormat.RAW));
    assertThat(Files.readString(dir.resolve("disk.info")))
        .isEqualTo("{\"disk\":\"raw\",\"disk.swap\":\"raw\"}");
    assertThat(DiskInfo.format(dir, "disk.local")).isEmpty();
  }

  @Test
  void readsNovasAbsolutePathKeys() throws Exception {
    Files.writeString(
        dir.resolve("disk.info"),
        "{\"/var/lib/nova/instances/u/disk\": \"qcow2\", \"/var/lib/nova/instances/u/disk.config\": \"raw\"}");
    assertThat(DiskInfo.read(dir))
        .isEqualTo(Map.of("disk", DiskFormat.QCOW2, "disk.config", DiskFormat.RAW));
  }
}
