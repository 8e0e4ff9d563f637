package io.virga.libvirt;

import static org.assertj.core.api.Assertions.assertThat;

import io.virga.core.ImageMeta;
import io.virga.core.PowerState;
import io.virga.core.TaskState;
import io.virga.virt.InstanceSpec;
import io.virga.virt.RebootType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xmlunit.builder.Input;
import org.xmlunit.xpath.JAXPXPathEngine;

/**
 * Rebuild and rescue of the tiny guest on real libvirt + qemu (TCG). The guest's user data writes a
 * marker to its root disk (and, for rebuild, another to its ephemeral disk); the console of each
 * later boot says which disks the guest sees and which markers they carry.
 */
class LibvirtRebuildRescueIT {
  private static final Duration BOOT = Duration.ofSeconds(120);

  /** A sector near the end of the 1 GiB ephemeral disk, where nothing else writes. */
  private static final int EPH_SECTOR = 2_000_000;

  private LibvirtDriverFixture fx;

  @BeforeEach
  void fixture() {
    fx = new LibvirtDriverFixture();
  }

  @AfterEach
  void cleanup() {
    fx.close();
  }

  private static InstanceSpec with(InstanceSpec s, ImageMeta image, String userData) {
    return new InstanceSpec(
        s.uuid(),
        s.domainName(),
        s.displayName(),
        s.hostname(),
        s.projectId(),
        s.userId(),
        s.flavor(),
        image,
        s.metadata(),
        Optional.of(userData.getBytes(StandardCharsets.UTF_8)),
        s.publicKeys(),
        s.configDrive(),
        s.availabilityZone(),
        s.launchIndex(),
        s.createdAt());
  }

  private String liveXml(InstanceSpec spec) {
    try (Guest g = fx.driver.host().lookup(spec.uuid()).orElseThrow()) {
      return g.xml(0);
    }
  }

  private static String xpath(String xml, String expr) {
    return new JAXPXPathEngine().evaluate(expr, Input.fromString(xml).build());
  }

  private static boolean hasLine(String console, String prefix) {
    return Pattern.compile("(?m)^" + Pattern.quote(prefix)).matcher(console).find();
  }

  @Test
  void rebuildRecreatesTheRootDiskFromTheNewImageAndKeepsTheEphemeral() throws Exception {
    String tag = UUID.randomUUID().toString().substring(0, 8);
    String first =
        "#!/bin/sh\n"
            + "virga-marker write OLD-"
            + tag
            + "\n"
            + "printf 'EPH-"
            + tag
            + "\\n' | dd of=/dev/vdb bs=512 seek="
            + EPH_SECTOR
            + " conv=sync,fsync 2>/dev/null && echo EPH-WRITTEN\n";
    InstanceSpec spec =
        fx.spec(
            "rebuild-" + tag,
            LibvirtDriverFixture.flavor(128, 1, 0),
            fx.diskImage(Map.of()),
            Optional.of(first));
    fx.spawn(spec);
    fx.awaitConsole(spec, "VIRGA-MARKER-WRITTEN OLD-" + tag, BOOT);
    fx.awaitConsole(spec, "EPH-WRITTEN", BOOT);
    // control: a hard reboot keeps the root disk, and its boot shows the marker
    fx.driver.reboot(spec, RebootType.HARD, fx.images);
    fx.awaitConsole(spec, "VIRGA-GUEST-UP", BOOT);
    assertThat(hasLine(fx.console(spec), "VIRGA-MARKER OLD-" + tag)).isTrue();

    ImageMeta newImage = fx.diskImage(Map.of());
    String second =
        "#!/bin/sh\n"
            + "echo \"EPH-READ $(dd if=/dev/vdb bs=512 skip="
            + EPH_SECTOR
            + " count=1 2>/dev/null | tr -d '\\000' | head -n 1)\"\n";
    InstanceSpec rebuilt = with(spec, newImage, second).withAdminPass(Optional.of("rb-" + tag));
    List<TaskState> tasks = Collections.synchronizedList(new ArrayList<>());
    fx.driver.rebuild(rebuilt, fx.images, true, tasks::add);
    assertThat(tasks)
        .containsExactly(TaskState.REBUILD_BLOCK_DEVICE_MAPPING, TaskState.REBUILD_SPAWNING);
    assertThat(fx.driver.getInfo(spec.uuid()).orElseThrow().powerState())
        .isEqualTo(PowerState.RUNNING);
    // the new config drive carries the new user data, which finds the old ephemeral's marker
    fx.awaitConsole(rebuilt, "EPH-READ EPH-" + tag, BOOT);
    String console = fx.console(rebuilt);
    assertThat(console).contains("VIRGA-GUEST-UP uuid=" + spec.uuid());
    assertThat(hasLine(console, "VIRGA-MARKER OLD-" + tag)).as(console).isFalse();
    assertThat(fx.fetchCount(newImage.id())).isEqualTo(1);
    Path dir = fx.instanceDir(spec);
    var info = new QemuImg().info(dir.resolve("disk"), "qcow2", true);
    assertThat(info.backingFile())
        .contains(
            fx.driver.options().baseDir().resolve(ImageCache.baseName(newImage.id())).toString());
    assertThat(Files.readString(dir.resolve(GuestDefinition.LIBVIRT_XML))).contains(newImage.id());
    // the rebuild's password is on the regenerated config drive (Nova's admin_pass)
    assertThat(
            LibvirtDriverFixture.configDriveMetaData(
                    dir.resolve(DiskMapping.CONFIG), Files.createTempDirectory(dir, "md"))
                .path("admin_pass")
                .asText())
        .isEqualTo("rb-" + tag);

    // without preserve_ephemeral the ephemeral disk is made afresh: the marker is gone
    fx.driver.rebuild(rebuilt, fx.images, false, t -> {});
    fx.awaitConsole(rebuilt, "(?m)^EPH-READ", BOOT);
    assertThat(fx.console(rebuilt)).doesNotContain("EPH-READ EPH-" + tag);
  }

  @Test
  void rescueBootsTheRescueImageWithTheRootDiskSecondAndUnrescueRestoresIt() throws Exception {
    String tag = UUID.randomUUID().toString().substring(0, 8);
    String userData =
        "#!/bin/sh\n"
            + ". /lib/virga/functions.sh\n"
            + "if [ -e /dev/vdb ] && [ \"$(disk_label /dev/vdb)\" = VIRGAROOT ]; then\n"
            + "  echo \"RESCUE-SEES-VDB $(marker_read /dev/vdb)\"\n"
            + "else\n"
            + "  virga-marker write ROOT-"
            + tag
            + "\n"
            + "fi\n";
    InstanceSpec spec =
        fx.spec(
            "rescue-" + tag,
            LibvirtDriverFixture.flavor(128, 0, 0),
            fx.diskImage(Map.of()),
            Optional.of(userData));
    fx.spawn(spec);
    fx.awaitConsole(spec, "VIRGA-MARKER-WRITTEN ROOT-" + tag, BOOT);
    String original = liveXml(spec);
    Path dir = fx.instanceDir(spec);

    ImageMeta rescueImage = fx.diskImage(Map.of());
    fx.driver.powerOff(spec, Duration.ofSeconds(20), Duration.ofSeconds(2));
    fx.driver.rescue(spec, rescueImage, fx.images);
    fx.awaitConsole(spec, "RESCUE-SEES-VDB ROOT-" + tag, BOOT);
    String rescueConsole = fx.console(spec);
    // booted from the rescue disk (no marker on vda), the original root is its second disk
    assertThat(hasLine(rescueConsole, "VIRGA-MARKER ROOT-" + tag)).isFalse();
    assertThat(rescueConsole).contains("VIRGA-DISK vdb").contains("label=VIRGAROOT");
    String rescueXml = liveXml(spec);
    assertThat(xpath(rescueXml, "/domain/devices/disk[target/@dev='vda']/source/@file"))
        .isEqualTo(dir.resolve(Rescue.DISK_RESCUE).toString());
    assertThat(xpath(rescueXml, "/domain/devices/disk[target/@dev='vdb']/source/@file"))
        .isEqualTo(dir.resolve("disk").toString());
    assertThat(xpath(rescueXml, "/domain/uuid")).isEqualTo(spec.uuid());
    assertThat(dir.resolve(Rescue.UNRESCUE_XML)).isRegularFile();
    assertThat(fx.fetchCount(rescueImage.id())).isEqualTo(1);

    fx.driver.unrescue(spec, fx.images);
    fx.awaitConsole(spec, "VIRGA-GUEST-UP", BOOT);
    String back = fx.console(spec);
    assertThat(hasLine(back, "VIRGA-MARKER ROOT-" + tag)).as(back).isTrue();
    assertThat(back).doesNotContain("RESCUE-SEES-VDB");
    String restored = liveXml(spec);
    assertThat(xpath(restored, "count(/domain/devices/disk[@device='disk'])")).isEqualTo("1");
    assertThat(xpath(restored, "/domain/devices/disk[target/@dev='vda']/source/@file"))
        .isEqualTo(xpath(original, "/domain/devices/disk[target/@dev='vda']/source/@file"));
    assertThat(dir.resolve(Rescue.UNRESCUE_XML)).doesNotExist();
    assertThat(dir.resolve(Rescue.DISK_RESCUE)).doesNotExist();
    assertThat(DiskInfo.read(dir)).doesNotContainKey(Rescue.DISK_RESCUE);
    // unrescue of a server that is not rescued only makes sure it runs
    fx.driver.unrescue(spec, fx.images);
    assertThat(fx.driver.getInfo(spec.uuid()).orElseThrow().powerState())
        .isEqualTo(PowerState.RUNNING);
  }
}
