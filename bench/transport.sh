#!/bin/sh
# Transport benchmark: POST /servers -> ACTIVE over RabbitMQ against in-process RPC (bench/README.md).
# Usage: bench/transport.sh [runs=30] [fake|libvirt]   (needs rabbitmq-server; libvirt: the machine's
# libvirtd and qemu, the tiny guest booted under TCG)
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
cp="$(bench_classpath virga-server)"
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED \
  -Dlogback.configurationFile=${VIRGA_BENCH_LOGBACK:-bench/logback-bench.xml} \
  -cp "$cp" io.virga.server.TransportBench "$@"
