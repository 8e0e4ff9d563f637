package io.virga.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.virga.core.Command;
import io.virga.core.Config;
import io.virga.core.FileTrees;
import io.virga.tinyguest.TinyGuest;
import io.virga.tinyguest.TinyGuestDomain;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.LibvirtException;

/**
 * Host setup, then the tiny guest booted through libvirt from Java (plain libvirt-java, on purpose
 * independent of Virga's driver), then nothing left behind. Needs root, libvirtd and qemu: -Pit.
 */
class TinyGuestBootIT {
  private static final Duration BOOT = Duration.ofSeconds(120);
  private static HostSetup.Result host;

  private Connect conn;
  private Path dir;
  private final String name = "virga-it-tinyguest-" + UUID.randomUUID().toString().substring(0, 8);

  @BeforeAll
  static void setUpHost() {
    host = HostSetup.run(HostSetup.Options.defaults(true), Config.load(), System.out::println);
    assertThat(host.virtType()).isIn("kvm", "qemu");
  }

  @BeforeEach
  void connect() throws Exception {
    conn = new Connect("qemu:///system");
    dir = Files.createTempDirectory("virga-tinyguest-it");
  }

  @AfterEach
  void cleanUp() throws Exception {
    try {
      removeDomain();
      conn.close();
    } finally {
      FileTrees.deleteTree(dir);
    }
  }

  @Test
  void bootsFromItsQcow2DiskReadsTheConfigDriveKeepsTheMarkerAndObeysAcpi() throws Exception {
    TinyGuest.Artifacts guest = host.guest();
    Path overlay = dir.resolve("disk");
    Command.of(
            List.of(
                "qemu-img",
                "create",
                "-f",
                "qcow2",
                "-F",
                "qcow2",
                "-b",
                guest.disk().toString(),
                overlay.toString(),
                "1G"))
        .check();
    String uuid = UUID.randomUUID().toString();
    String marker = "it-" + UUID.randomUUID().toString().substring(0, 8);
    Path configDrive =
        configDrive(uuid, "tiny-it", "#!/bin/sh\nvirga-marker write " + marker + "\n");
    Path console = dir.resolve("console.log");

    Domain dom =
        conn.domainDefineXML(
            TinyGuestDomain.domainXml(
                host.virtType(),
                name,
                guest,
                Optional.of(overlay),
                Optional.of(configDrive),
                console));
    long start = System.nanoTime();
    dom.create();
    awaitConsole(console, "VIRGA-GUEST-UP uuid=" + uuid + " hostname=tiny-it");
    System.out.printf(
        "tiny guest (%s, qcow2 disk) printed VIRGA-GUEST-UP %d ms after start%n",
        host.virtType(), (System.nanoTime() - start) / 1_000_000);
    String log = Files.readString(console);
    assertThat(log).contains("VIRGA-DISK vda bytes=1073741824 label=VIRGAROOT");
    assertThat(log).doesNotContain("VIRGA-MARKER " + marker); // not written yet at boot
    awaitConsole(console, "VIRGA-MARKER-WRITTEN " + marker);
    awaitConsole(console, "VIRGA-USER-DATA exit=0");
    awaitConsole(console, "TICK 2");

    dom.shutdown(); // the ACPI power button
    await().atMost(BOOT).pollInterval(Duration.ofMillis(200)).until(() -> dom.isActive() == 0);
    assertThat(Files.readString(console)).contains("VIRGA-ACPI-POWER poweroff");

    dom.create(); // the marker lives on the disk, so the next boot reports it
    awaitConsole(console, "VIRGA-GUEST-UP uuid=" + uuid);
    assertThat(Files.readString(console)).contains("VIRGA-MARKER " + marker);
    dom.free();

    removeDomain();
    assertThat(conn.listDefinedDomains()).doesNotContain(name);
    assertThat(activeNames()).doesNotContain(name);
    assertThatThrownBy(() -> conn.domainLookupByName(name)).isInstanceOf(LibvirtException.class);
    FileTrees.deleteTree(dir);
    assertThat(dir).doesNotExist();
  }

  @Test
  void bootsByDirectKernelBootWithoutConfigDrive() throws Exception {
    Path console = dir.resolve("console.log");
    long start = System.nanoTime();
    Domain dom =
        conn.domainCreateXML(
            TinyGuestDomain.domainXml(
                host.virtType(), name, host.guest(), Optional.empty(), Optional.empty(), console),
            0);
    awaitConsole(console, "VIRGA-GUEST-UP uuid=none");
    System.out.printf(
        "tiny guest (%s, direct kernel boot) printed VIRGA-GUEST-UP %d ms after start%n",
        host.virtType(), (System.nanoTime() - start) / 1_000_000);
    assertThat(Files.readString(console)).doesNotContain("VIRGA-DISK");
    awaitConsole(console, "TICK 1");
    dom.destroy(); // transient: gone once destroyed
    dom.free();
    assertThatThrownBy(() -> conn.domainLookupByName(name)).isInstanceOf(LibvirtException.class);
  }

  private Path configDrive(String uuid, String hostname, String userData) throws Exception {
    Path root = dir.resolve("config-drive");
    Path latest = Files.createDirectories(root.resolve("openstack/latest"));
    Files.writeString(
        latest.resolve("meta_data.json"),
        "{\"uuid\": \"" + uuid + "\", \"hostname\": \"" + hostname + "\", \"name\": \"it\"}");
    Files.writeString(latest.resolve("user_data"), userData);
    Path iso = dir.resolve("disk.config");
    Command.of(
            List.of(
                "xorriso",
                "-as",
                "mkisofs",
                "-quiet",
                "-o",
                iso.toString(),
                "-V",
                "config-2",
                "-J",
                "-r",
                root.toString()))
        .check();
    return iso;
  }

  private static void awaitConsole(Path console, String text) {
    await("console shows '" + text + "'")
        .atMost(BOOT)
        .pollInterval(Duration.ofMillis(100))
        .until(() -> TinyGuestDomain.consoleHas(console, text));
  }

  private List<String> activeNames() throws LibvirtException {
    return Arrays.stream(conn.listDomains())
        .mapToObj(
            id -> {
              try {
                Domain d = conn.domainLookupByID(id);
                String n = d.getName();
                d.free();
                return n;
              } catch (LibvirtException e) {
                return ""; // went away meanwhile
              }
            })
        .toList();
  }

  private void removeDomain() throws LibvirtException {
    Domain d;
    try {
      d = conn.domainLookupByName(name);
    } catch (LibvirtException e) {
      return; // nothing to remove
    }
    try {
      if (d.isActive() == 1) {
        d.destroy();
      }
      if (d.isPersistent() == 1) {
        d.undefine();
      }
    } finally {
      d.free();
    }
  }
}
