package io.virga.libvirt;

import com.sun.jna.Library;
import com.sun.jna.Native;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Where a file holds data: {@code lseek(SEEK_DATA / SEEK_HOLE)} through libc, the one native call
 * Java lacks for sparse files. A filesystem that does not report holes yields one extent over the
 * whole file; zero blocks inside extents are found by the sender as it reads them.
 */
final class SparseFiles {
  private static final int O_RDONLY = 0;
  private static final int SEEK_DATA = 3;
  private static final int SEEK_HOLE = 4;
  private static final int ENXIO = 6;

  /** A run of bytes that may hold data. */
  record Extent(long offset, long length) {}

  interface LibC extends Library {
    LibC INSTANCE = Native.load("c", LibC.class);

    int open(String path, int flags);

    long lseek(int fd, long offset, int whence);

    int close(int fd);
  }

  private SparseFiles() {}

  /** The data extents of {@code file} ({@code size} bytes long), in order. */
  static List<Extent> dataExtents(Path file, long size) throws IOException {
    List<Extent> out = new ArrayList<>();
    if (size == 0) {
      return out;
    }
    int fd = LibC.INSTANCE.open(file.toAbsolutePath().toString(), O_RDONLY);
    if (fd < 0) {
      throw new IOException("cannot open " + file + " (errno " + Native.getLastError() + ")");
    }
    try {
      long pos = 0;
      while (pos < size) {
        long data = LibC.INSTANCE.lseek(fd, pos, SEEK_DATA);
        if (data < 0) {
          int errno = Native.getLastError();
          if (errno == ENXIO) {
            break; // only a hole remains
          }
          out.clear(); // SEEK_DATA unsupported: treat the file as all data
          out.add(new Extent(0, size));
          return out;
        }
        long hole = LibC.INSTANCE.lseek(fd, data, SEEK_HOLE);
        if (hole < 0 || hole > size) {
          hole = size;
        }
        out.add(new Extent(data, hole - data));
        pos = hole;
      }
      return out;
    } finally {
      LibC.INSTANCE.close(fd);
    }
  }
}
