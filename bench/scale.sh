#!/bin/sh
# Scale benchmark: FakeDriver agents against one control plane on PostgreSQL + RabbitMQ (bench/README.md).
# Usage: bench/scale.sh [hosts=100] [servers=2000]   (needs postgresql and rabbitmq-server; no libvirt)
# VIRGA_BENCH_JAVA_OPTS: extra JVM options (default -Xmx6g -Xss512k).
set -eu
cd "$(dirname "$0")/.."
: "${JAVA_HOME:=/usr/lib/jvm/temurin-25-jdk-amd64}"
export JAVA_HOME
cp_file="$(mktemp)"
trap 'rm -f "$cp_file"' EXIT
mvn -B -q -o -pl virga-server -am test-compile dependency:build-classpath \
  -Dmdep.includeScope=test -Dmdep.outputFile="$cp_file" >/dev/null
cp="virga-server/target/test-classes"
for m in virga-server virga-api virga-compute virga-image virga-db virga-rpc virga-multihost virga-host virga-tinyguest virga-libvirt virga-virt virga-core; do
  cp="$cp:$m/target/classes"
done
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED ${VIRGA_BENCH_JAVA_OPTS:--Xmx6g -Xss512k} \
  -Dlogback.configurationFile=${VIRGA_BENCH_LOGBACK:-bench/logback-bench.xml} \
  -cp "$cp:$(cat "$cp_file")" io.virga.server.ScaleBench "$@"
