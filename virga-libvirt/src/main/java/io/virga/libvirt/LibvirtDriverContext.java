package io.virga.libvirt;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** What every driver flow shares: the host, options, disk backend and config drive builder. */
final class LibvirtDriverContext {
  private static final Logger LOG = LoggerFactory.getLogger(LibvirtDriverContext.class);

  final LibvirtHost host;
  final LibvirtOptions opts;
  final ImageBackend backend;
  final ConfigDriveBuilder configDrive;
  private volatile String cacheMode;

  LibvirtDriverContext(
      LibvirtHost host, LibvirtOptions opts, ImageBackend backend, ConfigDriveBuilder configDrive) {
    this.host = host;
    this.opts = opts;
    this.backend = backend;
    this.configDrive = configDrive;
  }

  /**
   * The disk cache mode: {@code none} needs O_DIRECT, which some filesystems (tmpfs) refuse; Nova
   * then falls back to writeback, and so do we (checked once, in the instances dir).
   */
  String cacheMode(Path dir) {
    String m = cacheMode;
    if (m != null) {
      return m;
    }
    m = opts.diskCacheMode();
    if (m.equals("none") && !supportsDirectIo(dir)) {
      LOG.warn("{} does not support O_DIRECT; disks use cache=writeback", dir);
      m = "writeback";
    }
    cacheMode = m;
    return m;
  }

  static boolean supportsDirectIo(Path dir) {
    Path probe = dir.resolve(".directio.test");
    try (var ch =
        Files.newByteChannel(
            probe,
            StandardOpenOption.CREATE,
            StandardOpenOption.WRITE,
            com.sun.nio.file.ExtendedOpenOption.DIRECT)) {
      return true;
    } catch (IOException | UnsupportedOperationException e) {
      return false;
    } finally {
      try {
        Files.deleteIfExists(probe);
      } catch (IOException e) {
        LOG.debug("cannot remove {}: {}", probe, e.toString());
      }
    }
  }
}
