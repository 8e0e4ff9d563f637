package io.virga.libvirt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The three qemu-img calls a snapshot makes, always with explicit formats (DESIGN §5.1) and under
 * resource limits (§5.3: address space 1 GiB, plus 30 s CPU for {@code info}). Arguments are passed
 * as a list, never through a shell.
 */
class SnapshotQemuImg {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long ADDRESS_SPACE = 1L << 30;
  private static final int INFO_CPU_SECONDS = 30;

  /** What {@code qemu-img info --output=json} says about one image. */
  record ImageInfo(long virtualSize, Optional<Path> backingFile, Optional<String> backingFormat) {}

  /** {@code qemu-img info -f <format> [-U] --output=json}; {@code -U} when qemu may hold it. */
  ImageInfo info(Path image, String format, boolean forceShare) {
    List<String> cmd = new ArrayList<>(List.of("qemu-img", "info", "-f", format));
    if (forceShare) {
      cmd.add("-U");
    }
    cmd.addAll(List.of("--output=json", image.toString()));
    String out = run("info " + image, limited(cmd, INFO_CPU_SECONDS));
    try {
      JsonNode n = JSON.readTree(out);
      Optional<Path> backing =
          Optional.ofNullable(n.get("full-backing-filename"))
              .or(() -> Optional.ofNullable(n.get("backing-filename")))
              .map(JsonNode::asText)
              .map(Path::of);
      Optional<String> backingFmt =
          Optional.ofNullable(n.get("backing-filename-format")).map(JsonNode::asText);
      return new ImageInfo(n.get("virtual-size").asLong(), backing, backingFmt);
    } catch (IOException | RuntimeException e) {
      throw new SnapshotException("qemu-img info " + image + ": unreadable output: " + out, e);
    }
  }

  /**
   * {@code qemu-img create -f qcow2 [-b <backing> -F <backingFormat>] <path> <size>}: the delta a
   * shallow block copy reuses.
   */
  void createDelta(Path path, Optional<Path> backing, Optional<String> backingFormat, long size) {
    List<String> cmd = new ArrayList<>(List.of("qemu-img", "create", "-f", "qcow2"));
    if (backing.isPresent()) {
      cmd.addAll(
          List.of(
              "-b",
              backing.get().toString(),
              "-F",
              backingFormat.orElseThrow(
                  () ->
                      new SnapshotException("backing file " + backing.get() + " has no format"))));
    }
    cmd.addAll(List.of(path.toString(), Long.toString(size)));
    run("create " + path, limited(cmd, 0));
  }

  /** {@code qemu-img convert -f <from> -O <to> [-c] [-U] <src> <dst>}. */
  void convert(
      Path src,
      String fromFormat,
      Path dst,
      String toFormat,
      boolean compress,
      boolean forceShare) {
    List<String> cmd =
        new ArrayList<>(List.of("qemu-img", "convert", "-f", fromFormat, "-O", toFormat));
    if (compress) {
      cmd.add("-c");
    }
    if (forceShare) {
      cmd.add("-U");
    }
    cmd.addAll(List.of(src.toString(), dst.toString()));
    run("convert " + src + " to " + toFormat, limited(cmd, 0));
  }

  private static List<String> limited(List<String> cmd, int cpuSeconds) {
    List<String> full = new ArrayList<>(List.of("prlimit", "--as=" + ADDRESS_SPACE));
    if (cpuSeconds > 0) {
      full.add("--cpu=" + cpuSeconds);
    }
    full.add("--");
    full.addAll(cmd);
    return full;
  }

  private static byte[] drain(InputStream in) {
    try (in) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String run(String step, List<String> cmd) {
    try {
      Process p = new ProcessBuilder(cmd).start();
      p.getOutputStream().close();
      // stderr on its own thread so neither pipe can fill up and stall qemu-img
      CompletableFuture<byte[]> err =
          CompletableFuture.supplyAsync(() -> drain(p.getErrorStream()));
      byte[] out = drain(p.getInputStream());
      if (!p.waitFor(10, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        throw new SnapshotException("qemu-img " + step + ": timed out");
      }
      if (p.exitValue() != 0) {
        throw new SnapshotException(
            "qemu-img "
                + step
                + " failed (exit "
                + p.exitValue()
                + "): "
                + new String(err.join(), StandardCharsets.UTF_8).strip());
      }
      return new String(out, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("qemu-img " + step + ": cannot run", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SnapshotException("qemu-img " + step + ": interrupted", e);
    }
  }
}
