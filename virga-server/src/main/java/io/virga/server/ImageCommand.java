package io.virga.server;

import io.virga.tinyguest.TinyGuest;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code virga image ...}: image tools. */
@Command(
    name = "image",
    mixinStandardHelpOptions = true,
    description = "Image tools.",
    subcommands = {ImageCommand.BuildTiny.class})
final class ImageCommand implements Runnable {
  @Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  /** {@code virga image build-tiny}: builds (or finds in the cache) the tiny test guest. */
  @Command(
      name = "build-tiny",
      mixinStandardHelpOptions = true,
      description = {
        "Builds Virga's tiny guest (Debian's cloud kernel and a busybox initramfs) from Debian"
            + " packages: a bootable qcow2 disk, and the kernel and initrd for direct kernel boot.",
        "Cached: rebuilt only when its inputs (package versions, scripts) change. Prints the"
            + " three paths. Its console protocol is documented in io.virga.tinyguest.TinyGuest."
      })
  static final class BuildTiny implements Callable<Integer> {
    @Option(
        names = "--output",
        paramLabel = "DIR",
        description = "cache directory to build into (default: ${DEFAULT-VALUE})")
    Path output = TinyGuest.defaultCacheDir();

    @Override
    public Integer call() {
      long start = System.nanoTime();
      TinyGuest.Artifacts a = TinyGuest.ensureBuilt(output);
      System.out.println("disk:   " + a.disk());
      System.out.println("kernel: " + a.kernel());
      System.out.println("initrd: " + a.initrd());
      System.out.printf("ready in %d ms%n", (System.nanoTime() - start) / 1_000_000);
      return 0;
    }
  }
}
