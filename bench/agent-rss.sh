#!/bin/sh
# Agent memory: RSS of one real `virga agent` (FakeDriver) idle and after boots (bench/README.md, Scale).
# Usage: bench/agent-rss.sh ["agent JVM options" (default: up's agent_java_opts)] [boots=50] [fake|libvirt]
# (needs rabbitmq-server; libvirt: the machine's libvirtd)
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
cp="$(bench_classpath virga-server)"
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Xmx1g \
  -Dlogback.configurationFile=${VIRGA_BENCH_LOGBACK:-bench/logback-bench.xml} \
  -cp "$cp" io.virga.server.AgentRssBench "$@"
