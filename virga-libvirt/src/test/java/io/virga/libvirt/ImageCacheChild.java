package io.virga.libvirt;

import io.virga.core.DiskFormat;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The other process of the cross-process tests (run with {@code java -cp <test classpath>}).
 *
 * <ul>
 *   <li>{@code lock <locksDir> <name> <holdMs>}: holds the lock, prints LOCKED, sleeps, releases.
 *   <li>{@code fetch <instancesDir> <imageId> <sourceFile> <counterFile> <delayMs>}: fetchBase with
 *       a source that appends a line to counterFile per fetch; prints the base path.
 * </ul>
 */
public final class ImageCacheChild {
  private ImageCacheChild() {}

  public static void main(String[] args) throws Exception {
    switch (args[0]) {
      case "lock" -> {
        try (FileLock l = FileLock.acquire(Path.of(args[1]), args[2])) {
          System.out.println("LOCKED");
          System.out.flush();
          Thread.sleep(Long.parseLong(args[3]));
        }
        System.out.println("RELEASED");
      }
      case "fetch" -> {
        ImageCache cache = new ImageCache(Path.of(args[1]), new QemuImg(), true);
        Path source = Path.of(args[3]);
        Path counter = Path.of(args[4]);
        long delay = Long.parseLong(args[5]);
        Path base =
            cache.fetchBase(
                ImageCacheFixtures.image(args[2], DiskFormat.RAW),
                (image, target) -> {
                  try {
                    Files.writeString(
                        counter, "child\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
                    Thread.sleep(delay);
                    Files.copy(source, target, StandardCopyOption.REPLACE_EXISTING);
                  } catch (Exception e) {
                    throw new IllegalStateException(e);
                  }
                });
        System.out.println("BASE " + base);
      }
      default -> throw new IllegalArgumentException(args[0]);
    }
  }

  static ProcessBuilder command(String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(
        List.of("-cp", System.getProperty("java.class.path"), ImageCacheChild.class.getName()));
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd).redirectErrorStream(true);
  }
}
