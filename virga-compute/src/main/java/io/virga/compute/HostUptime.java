package io.virga.compute;

import io.virga.core.NotImplementedException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * The host's uptime line for {@code os-hypervisors/{id}/uptime}, as procps' {@code uptime} prints
 * it (Nova's libvirt driver runs that command): {@code " 10:21:05 up 3 days, 4:02, 2 users, load
 * average: 0.10, 0.20, 0.30"}, from {@code /proc/uptime}, {@code /proc/loadavg} and the
 * USER_PROCESS entries of utmp (none when the host keeps no utmp). Times are UTC.
 */
final class HostUptime {
  private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss");

  /** glibc's struct utmp on 64-bit Linux: 384 bytes, ut_type a short at offset 0. */
  private static final int UTMP_RECORD = 384;

  private static final short USER_PROCESS = 7;

  private HostUptime() {}

  static String read() {
    try {
      double seconds =
          Double.parseDouble(Files.readString(Path.of("/proc/uptime")).split("\\s+")[0]);
      String[] load = Files.readString(Path.of("/proc/loadavg")).split("\\s+");
      return format(
          LocalTime.now(ZoneOffset.UTC), (long) seconds, users(), load[0], load[1], load[2]);
    } catch (IOException | RuntimeException e) {
      throw new NotImplementedException("cannot read the host's uptime: " + e.getMessage());
    }
  }

  /** Logged-in users: USER_PROCESS records in utmp. */
  static int users() throws IOException {
    for (String f : new String[] {"/run/utmp", "/var/run/utmp"}) {
      Path p = Path.of(f);
      if (Files.isReadable(p)) {
        return users(Files.readAllBytes(p));
      }
    }
    return 0;
  }

  static int users(byte[] utmp) {
    ByteBuffer b = ByteBuffer.wrap(utmp).order(ByteOrder.LITTLE_ENDIAN);
    int n = 0;
    for (int off = 0; off + UTMP_RECORD <= utmp.length; off += UTMP_RECORD) {
      if (b.getShort(off) == USER_PROCESS) {
        n++;
      }
    }
    return n;
  }

  static String format(LocalTime now, long upSeconds, int users, String l1, String l5, String l15) {
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
        + ", "
        + String.format("%2d", users)
        + (users == 1 ? " user" : " users")
        + ",  load average: "
        + l1
        + ", "
        + l5
        + ", "
        + l15;
  }
}
