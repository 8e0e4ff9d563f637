#!/bin/sh
# Spawn benchmark: LibvirtDriver spawn-to-RUNNING against the raw floor (see bench/README.md).
# Usage: bench/spawn.sh [runs=5] [concurrency=8]   (needs libvirtd + qemu; builds the tiny guest)
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
cp="$(bench_classpath virga-libvirt)"
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -Dlogback.configurationFile=bench/logback-bench.xml \
  -cp "$cp" io.virga.libvirt.SpawnBench "$@"
