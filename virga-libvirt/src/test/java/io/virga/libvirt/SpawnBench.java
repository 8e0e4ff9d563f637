package io.virga.libvirt;

import io.virga.core.Flavor;
import io.virga.core.ImageMeta;
import io.virga.virt.InstanceSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * Spawn benchmark (bench/README.md): driver spawn-to-RUNNING against the raw floor — qemu-img
 * create of the overlay + defineXML + start of the same domain XML through libvirt, polled to
 * RUNNING — measured interleaved in one run over a cached base; single and 8 concurrent; medians
 * and ratios. Not a test: run by bench/spawn.sh.
 */
public final class SpawnBench {
  private final LibvirtDriverFixture fx;
  private final ImageMeta image;
  private final Flavor flavor = LibvirtDriverFixture.flavor(128, 0, 0);
  private final boolean configDrive;
  private final Path floorDir;
  private RawFloor floor;

  private SpawnBench(LibvirtDriverFixture fx, boolean configDrive) throws Exception {
    this.fx = fx;
    this.configDrive = configDrive;
    this.image = fx.diskImage(Map.of());
    this.floorDir = Files.createDirectories(fx.home.resolve("floor"));
  }

  public static void main(String[] args) throws Exception {
    int runs = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    int concurrency = args.length > 1 ? Integer.parseInt(args[1]) : 8;
    for (boolean cd : new boolean[] {false, true}) {
      try (var fx = new LibvirtDriverFixture()) {
        SpawnBench b = new SpawnBench(fx, cd);
        b.warm();
        System.out.printf(
            "%n== config drive: %s (flavor 128 MiB, 1 GiB root, cached base, TCG)%n",
            cd ? "yes" : "no");
        RawFloor.report("single", runs, 1, "driver", b::driverSpawn, b.floor::spawn);
        RawFloor.report(
            concurrency + " concurrent",
            runs,
            concurrency,
            "driver",
            b::driverSpawn,
            b.floor::spawn);
      }
    }
  }

  private InstanceSpec newSpec() {
    return LibvirtDriverFixture.withConfigDrive(
        fx.spec("bench", flavor, image, Optional.empty()), configDrive);
  }

  /** One driver spawn to fill the base cache and capture the XML the floor replays. */
  private void warm() throws Exception {
    InstanceSpec s = newSpec();
    fx.spawn(s);
    String templateXml = Files.readString(fx.instanceDir(s).resolve("libvirt.xml"));
    Optional<Path> cd = Optional.empty();
    if (configDrive) {
      cd = Optional.of(floorDir.resolve("disk.config"));
      Files.copy(fx.instanceDir(s).resolve("disk.config"), cd.get());
    }
    fx.driver.destroy(s, true);
    floor = RawFloor.of(fx.driver, floorDir, templateXml, image.id(), cd);
  }

  private long driverSpawn() {
    InstanceSpec s = newSpec();
    long t0 = System.nanoTime();
    fx.spawn(s);
    long ns = System.nanoTime() - t0;
    fx.driver.destroy(s, true);
    return ns;
  }
}
