#!/bin/sh
# Migration benchmarks between two namespaced hosts (see bench/README.md).
# Usage: bench/migration.sh live|cold [runs=5]   (root; libvirt, qemu, iproute2, bindfs)
set -eu
cd "$(dirname "$0")/.."
: "${JAVA_HOME:=/usr/lib/jvm/temurin-25-jdk-amd64}"
export JAVA_HOME
cp_file="$(mktemp)"
trap 'rm -f "$cp_file"' EXIT
mvn -B -q -o -pl virga-libvirt -am test-compile dependency:build-classpath \
  -Dmdep.includeScope=test -Dmdep.outputFile="$cp_file" >/dev/null
cp="virga-libvirt/target/test-classes:virga-libvirt/target/classes:virga-tinyguest/target/classes"
cp="$cp:virga-multihost/target/classes:virga-multihost/target/test-classes"
cp="$cp:virga-virt/target/classes:virga-core/target/classes:$(cat "$cp_file")"
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED \
  -Dlogback.configurationFile=bench/logback-bench.xml \
  -cp "$cp" io.virga.libvirt.MigrationBench "$@"
