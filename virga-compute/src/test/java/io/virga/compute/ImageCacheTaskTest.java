package io.virga.compute;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.virga.core.DiskFormat;
import io.virga.core.ImageMeta;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The periodic image-cache pass keeps the images of this host's instances, kernels included. */
class ImageCacheTaskTest extends AgentFixture {

  @Test
  void thePeriodicPassNamesTheImagesOfThisHostsInstances() {
    startManager(options().withImageCacheInterval(Duration.ofMillis(100)));
    booted();
    await()
        .atMost(Duration.ofSeconds(5))
        .until(
            () ->
                !driver.imageCachePasses().isEmpty()
                    && driver
                        .imageCachePasses()
                        .getLast()
                        .equals(Set.of(FakeConductor.IMAGE.id())));
  }

  @Test
  void kernelAndRamdiskOfAnImageAreInUseToo() {
    conductor.images.put(
        FakeConductor.IMAGE.id(),
        new ImageMeta(
            FakeConductor.IMAGE.id(),
            "tiny",
            DiskFormat.QCOW2,
            "bare",
            10,
            20,
            0,
            0,
            Map.of("kernel_id", "k-1", "ramdisk_id", "r-1")));
    startManager(options());
    booted();
    scheduled(); // scheduled here, not built yet: its image is still in use
    assertThat(new ImageCacheTask(driver, conductor, "host1").imagesInUse())
        .containsExactly(FakeConductor.IMAGE.id(), "k-1", "r-1");
  }

  @Test
  void anImageDeletedFromTheServiceStillCountsByItsId() {
    conductor.images.clear();
    startManager(options());
    scheduled();
    assertThat(new ImageCacheTask(driver, conductor, "host1").imagesInUse())
        .containsExactly(FakeConductor.IMAGE.id());
  }
}
