package io.virga.libvirt;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.virga.core.Command;
import io.virga.core.DiskFormat;
import io.virga.core.FormatInspector;
import io.virga.core.ImageMeta;
import io.virga.core.ImageUnsafeException;
import io.virga.core.InvalidInputException;
import io.virga.virt.ImageSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The base image cache {@code <instances>/_base/} (DESIGN §3.1 step 3–4, §5, §6).
 *
 * <p>{@link #fetchBase} downloads an image once per host into {@code _base/<sha1(image id)>}: the
 * source writes {@code <name>.part}; the header is inspected in Java and must match the image's
 * declared {@code disk_format} and be free of backing files, external data files, unsafe VMDK
 * extents and QED before any qemu-img call; the data is converted to raw when {@code forceRaw}
 * (option {@code force_raw_images}, default true) — otherwise raw and qcow2 stay as they are and
 * other formats become raw — and renamed into place. One fetch per base however many threads or
 * processes ask: every step runs under {@link FileLock} {@code <instances>/locks/<name>.lock}. Any
 * failure removes the {@code .part}. Next to each base, {@code <name>.info} (JSON) records its
 * format and virtual size, so the base is never probed.
 *
 * <p>Ephemeral ({@code ephemeral_<GB>_<fs>}) and swap ({@code swap_<MB>}) bases are made locally
 * (qemu-img create + mkfs.ext4 / mkswap), never from user data.
 *
 * <p>Thread-safe; one instance per instances directory is enough, but several (in several
 * processes) are safe.
 */
final class ImageCache {
  private static final Logger LOG = LoggerFactory.getLogger(ImageCache.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  static final String EPHEMERAL_FS = "ext4";
  static final String EPHEMERAL_LABEL = "ephemeral0";

  /**
   * What the cache recorded about one base.
   *
   * @param format raw or qcow2: the value for {@code backing_fmt} / {@code <driver type>}
   * @param virtualSize bytes
   */
  public record BaseInfo(DiskFormat format, long virtualSize) {}

  private final Path instancesDir;
  private final Path baseDir;
  private final Path locksDir;
  private final QemuImg qemuImg;
  private final boolean forceRaw;

  /**
   * @param instancesDir {@code $VIRGA_HOME/instances}; {@code _base/} and {@code locks/} are made
   *     below it on demand
   * @param forceRaw option {@code force_raw_images} (default true): convert every base to raw
   */
  public ImageCache(Path instancesDir, QemuImg qemuImg, boolean forceRaw) {
    this.instancesDir = instancesDir.toAbsolutePath().normalize();
    this.baseDir = this.instancesDir.resolve("_base");
    this.locksDir = this.instancesDir.resolve("locks");
    this.qemuImg = qemuImg;
    this.forceRaw = forceRaw;
  }

  public Path instancesDir() {
    return instancesDir;
  }

  public Path baseDir() {
    return baseDir;
  }

  public Path locksDir() {
    return locksDir;
  }

  public QemuImg qemuImg() {
    return qemuImg;
  }

  /** {@code sha1(imageId)} in hex: the base's file name. */
  public static String baseName(String imageId) {
    try {
      MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
      return HexFormat.of().formatHex(sha1.digest(imageId.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Where the base of {@code imageId} lives (whether or not it is cached yet). */
  public Path basePath(String imageId) {
    return baseDir.resolve(baseName(imageId));
  }

  /** {@link #fetchBase(ImageMeta, ImageSource, long)} with no size limit. */
  public Path fetchBase(ImageMeta image, ImageSource source) {
    return fetchBase(image, source, 0);
  }

  /**
   * Returns {@code _base/<sha1(image.id())>}, fetching, inspecting and (with force_raw_images)
   * converting it first if it is not cached. Blocks while another thread or process fetches the
   * same image, then returns its result without fetching again.
   *
   * @param maxVirtualBytes the flavor's root disk in bytes; an image with a larger virtual size is
   *     refused (checked from the header, before any conversion) with {@link
   *     InvalidInputException}; 0 = no limit
   * @throws ImageUnsafeException the image failed inspection (its .part is removed)
   * @throws QemuImgException qemu-img failed (its .part is removed)
   */
  public Path fetchBase(ImageMeta image, ImageSource source, long maxVirtualBytes) {
    return fetch(image, source, maxVirtualBytes, forceRaw);
  }

  /**
   * Kernel and ramdisk images for direct kernel boot ({@code kernel_id} / {@code ramdisk_id}):
   * cached like {@link #fetchBase} under {@code _base/<sha1(id)>}, always raw (aki/ari/raw images
   * are kept byte for byte).
   */
  public Path fetchRaw(ImageMeta image, ImageSource source) {
    return fetch(image, source, 0, true);
  }

  /**
   * The cached, locally made ephemeral base {@code _base/ephemeral_<gb>_<fs-hash7>}: a raw file of
   * {@code gb} GiB formatted {@code mkfs.ext4 -F -L ephemeral0}. Made once under its lock.
   */
  public Path ephemeralBase(int gb) {
    if (gb <= 0) {
      throw new IllegalArgumentException("ephemeral size must be positive, not " + gb);
    }
    String name =
        "ephemeral_" + gb + "_" + baseName(EPHEMERAL_FS + ":" + EPHEMERAL_LABEL).substring(0, 7);
    return makeLocal(
        name,
        (long) gb << 30,
        tmp ->
            Command.of("mkfs.ext4", "-F", "-q", "-L", EPHEMERAL_LABEL, QemuImg.abs(tmp)).check());
  }

  /** The cached, locally made swap base {@code _base/swap_<mb>}: {@code mb} MiB after mkswap. */
  public Path swapBase(int mb) {
    if (mb <= 0) {
      throw new IllegalArgumentException("swap size must be positive, not " + mb);
    }
    return makeLocal(
        "swap_" + mb, (long) mb << 20, tmp -> Command.of("mkswap", QemuImg.abs(tmp)).check());
  }

  private Path makeLocal(String name, long bytes, java.util.function.Consumer<Path> format) {
    Path base = baseDir.resolve(name);
    try (FileLock lock = lock(name)) {
      if (Files.isRegularFile(base)) {
        touch(base);
        return base;
      }
      Files.createDirectories(baseDir);
      Path part = baseDir.resolve(name + ".part");
      try {
        Files.deleteIfExists(part);
        qemuImg.create(part, "raw", bytes);
        format.accept(part);
        writeInfo(base, new BaseInfo(DiskFormat.RAW, bytes), null);
        Files.move(part, base, StandardCopyOption.ATOMIC_MOVE);
        return base;
      } catch (RuntimeException | IOException e) {
        deleteQuietly(part);
        if (e instanceof IOException io) {
          throw new UncheckedIOException("cannot make " + base, io);
        }
        throw (RuntimeException) e;
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + baseDir, e);
    }
  }

  /**
   * Recreates missing backing files of an instance's qcow2 disks (hard reboot, resize and migration
   * destinations): reads each qcow2 disk of {@code disk.info} with {@code qemu-img info -f qcow2
   * -U}, and when its backing file is missing fetches it again ({@code _base/<sha1(image id)>} from
   * {@code source}) or remakes it ({@code ephemeral_*}, {@code swap_*}).
   *
   * <p>A backing file recorded under another instances path (an instance that came from a host
   * configured differently) is recreated in this host's {@code _base} and the overlay is pointed at
   * it: its qcow2 header rewritten in Java as {@code qemu-img rebase -u} would, or by that command
   * when the Java rewrite declines the image.
   *
   * @throws IllegalStateException a backing file is missing that this cache cannot recreate (it
   *     belongs to another image, or is no base at all)
   */
  public void ensureBacking(Path instanceDir, ImageMeta image, ImageSource source) {
    new ImageCacheBacking(this).ensure(instanceDir, image, source);
  }

  /** The recorded format and virtual size of a base in {@code _base}. */
  public BaseInfo baseInfo(Path base) {
    Path sidecar = base.resolveSibling(base.getFileName() + ".info");
    if (Files.isRegularFile(sidecar)) {
      try {
        ObjectNode n = (ObjectNode) JSON.readTree(sidecar.toFile());
        return new BaseInfo(
            DiskFormat.ofGlance(n.path("format").asText()), n.path("virtual_size").asLong());
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + sidecar, e);
      }
    }
    // A base without its record (made before records existed): the Java inspector decides,
    // never qemu's prober; only safe raw or qcow2 pass.
    FormatInspector.Inspection found = FormatInspector.inspect(base);
    DiskFormat f = found.format() == DiskFormat.QCOW2 ? DiskFormat.QCOW2 : DiskFormat.RAW;
    FormatInspector.check(found, f, base.toString());
    return new BaseInfo(f, found.virtualSize());
  }

  private Path fetch(ImageMeta image, ImageSource source, long maxVirtualBytes, boolean toRaw) {
    String name = baseName(image.id());
    Path base = baseDir.resolve(name);
    try (FileLock lock = lock(name)) {
      if (Files.isRegularFile(base)) {
        touch(base);
        BaseInfo cached = baseInfo(base);
        checkSize(image, cached.virtualSize(), maxVirtualBytes);
        if (toRaw && cached.format() != DiskFormat.RAW) {
          throw new IllegalStateException(
              "base "
                  + base
                  + " of image "
                  + image.id()
                  + " is cached as "
                  + cached.format().glanceName()
                  + " but a raw file is needed (kernel/ramdisk)");
        }
        return base;
      }
      Files.createDirectories(baseDir);
      Path part = baseDir.resolve(name + ".part");
      Path converted = baseDir.resolve(name + ".converted");
      try {
        Files.deleteIfExists(part);
        Files.deleteIfExists(converted);
        long start = System.nanoTime();
        source.fetch(image, part);
        if (!Files.isRegularFile(part)) {
          throw new IllegalStateException("image source wrote nothing for image " + image.id());
        }
        long fetched = System.nanoTime();
        BaseInfo info = prepare(image, part, converted, maxVirtualBytes, toRaw);
        writeInfo(base, info, image.id());
        Files.move(part, base, StandardCopyOption.ATOMIC_MOVE);
        LOG.info(
            "cached image {} as {} ({}, {} bytes virtual): fetch {} ms, inspect+convert {} ms",
            image.id(),
            base,
            info.format().glanceName(),
            info.virtualSize(),
            (fetched - start) / 1_000_000,
            (System.nanoTime() - fetched) / 1_000_000);
        return base;
      } catch (RuntimeException | IOException e) {
        deleteQuietly(part);
        deleteQuietly(converted);
        if (e instanceof IOException io) {
          throw new UncheckedIOException("cannot cache image " + image.id() + ": " + io, io);
        }
        throw (RuntimeException) e;
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + baseDir, e);
    }
  }

  /** Inspect, verify, size-check and convert {@code part} in place. */
  private BaseInfo prepare(
      ImageMeta image, Path part, Path converted, long maxVirtualBytes, boolean toRaw)
      throws IOException {
    DiskFormat declared = image.diskFormat();
    // DESIGN §5.2: before the first qemu-img call on downloaded data.
    FormatInspector.Inspection found =
        FormatInspector.check(FormatInspector.inspect(part), declared, image.id());
    checkSize(image, found.virtualSize(), maxVirtualBytes);
    String fmt = declared.qemuName();
    if (fmt.equals("raw")) {
      return new BaseInfo(DiskFormat.RAW, Files.size(part));
    }
    QemuImg.Info info = qemuImg.info(part, fmt, false);
    if (info.backingFile().isPresent()) {
      throw new ImageUnsafeException(
          "image " + image.id() + " has a backing file according to qemu-img; refusing it");
    }
    // The header and qemu must agree on a qcow2's size (a disagreement means one of the two
    // parsers is being fooled); other formats' sizes legitimately round differently (VHD's CHS).
    checkSize(image, info.virtualSize(), maxVirtualBytes);
    if (fmt.equals("qcow2") && info.virtualSize() != found.virtualSize()) {
      throw new ImageUnsafeException(
          "image "
              + image.id()
              + ": qemu-img reports virtual size "
              + info.virtualSize()
              + " but the header says "
              + found.virtualSize());
    }
    if (fmt.equals("qcow2") && !toRaw) {
      return new BaseInfo(DiskFormat.QCOW2, info.virtualSize());
    }
    qemuImg.convert(part, fmt, converted, "raw", false);
    Files.move(
        converted, part, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    return new BaseInfo(DiskFormat.RAW, Files.size(part));
  }

  static void checkSize(ImageMeta image, long virtualSize, long maxVirtualBytes) {
    if (maxVirtualBytes > 0 && virtualSize > maxVirtualBytes) {
      throw new InvalidInputException(
          "Flavor's disk is too small for requested image "
              + image.id()
              + ". Flavor disk is "
              + maxVirtualBytes
              + " bytes, image is "
              + virtualSize
              + " bytes.");
    }
  }

  void writeInfo(Path base, BaseInfo info, String imageId) throws IOException {
    ObjectNode n = JSON.createObjectNode();
    n.put("format", info.format().glanceName());
    n.put("virtual_size", info.virtualSize());
    if (imageId != null) {
      n.put("image_id", imageId);
    }
    Path tmp = base.resolveSibling(base.getFileName() + ".info.tmp");
    JSON.writeValue(tmp.toFile(), n);
    Files.move(
        tmp,
        base.resolveSibling(base.getFileName() + ".info"),
        StandardCopyOption.REPLACE_EXISTING,
        StandardCopyOption.ATOMIC_MOVE);
  }

  /** The lock guarding one base's fetch, creation and removal (also used by the ageing pass). */
  FileLock lock(String baseName) {
    return FileLock.acquire(locksDir, baseName);
  }

  static void touch(Path file) {
    try {
      Files.setLastModifiedTime(file, FileTime.from(Instant.now()));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot touch " + file, e);
    }
  }

  static void deleteQuietly(Path p) {
    try {
      Files.deleteIfExists(p);
    } catch (IOException e) {
      LOG.warn("cannot remove {}: {}", p, e.toString());
    }
  }
}
