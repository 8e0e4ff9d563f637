package io.virga.compute;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.LocalTime;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class HostUptimeTest {
  /** The pattern openstackclient's "hypervisor show" parses the uptime line with. */
  static final Pattern OSC =
      Pattern.compile("\\s*(.+)\\sup\\s+(.+),\\s+(.+)\\susers?,\\s+load average:\\s(.+)");

  @Test
  void formatsAsProcpsUptimeDoes() {
    LocalTime t = LocalTime.of(17, 37, 14);
    assertThat(HostUptime.format(t, 2 * 3600 + 33 * 60, 3, "0.33", "0.36", "0.34"))
        .isEqualTo(" 17:37:14 up  2:33,  3 users,  load average: 0.33, 0.36, 0.34");
    assertThat(HostUptime.format(t, 3 * 86400 + 4 * 3600 + 2 * 60, 1, "0.10", "0.20", "0.30"))
        .isEqualTo(" 17:37:14 up 3 days,  4:02,  1 user,  load average: 0.10, 0.20, 0.30");
    assertThat(HostUptime.format(t, 86400 + 59, 0, "0", "0", "0"))
        .isEqualTo(" 17:37:14 up 1 day, 0 min,  0 users,  load average: 0, 0, 0");
    var m = OSC.matcher(HostUptime.format(t, 7200, 2, "1.00", "0.50", "0.25"));
    assertThat(m.matches()).isTrue();
    assertThat(m.group(2)).isEqualTo("2:00");
    assertThat(m.group(3)).isEqualTo("2");
  }

  @Test
  void countsUserProcessRecordsOfUtmp() {
    byte[] utmp = new byte[384 * 3];
    utmp[0] = 7; // USER_PROCESS
    utmp[384] = 8; // DEAD_PROCESS
    utmp[768] = 7;
    assertThat(HostUptime.users(utmp)).isEqualTo(2);
    assertThat(HostUptime.users(new byte[0])).isZero();
    assertThat(HostUptime.format(LocalTime.MIDNIGHT, 60, 12, "1", "1", "1"))
        .contains("min, 12 users");
  }

  @Test
  void readsThisHost() {
    assertThat(HostUptime.read())
        .matches(" \\d\\d:\\d\\d:\\d\\d up .*, +\\d+ users?,  load average: .*");
  }
}
