#!/bin/sh
# Spawn benchmark: LibvirtDriver spawn-to-RUNNING against the raw floor (see bench/README.md).
# Usage: bench/spawn.sh [runs=5] [concurrency=8]   (needs libvirtd + qemu; builds the tiny guest)
set -eu
cd "$(dirname "$0")/.."
: "${JAVA_HOME:=/usr/lib/jvm/temurin-25-jdk-amd64}"
export JAVA_HOME
cp_file="$(mktemp)"
trap 'rm -f "$cp_file"' EXIT
mvn -B -q -o -pl virga-libvirt -am test-compile dependency:build-classpath \
  -Dmdep.includeScope=test -Dmdep.outputFile="$cp_file" >/dev/null
cp="virga-libvirt/target/test-classes:virga-libvirt/target/classes:virga-tinyguest/target/classes"
cp="$cp:virga-virt/target/classes:virga-core/target/classes:$(cat "$cp_file")"
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -Dlogback.configurationFile=bench/logback-bench.xml \
  -cp "$cp" io.virga.libvirt.SpawnBench "$@"
