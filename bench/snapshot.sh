#!/bin/sh
# Snapshot benchmark: live and cold snapshot wall time of the tiny guest's root disk against
# `qemu-img convert` of the same disk in the same run, and the guest-visible pause (largest gap
# between the guest's once-a-second TICK lines around each snapshot). See bench/README.md.
#
# Usage: bench/snapshot.sh [runs]   (default 5; needs root, libvirtd, qemu, the tiny guest inputs)
set -eu
runs="${1:-5}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
. bench/lib.sh
cp="$(bench_classpath virga-libvirt)"

echo "snapshot bench: $runs interleaved runs, $(nproc) cpus, $(qemu-img --version | head -1)"
exec "$JAVA_HOME/bin/java" -Xmx512m -Dlogback.configurationFile=bench/snapshot-logback.xml \
  -cp "$cp" io.virga.libvirt.SnapshotBench "$runs"
