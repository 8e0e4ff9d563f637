package io.virga.core;

import java.util.Locale;

/** Disk formats as Glance names them; {@link #qemuName()} is what qemu-img's -f takes. */
public enum DiskFormat {
  RAW("raw"),
  QCOW2("qcow2"),
  VMDK("vmdk"),
  VHD("vpc"),
  VHDX("vhdx"),
  VDI("vdi"),
  QED("qed"),
  ISO("raw"),
  AMI("raw"),
  ARI("raw"),
  AKI("raw");

  private final String qemuName;

  DiskFormat(String qemuName) {
    this.qemuName = qemuName;
  }

  /** The glance name ({@code raw}, {@code qcow2}, {@code vhd} …). */
  public String glanceName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The qemu driver name ({@code vhd} is {@code vpc} to qemu; iso/ami/aki/ari are raw). */
  public String qemuName() {
    return qemuName;
  }

  public static DiskFormat ofGlance(String name) {
    try {
      return valueOf(name.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new InvalidInputException("Invalid disk_format '" + name + "'");
    }
  }
}
