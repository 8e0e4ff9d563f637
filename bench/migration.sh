#!/bin/sh
# Migration benchmarks between two namespaced hosts (see bench/README.md).
# Usage: bench/migration.sh live|cold [runs=5]   (root; libvirt, qemu, iproute2, bindfs)
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
cp="$(bench_classpath virga-libvirt)"
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED \
  -Dlogback.configurationFile=bench/logback-bench.xml \
  -cp "$cp" io.virga.libvirt.MigrationBench "$@"
