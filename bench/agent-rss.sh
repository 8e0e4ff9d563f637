#!/bin/sh
# Agent memory: RSS of one real `virga agent` (FakeDriver) idle and after boots (bench/README.md, Scale).
# Usage: bench/agent-rss.sh ["agent JVM options" (default: up's agent_java_opts)] [boots=50] [fake|libvirt]
# (needs rabbitmq-server; libvirt: the machine's libvirtd)
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
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Xmx1g \
  -Dlogback.configurationFile=${VIRGA_BENCH_LOGBACK:-bench/logback-bench.xml} \
  -cp "$cp:$(cat "$cp_file")" io.virga.server.AgentRssBench "$@"
