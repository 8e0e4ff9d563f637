package io.virga.libvirt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.virga.core.Command;
import io.virga.core.CommandException;
import io.virga.core.Config;
import io.virga.core.DiskFormat;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The one runner for qemu-img (DESIGN §5): every call names the format with {@code -f} (and the
 * backing format with {@code -F}), {@code info} output is JSON, and calls that read untrusted data
 * ({@link #info}, {@link #convert}) run under {@code prlimit} address-space and CPU limits.
 * Commands are argument lists, never shell strings; paths are made absolute so no file name is
 * taken for an option or a protocol prefix.
 */
final class QemuImg {
  /** Formats Virga ever hands to qemu-img (qemu driver names; never qed). */
  static final Set<String> FORMATS = Set.of("raw", "qcow2", "vmdk", "vpc", "vhdx", "vdi");

  private static final ObjectMapper JSON = new ObjectMapper();

  /** Convert is bounded by its CPU limit; this only ends a qemu-img that hangs on I/O. */
  private static final Duration TIMEOUT = Duration.ofHours(6);

  /**
   * Resource limits for qemu-img on untrusted data.
   *
   * @param addressSpaceBytes {@code prlimit --as}
   * @param infoCpuSeconds {@code prlimit --cpu} for {@code info}
   * @param convertCpuSeconds {@code prlimit --cpu} for {@code convert} (scales with image size)
   */
  public record Limits(long addressSpaceBytes, int infoCpuSeconds, int convertCpuSeconds) {
    /** 1 GiB address space, 30 s CPU for info, 600 s CPU for convert. */
    public static final Limits DEFAULT = new Limits(1L << 30, 30, 600);
  }

  /**
   * Parsed {@code qemu-img info --output=json}.
   *
   * @param format the format qemu-img used (the one we passed with -f)
   * @param backingFile the backing file as an absolute path when present
   */
  public record Info(
      String format,
      long virtualSize,
      long actualSize,
      Optional<String> backingFile,
      Optional<String> backingFormat) {}

  private final String binary;
  private final Limits limits;

  public QemuImg() {
    this("qemu-img", Limits.DEFAULT);
  }

  public QemuImg(String binary, Limits limits) {
    this.binary = binary;
    this.limits = limits;
  }

  /**
   * From options {@code qemu_img_address_space_mb} (1024), {@code qemu_img_info_cpu_seconds} (30)
   * and {@code qemu_img_convert_cpu_seconds} (600).
   */
  public static QemuImg fromConfig(Config config) {
    return new QemuImg(
        "qemu-img",
        new Limits(
            config.longValue("qemu_img_address_space_mb", 1024) << 20,
            config.integer("qemu_img_info_cpu_seconds", 30),
            config.integer("qemu_img_convert_cpu_seconds", 600)));
  }

  public Limits limits() {
    return limits;
  }

  /**
   * {@code qemu-img info -f <format> --output=json [-U] <image>} under the resource limits.
   *
   * @param forceShare add {@code -U} (the image is in use by a running guest)
   */
  public Info info(Path image, String format, boolean forceShare) {
    List<String> args = new ArrayList<>(List.of("info", "-f", checked(format), "--output=json"));
    if (forceShare) {
      args.add("-U");
    }
    args.add(abs(image));
    String out = run(args, Optional.of(limits.infoCpuSeconds()));
    try {
      JsonNode n = JSON.readTree(out);
      String backing =
          n.hasNonNull("full-backing-filename")
              ? n.get("full-backing-filename").asText()
              : n.path("backing-filename").asText(null);
      return new Info(
          n.path("format").asText(),
          n.path("virtual-size").asLong(),
          n.path("actual-size").asLong(),
          Optional.ofNullable(backing),
          Optional.ofNullable(n.path("backing-filename-format").asText(null)));
    } catch (IOException e) {
      throw new QemuImgException("qemu-img info " + image + " printed unparsable JSON: " + out, e);
    }
  }

  public Info info(Path image, DiskFormat format, boolean forceShare) {
    return info(image, format.qemuName(), forceShare);
  }

  /** {@code qemu-img create -f <format> <image> <bytes>} (no backing file). */
  public void create(Path image, String format, long sizeBytes) {
    run(
        List.of("create", "-f", checked(format), abs(image), Long.toString(sizeBytes)),
        Optional.empty());
  }

  /**
   * A qcow2 overlay: {@code qemu-img create -f qcow2 -b <backing> -F <backingFormat> <overlay>
   * <bytes>}. The backing file is given as an absolute path and with its format, so qemu never
   * probes it.
   */
  public void createOverlay(Path overlay, Path backing, String backingFormat, long sizeBytes) {
    run(
        List.of(
            "create",
            "-f",
            "qcow2",
            "-b",
            abs(backing),
            "-F",
            checked(backingFormat),
            abs(overlay),
            Long.toString(sizeBytes)),
        Optional.empty());
  }

  /**
   * {@code qemu-img convert -f <src> -O <dst> [-c] <in> <out>} under the resource limits (the input
   * may be tenant data).
   *
   * @param compress {@code -c} (qcow2 output only)
   */
  public void convert(Path in, String inFormat, Path out, String outFormat, boolean compress) {
    convert(in, inFormat, out, outFormat, compress, true);
  }

  /**
   * {@link #convert(Path, String, Path, String, boolean)} with the limits optional: pass {@code
   * untrusted=false} only for images whose headers Virga wrote itself (an instance's own overlay
   * being snapshotted, a verified base), where a long compression must not hit the CPU limit.
   */
  public void convert(
      Path in, String inFormat, Path out, String outFormat, boolean compress, boolean untrusted) {
    List<String> args =
        new ArrayList<>(List.of("convert", "-f", checked(inFormat), "-O", checked(outFormat)));
    if (compress) {
      args.add("-c");
    }
    args.add(abs(in));
    args.add(abs(out));
    run(args, untrusted ? Optional.of(limits.convertCpuSeconds()) : Optional.empty());
  }

  /** {@code qemu-img resize -f <format> <image> <bytes>} (grow only; shrinking is refused). */
  public void resize(Path image, String format, long sizeBytes) {
    run(
        List.of("resize", "-f", checked(format), abs(image), Long.toString(sizeBytes)),
        Optional.empty());
  }

  /**
   * {@code qemu-img rebase -f <format> -b <backing> -F <backingFormat> [-u] <image>}.
   *
   * @param unsafe {@code -u}: only rewrite the header (the new backing has the same content)
   */
  public void rebase(
      Path image, String format, Path backing, String backingFormat, boolean unsafe) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "rebase", "-f", checked(format), "-b", abs(backing), "-F", checked(backingFormat)));
    if (unsafe) {
      args.add("-u");
    }
    args.add(abs(image));
    run(args, Optional.empty());
  }

  private String run(List<String> args, Optional<Integer> cpuSeconds) {
    List<String> cmd = new ArrayList<>();
    cmd.add(binary);
    cmd.addAll(args);
    Command c = Command.of(cmd).timeout(TIMEOUT);
    cpuSeconds.ifPresent(cpu -> c.limits(new Command.Limits(limits.addressSpaceBytes(), cpu)));
    String what = "qemu-img " + args.get(0);
    Command.Result r;
    try {
      r = c.run();
    } catch (CommandException e) {
      throw new QemuImgException(what + ": " + e.getMessage(), e);
    }
    if (!r.ok()) {
      String hint =
          r.exitCode() > 128
              ? " (killed by signal " + (r.exitCode() - 128) + ", a resource limit?)"
              : "";
      String stderr = r.stderr().strip();
      throw new QemuImgException(
          what
              + " failed with exit code "
              + r.exitCode()
              + hint
              + ": "
              + (stderr.isEmpty() ? r.stdout().strip() : stderr),
          r.exitCode(),
          stderr);
    }
    return r.stdout();
  }

  static String abs(Path p) {
    return p.toAbsolutePath().normalize().toString();
  }

  private static String checked(String format) {
    if (!FORMATS.contains(format)) {
      throw new IllegalArgumentException("qemu-img format '" + format + "' is not allowed");
    }
    return format;
  }
}
