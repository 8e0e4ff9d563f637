#!/bin/sh
# Scale benchmark: FakeDriver agents against one control plane on PostgreSQL + RabbitMQ (bench/README.md).
# Usage: bench/scale.sh [hosts=100] [servers=2000]   (needs postgresql and rabbitmq-server; no libvirt)
# VIRGA_BENCH_JAVA_OPTS: the API JVM's options (default -Xmx2g -Xss512k); VIRGA_BENCH_AGENTS_JAVA_OPTS: the
# agents' JVM's (default -Xmx3g -Xss512k); VIRGA_BENCH_WARMUP: servers booted and deleted before the
# measured run (default one per host; 0 for none).
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
cp="$(bench_classpath virga-server)"
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED ${VIRGA_BENCH_JAVA_OPTS:--Xmx2g -Xss512k} \
  -Dlogback.configurationFile=${VIRGA_BENCH_LOGBACK:-bench/logback-bench.xml} \
  -cp "$cp" io.virga.server.ScaleBench "$@"
