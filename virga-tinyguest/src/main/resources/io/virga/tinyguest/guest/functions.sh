# Shared shell functions of Virga's tiny guest (sourced by /init and the virga-* commands).
# The console protocol they print is documented in io.virga.libvirt.TinyGuest.

# The root disk's marker area: one 512-byte sector at 1 MiB, inside the FAT image's reserved
# sectors (the image is made with mkdosfs -R 4096, so sectors 1..4095 belong to no file).
MARKER_SECTOR=2048
MARKER_MAGIC=VIRGA-MARKER1
ROOT_LABEL=VIRGAROOT

# bytes DEV OFFSET COUNT: COUNT raw bytes of DEV at OFFSET, NULs dropped.
bytes() {
  dd if="$1" bs=1 skip="$2" count="$3" 2>/dev/null | tr -d '\000'
}

# trim: strips leading and trailing blanks.
trim() {
  sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//'
}

# disk_label DEV: the filesystem label of DEV (ext2/3/4, swap, iso9660, vfat), empty if none.
disk_label() {
  dev="$1"
  if [ "$(bytes "$dev" 32769 5)" = "CD001" ]; then
    bytes "$dev" 32808 32 | trim
  elif [ "$(dd if="$dev" bs=1 skip=1080 count=2 2>/dev/null | od -An -tx1 | tr -d ' ')" = "53ef" ]; then
    bytes "$dev" 1144 16 | trim
  elif [ "$(bytes "$dev" 4086 10)" = "SWAPSPACE2" ]; then
    bytes "$dev" 1052 16 | trim
  elif [ "$(bytes "$dev" 82 5)" = "FAT32" ]; then
    bytes "$dev" 71 11 | trim | grep -v '^NO NAME$'
  elif [ "$(bytes "$dev" 54 3)" = "FAT" ]; then
    bytes "$dev" 43 11 | trim | grep -v '^NO NAME$'
  fi
}

# root_disk: the virtio disk holding the tiny guest's own FAT image (label VIRGAROOT).
root_disk() {
  for d in /sys/block/vd*; do
    [ -e "$d" ] || continue
    dev="/dev/${d##*/}"
    if [ "$(disk_label "$dev")" = "$ROOT_LABEL" ]; then
      echo "$dev"
      return 0
    fi
  done
  return 1
}

# marker_read DEV: the marker text stored on DEV, fails if there is none.
marker_read() {
  dd if="$1" bs=512 skip="$MARKER_SECTOR" count=1 2>/dev/null | tr -d '\000' | {
    read -r magic || return 1
    read -r text
    [ "$magic" = "$MARKER_MAGIC" ] || return 1
    echo "$text"
  }
}
