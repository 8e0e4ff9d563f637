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
: "${JAVA_HOME:=/usr/lib/jvm/temurin-25-jdk-amd64}"
export JAVA_HOME

# Build through the reactor (never mvn install); package compiles the test classes the bench lives in.
mvn -B -q ${MVN_FLAGS:-} -pl virga-libvirt -am package -DskipTests
cpfile="$(mktemp)"
trap 'rm -f "$cpfile"' EXIT
mvn -B -q ${MVN_FLAGS:-} -pl virga-libvirt -am dependency:build-classpath \
  -Dmdep.includeScope=test -Dmdep.outputFile="$cpfile" >/dev/null
# third-party jars only: Virga's own classes come from this checkout's target directories
deps="$(tr ':' '\n' <"$cpfile" | grep -v '/io/virga/' | paste -sd: -)"
cp="virga-core/target/classes:virga-virt/target/classes:virga-libvirt/target/classes"
cp="$cp:virga-tinyguest/target/classes"
cp="$cp:virga-libvirt/target/test-classes:$deps"

echo "snapshot bench: $runs interleaved runs, $(nproc) cpus, $(qemu-img --version | head -1)"
exec "$JAVA_HOME/bin/java" -Xmx512m -Dlogback.configurationFile=bench/snapshot-logback.xml \
  -cp "$cp" io.virga.libvirt.SnapshotBench "$runs"
