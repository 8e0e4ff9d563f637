package io.virga.libvirt;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** qemu-img/qemu-io helpers the snapshot tests use to build disks and check their bytes. */
final class SnapshotTestImages {
  private SnapshotTestImages() {}

  /** A raw base of {@code mib} MiB holding pattern 0x5a in its first 64 KiB. */
  static Path rawBase(Path dir, int mib) {
    Path base = dir.resolve("base.raw");
    run("qemu-img", "create", "-f", "raw", base.toString(), mib + "M");
    write(base, "raw", 0x5a, 0);
    return base;
  }

  /** A qcow2 overlay over a raw base, the way spawn makes root disks (explicit backing_fmt). */
  static Path overlay(Path disk, Path base, int mib) {
    run(
        "qemu-img",
        "create",
        "-f",
        "qcow2",
        "-b",
        base.toString(),
        "-F",
        "raw",
        disk.toString(),
        mib + "M");
    return disk;
  }

  static void write(Path image, String format, int pattern, long offset) {
    run(
        "qemu-io",
        "-f",
        format,
        "-c",
        "write -P " + pattern + " " + offset + " 64k",
        image.toString());
  }

  /** True when the 64 KiB at {@code offset} all hold {@code pattern}. */
  static boolean hasPattern(Path image, String format, int pattern, long offset) {
    return exec(
            "qemu-io",
            "-f",
            format,
            "-r",
            "-U",
            "-c",
            "read -P " + pattern + " " + offset + " 64k",
            image.toString())
        == 0;
  }

  /** The format qemu-img reports when told to check the file as {@code format}. */
  static String infoFormat(Path image, String format) {
    return output("qemu-img", "info", "-f", format, "-U", "--output=json", image.toString());
  }

  static boolean checks(Path image, String format) {
    return exec("qemu-img", "check", "-f", format, "-U", image.toString()) == 0;
  }

  static void run(String... cmd) {
    int rc = exec(cmd);
    if (rc != 0) {
      throw new IllegalStateException(String.join(" ", cmd) + " exited " + rc);
    }
  }

  static int exec(String... cmd) {
    try {
      Process p = new ProcessBuilder(List.of(cmd)).redirectErrorStream(true).start();
      p.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
      return p.waitFor();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static String output(String... cmd) {
    try {
      Process p = new ProcessBuilder(List.of(cmd)).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (p.waitFor() != 0) {
        throw new IllegalStateException(String.join(" ", cmd) + ": " + out);
      }
      return out;
    } catch (IOException e) {
      throw new IllegalStateException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static List<Path> list(Path dir) {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (var s = Files.walk(dir)) {
      return s.filter(p -> !p.equals(dir)).toList();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
