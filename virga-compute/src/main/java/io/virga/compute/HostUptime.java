package io.virga.compute;

import io.virga.core.NotImplementedException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * The host's uptime line for {@code os-hypervisors/{id}/uptime}, in the shape of procps' {@code
 * uptime} (which Nova's libvirt driver runs): {@code " 10:21:05 up 3 days, 4:02, load average:
 * 0.10, 0.20, 0.30"}, read from {@code /proc/uptime} and {@code /proc/loadavg} (the logged-in user
 * count, which Virga cannot know without utmp, is left out). Times are UTC.
 */
final class HostUptime {
  private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss");

  private HostUptime() {}

  static String read() {
    try {
      double seconds =
          Double.parseDouble(Files.readString(Path.of("/proc/uptime")).split("\\s+")[0]);
      String[] load = Files.readString(Path.of("/proc/loadavg")).split("\\s+");
      return format(LocalTime.now(ZoneOffset.UTC), (long) seconds, load[0], load[1], load[2]);
    } catch (IOException | RuntimeException e) {
      throw new NotImplementedException("cannot read the host's uptime: " + e.getMessage());
    }
  }

  static String format(LocalTime now, long upSeconds, String l1, String l5, String l15) {
    long days = upSeconds / 86400;
    long hours = (upSeconds % 86400) / 3600;
    long minutes = (upSeconds % 3600) / 60;
    StringBuilder up = new StringBuilder();
    if (days > 0) {
      up.append(days).append(days == 1 ? " day, " : " days, ");
    }
    if (hours > 0) {
      up.append(String.format("%2d:%02d", hours, minutes));
    } else {
      up.append(minutes).append(" min");
    }
    return " "
        + CLOCK.format(now)
        + " up "
        + up
        + ",  load average: "
        + l1
        + ", "
        + l5
        + ", "
        + l15;
  }
}
