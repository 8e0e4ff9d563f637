package io.virga.tinyguest;

import java.nio.file.Path;

/**
 * Virga's tiny guest: Debian's cloud kernel and a busybox initramfs, the guest every integration
 * test and the demo boot. Built from Debian packages fetched with {@code apt-get download} (never
 * installed) without root-only steps, cached under a key made of its inputs, rebuilt only when they
 * change.
 *
 * <h2>Artifacts</h2>
 *
 * <ul>
 *   <li>{@code disk}: a qcow2 image (read-only in the cache: boot an overlay with {@code
 *       backing_fmt=qcow2}) holding a partition-less FAT16 filesystem labelled {@code VIRGAROOT}
 *       with SYSLINUX in its boot sector; it boots the kernel with {@link #KERNEL_CMDLINE} on any
 *       BIOS machine. Virtual size about 32 MiB; grow it freely.
 *   <li>{@code kernel}, {@code initrd}: the same kernel and initramfs for direct kernel boot
 *       ({@code <kernel>}, {@code <initrd>}, {@code <cmdline>}{@link #KERNEL_CMDLINE}{@code
 *       </cmdline>}).
 * </ul>
 *
 * <h2>Console protocol (serial ttyS0), in this order</h2>
 *
 * <ol>
 *   <li>{@code VIRGA-DISK <dev> bytes=<size>[ label=<label>]} for every virtio disk ({@code vda},
 *       {@code vdb}, ...), with its filesystem label if it has one (ext2/3/4, swap, iso9660, vfat).
 *       The root disk shows {@code label=VIRGAROOT}; Nova-style ephemeral disks {@code
 *       label=ephemeral0}.
 *   <li>{@code VIRGA-MARKER <text>} if the root disk's marker area holds a marker (see below).
 *   <li>{@code VIRGA-GUEST-UP uuid=<uuid> hostname=<hostname>} once a disk labelled {@code
 *       config-2} (iso9660 or vfat, on a cdrom {@code sr*} or a virtio disk) was mounted, with the
 *       values of {@code openstack/latest/meta_data.json}; {@code VIRGA-GUEST-UP uuid=none} without
 *       config drive. Every line above is printed before this one, so a test that has seen it can
 *       read the whole log.
 *   <li>If the config drive's {@code openstack/latest/user_data} starts with {@code #!}, it is run
 *       by busybox {@code sh} (whatever the interpreter line says), its output on the console,
 *       followed by {@code VIRGA-USER-DATA exit=<status>}.
 *   <li>{@code TICK <n>} every second, n = 1, 2, ... from a shell variable: the count lives in RAM,
 *       so a live migration continues it and a reboot restarts it.
 * </ol>
 *
 * <p>The ACPI power button (libvirt {@code shutdown}, needs {@code <features><acpi/></features>})
 * prints {@code VIRGA-ACPI-POWER poweroff}, then {@code VIRGA-POWEROFF}, and powers off; after
 * {@code virga-ignore-acpi} it prints {@code VIRGA-ACPI-POWER ignored} and keeps running. Without
 * {@code <acpi/>} there is no button: {@code VIRGA-ACPI-POWER no-button} at boot. libvirt's default
 * {@code reboot} works through the same button (libvirt resets the guest once it powers off).
 *
 * <h2>Commands for user_data (all in busybox's PATH)</h2>
 *
 * <ul>
 *   <li>{@code virga-marker write <text>}: stores {@code <text>} (one line, at most 400 bytes) in
 *       the marker area and flushes it to the disk; prints {@code VIRGA-MARKER-WRITTEN <text>}.
 *       {@code virga-marker read} prints {@code VIRGA-MARKER <text>} (or {@code
 *       VIRGA-MARKER-NONE}); {@code virga-marker clear} erases it ({@code VIRGA-MARKER-CLEARED}).
 *   <li>{@code virga-ignore-acpi}: ignore the ACPI power button from now on ({@code
 *       VIRGA-ACPI-IGNORE on}); {@code virga-ignore-acpi off} obeys it again.
 *   <li>{@code virga-poweroff}: clean power-off ({@code VIRGA-POWEROFF}); {@code virga-reboot}:
 *       clean reboot ({@code VIRGA-REBOOT}).
 *   <li>{@code virga-dirty-memory <MiB> <MiB/s>}: keeps {@code <MiB>} of RAM filled with random
 *       data and rewrites {@code <MiB/s>} of it every second in the background ({@code
 *       VIRGA-DIRTY-MEMORY mib=… rate=…}), so a live migration slower than that cannot converge.
 * </ul>
 *
 * <h2>The marker area</h2>
 *
 * The FAT image is made with 4096 reserved sectors, which no file ever occupies; the marker is the
 * 512-byte sector at byte {@link #MARKER_OFFSET} of the root disk: the line {@code VIRGA-MARKER1},
 * the text and a newline, zero-padded. It survives anything that copies the disk's blocks
 * (snapshot, migration), and a host can read it from a raw copy of the disk at that offset.
 *
 * <h2>What it needs from the domain</h2>
 *
 * A BIOS machine ({@code pc}/i440fx: the cloud kernel has the IDE driver {@code ata_piix} for a
 * config-drive cdrom but no AHCI, so on q35 put the config drive on virtio instead), virtio disks,
 * a serial console, {@code <acpi/>}; 128 MiB of memory is plenty. Boots under TCG in a few seconds.
 */
public final class TinyGuest {
  /**
   * The kernel command line: the console on ttyS0, kernel chatter kept off it; {@code
   * no_timer_check} because on a loaded host the IO-APIC timer check of a TCG guest can miss its
   * window and panic, as cloud images also guard against.
   */
  public static final String KERNEL_CMDLINE = "console=ttyS0 quiet panic=-1 no_timer_check";

  /** Byte offset of the marker sector on the root disk. */
  public static final long MARKER_OFFSET = 2048L * 512;

  /** The boot line every test waits for. */
  public static final String BOOT_LINE = "VIRGA-GUEST-UP";

  /** The built guest: a bootable qcow2 disk, and its kernel and initramfs as separate files. */
  public record Artifacts(Path disk, Path kernel, Path initrd) {}

  /** The guest, and whether this call built it (false: it came from the cache). */
  public record Build(Artifacts artifacts, boolean built) {}

  private TinyGuest() {}

  /** Where the guest is cached unless told otherwise: {@code /var/cache/virga/guest}. */
  public static Path defaultCacheDir() {
    return Path.of("/var/cache/virga/guest");
  }

  /**
   * Returns the tiny guest for the current inputs, building it first if the cache does not have it.
   * Safe to call from several threads and processes at once: one builds, the others wait for it.
   *
   * @throws TinyGuestException when a package or tool is missing (the message says what to do)
   */
  public static Artifacts ensureBuilt(Path cacheDir) {
    return ensure(cacheDir).artifacts();
  }

  /** {@link #ensureBuilt}, saying whether this call built the guest or found it cached. */
  public static Build ensure(Path cacheDir) {
    return new TinyGuestBuilder(cacheDir).ensure();
  }
}
