#!/bin/sh
# Migration benchmarks between two namespaced hosts (see bench/README.md).
# Usage: bench/migration.sh live|cold [runs=5]   (root; libvirt, qemu, iproute2, bindfs)
set -eu
cd "$(dirname "$0")/.."
: "${JAVA_HOME:=/usr/lib/jvm/temurin-25-jdk-amd64}"
export JAVA_HOME
cp_file="$(mktemp)"
trap 'rm -f "$cp_file"' EXIT
# the test classpath: from the dependency plugin, or (offline without it) from the classpath
# surefire/failsafe recorded in a report of an earlier run of this module's tests
# the classes just compiled come first: a report's classpath names the modules' jars (failsafe
# tests the packaged jar), which are as old as the last package or install
fresh="virga-libvirt/target/test-classes:virga-libvirt/target/classes:virga-tinyguest/target/classes"
fresh="$fresh:virga-multihost/target/classes:virga-multihost/target/test-classes"
fresh="$fresh:virga-virt/target/classes:virga-core/target/classes"
if mvn -B -q -o -pl virga-libvirt -am test-compile dependency:build-classpath \
  -Dmdep.includeScope=test -Dmdep.outputFile="$cp_file" >/dev/null 2>&1; then
  cp="$fresh:$(cat "$cp_file")"
else
  mvn -B -q -o -pl virga-libvirt -am test-compile >/dev/null
  report="$(ls -t virga-libvirt/target/failsafe-reports/TEST-*.xml virga-libvirt/target/surefire-reports/TEST-*.xml 2>/dev/null | head -n 1)"
  [ -n "$report" ] || { echo "run the module's tests once first (no report to take the classpath from)" >&2; exit 1; }
  cp="$fresh:$(sed -n 's/.*name="surefire.test.class.path" value="\([^"]*\)".*/\1/p' "$report" | head -n 1)"
fi
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED \
  -Dlogback.configurationFile=bench/logback-bench.xml \
  -cp "$cp" io.virga.libvirt.MigrationBench "$@"
