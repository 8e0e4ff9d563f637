package io.virga.compute;

import io.virga.core.ConductorApi;
import io.virga.core.ImageMeta;
import io.virga.core.Instance;
import io.virga.core.NotFoundException;
import io.virga.virt.ComputeDriver;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Nova's image cache manager pass: tells the driver which images this host's instances still use
 * (root image, and the kernel and ramdisk it names) so the driver keeps their bases and ages out
 * the rest. Kernel and ramdisk bases appear in no disk.info, so only these ids keep them alive.
 */
final class ImageCacheTask implements Runnable {
  private final ComputeDriver driver;
  private final ConductorApi conductor;
  private final String host;

  ImageCacheTask(ComputeDriver driver, ConductorApi conductor, String host) {
    this.driver = driver;
    this.conductor = conductor;
    this.host = host;
  }

  @Override
  public void run() {
    driver.manageImageCache(imagesInUse());
  }

  Set<String> imagesInUse() {
    Set<String> ids = new TreeSet<>();
    Map<String, Set<String>> related = new HashMap<>();
    for (Instance instance : conductor.instancesOnHost(host)) {
      String ref = instance.imageRef();
      if (ref == null || ref.isBlank()) {
        continue;
      }
      ids.add(ref);
      ids.addAll(related.computeIfAbsent(ref, this::kernelAndRamdisk));
    }
    return ids;
  }

  private Set<String> kernelAndRamdisk(String imageId) {
    Set<String> ids = new TreeSet<>();
    try {
      ImageMeta image = conductor.getImage(imageId);
      image.property("kernel_id").ifPresent(ids::add);
      image.property("ramdisk_id").ifPresent(ids::add);
    } catch (NotFoundException e) {
      // the image was deleted; its base stays as long as an overlay names it in disk.info
    }
    return ids;
  }
}
