package io.virga.compute;

import io.virga.core.ConductorApi;
import io.virga.core.DiskFormat;
import io.virga.core.ImageMeta;
import io.virga.core.Instance;
import io.virga.core.NotFoundException;
import io.virga.virt.InstanceSpec;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The driver's {@link InstanceSpec} from an instance row, its flavor copy and its image. */
final class SpecBuilder {
  private static final Logger log = LoggerFactory.getLogger(SpecBuilder.class);
  private final ConductorApi conductor;
  private final Map<String, ImageMeta> images = new ConcurrentHashMap<>();

  SpecBuilder(ConductorApi conductor) {
    this.conductor = conductor;
  }

  /** For a new boot: the image must exist. */
  InstanceSpec forBuild(Instance i) {
    return forBuild(i, Optional.empty());
  }

  /**
   * For a new boot whose image came with the build request; asked of the conductor when it did not
   * (which also raises the image service's NotFound when the image is gone).
   */
  InstanceSpec forBuild(Instance i, Optional<ImageMeta> image) {
    ImageMeta meta = image.orElseGet(() -> conductor.getImage(i.imageRef()));
    images.put(i.imageRef(), meta);
    return build(i);
  }

  InstanceSpec build(Instance i) {
    Map<String, String> keys =
        i.keyName().isPresent() && i.keyData().isPresent()
            ? Map.of(i.keyName().get(), i.keyData().get())
            : Map.of();
    return new InstanceSpec(
        i.uuid(),
        i.domainName(),
        i.displayName(),
        i.hostname(),
        i.projectId(),
        i.userId(),
        i.flavor(),
        image(i.imageRef()),
        i.metadata(),
        i.userData().map(SpecBuilder::decodeUserData),
        keys,
        i.configDrive(),
        i.availabilityZone(),
        i.launchIndex(),
        i.createdAt());
  }

  /**
   * The image as it was at boot: cached, since an image deleted later must not stop a reboot. An
   * image never seen and gone from the service gets a placeholder; the driver relies on the formats
   * it recorded in disk.info, not on this.
   */
  private ImageMeta image(String imageRef) {
    ImageMeta cached = images.get(imageRef);
    if (cached != null) {
      return cached;
    }
    try {
      ImageMeta meta = conductor.getImage(imageRef);
      images.put(imageRef, meta);
      return meta;
    } catch (NotFoundException e) {
      log.warn("image {} is gone from the image service; using a placeholder", imageRef);
      return new ImageMeta(imageRef, "", DiskFormat.RAW, "bare", 0, 0, 0, 0, Map.of());
    }
  }

  /** Nova stores user_data base64-encoded; anything else is taken as the raw text. */
  static byte[] decodeUserData(String userData) {
    try {
      return Base64.getMimeDecoder().decode(userData);
    } catch (IllegalArgumentException e) {
      return userData.getBytes(StandardCharsets.UTF_8);
    }
  }
}
