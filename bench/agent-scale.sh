#!/bin/sh
# Control-plane scale benchmark: boots, stops, starts and deletes N instances on the in-memory
# FakeDriver through the ComputeManager, with the conductor over the in-process RPC transport
# (JSON serialised, as in `virga up`) unless RPC=false. Prints instances/s per phase.
# Method: one JVM, a warm-up round of the same phases with N/10 instances first (JIT, thread
# pools), then the measured round; each phase is timed from the first cast to an idle agent and
# then every instance's state is checked. No libvirt, no database: it measures the agent's queues, task-state CAS traffic
# and RPC, the part of the control plane that the FakeDriver does not fake.
#   N=1000 WORKERS=16 SPAWN_MS=0 RPC=true bench/agent-scale.sh
set -eu
cd "$(dirname "$0")/.."
: "${JAVA_HOME:=/usr/lib/jvm/temurin-25-jdk-amd64}"
export JAVA_HOME
N=${N:-1000}
WORKERS=${WORKERS:-16}
SPAWN_MS=${SPAWN_MS:-0}
RPC=${RPC:-true}
mvn -B -q -pl virga-compute -am verify -Dspotless.check.skip=true \
 -Dtest=AgentScaleBench -Dsurefire.failIfNoSpecifiedTests=false \
  -Dbench.n="$N" -Dbench.workers="$WORKERS" -Dbench.spawnMs="$SPAWN_MS" -Dbench.rpc="$RPC" \
  -DtrimStackTrace=false > /tmp/agent-scale.$$.log 2>&1 || { tail -50 /tmp/agent-scale.$$.log; exit 1; }
grep '^agent-scale:' /tmp/agent-scale.$$.log
rm -f /tmp/agent-scale.$$.log
