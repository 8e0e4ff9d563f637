#!/bin/sh
# API benchmark: POST /servers -> ACTIVE through virga up against the raw floor (bench/README.md).
# Usage: bench/api.sh [runs=5] [concurrency=10]   (needs libvirtd + qemu; builds the tiny guest)
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
cp="$(bench_classpath virga-server)"
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED \
  -Dlogback.configurationFile=${VIRGA_BENCH_LOGBACK:-bench/logback-bench.xml} \
  -cp "$cp" io.virga.server.ApiBench "$@"
