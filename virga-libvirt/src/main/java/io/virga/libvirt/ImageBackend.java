package io.virga.libvirt;

import io.virga.core.Config;
import io.virga.core.DiskFormat;
import io.virga.core.ImageMeta;
import io.virga.core.InvalidInputException;
import io.virga.virt.ImageSource;
import java.nio.file.Path;
import java.util.Locale;

/**
 * How an instance's local disks are made from the base cache (DESIGN §3.1 steps 3–5), chosen by
 * option {@code images_type}: {@code qcow2} (default; copy-on-write overlays over {@code _base}) or
 * {@code raw} (alias {@code flat}; sparse full copies). Every method writes into the instance
 * directory, records the disk's format in {@link DiskInfo} and returns that format (what the guest
 * XML's {@code <driver type>} must say). A disk that already exists with a recorded format is left
 * alone (a retried spawn does not redo work).
 */
interface ImageBackend {
  String ROOT = "disk";
  String EPHEMERAL = "disk.local";
  String SWAP = "disk.swap";

  /** {@code qcow2} or {@code raw}. */
  String type();

  /**
   * Makes {@code <instanceDir>/disk} from image {@code image} (fetched into the cache if needed).
   *
   * @param rootBytes the flavor's root disk ({@code root_gb << 30}); 0 means the image's virtual
   *     size (Nova's behaviour for root_gb=0)
   * @throws io.virga.core.InvalidInputException the image's virtual size exceeds {@code rootBytes}
   *     (the message gives both sizes)
   * @throws io.virga.core.ImageUnsafeException the image failed inspection
   */
  DiskFormat createRoot(Path instanceDir, ImageMeta image, ImageSource source, long rootBytes);

  /**
   * Makes {@code <instanceDir>/<name>} from image {@code image} like {@link #createRoot} (rescue's
   * {@code disk.rescue}).
   */
  DiskFormat createDisk(
      Path instanceDir, String name, ImageMeta image, ImageSource source, long rootBytes);

  /** Makes {@code <instanceDir>/disk.local}: {@code gb} GiB of ext4 labelled {@code ephemeral0}. */
  DiskFormat createEphemeral(Path instanceDir, int gb);

  /** Makes {@code <instanceDir>/disk.swap}: {@code mb} MiB with a swap signature. */
  DiskFormat createSwap(Path instanceDir, int mb);

  /** The cache the backend takes its bases from. */
  ImageCache cache();

  /**
   * Recreates missing backing files of the instance's disks (hard reboot, migration destination);
   * see {@link ImageCache#ensureBacking}. Harmless for raw disks.
   */
  default void ensureBacking(Path instanceDir, ImageMeta image, ImageSource source) {
    cache().ensureBacking(instanceDir, image, source);
  }

  /** The backend for option {@code images_type} ({@code qcow2}, {@code raw}, {@code flat}). */
  static ImageBackend forType(String imagesType, QemuImg qemuImg, ImageCache cache) {
    return switch (imagesType.toLowerCase(Locale.ROOT)) {
      case "qcow2", "default" -> new Qcow2Backend(qemuImg, cache);
      case "raw", "flat" -> new RawBackend(qemuImg, cache);
      default ->
          throw new InvalidInputException(
              "images_type must be qcow2, raw or flat, not '" + imagesType + "'");
    };
  }

  /** The backend named by option {@code images_type} (default {@code qcow2}). */
  static ImageBackend fromConfig(Config config, QemuImg qemuImg, ImageCache cache) {
    return forType(config.string("images_type", "qcow2"), qemuImg, cache);
  }
}
