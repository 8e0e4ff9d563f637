# Sourced by the bench scripts (from the checkout's root): JAVA_HOME and the benches' classpath.
: "${JAVA_HOME:=/usr/lib/jvm/temurin-25-jdk-amd64}"
export JAVA_HOME

# bench_classpath MODULE: compiles MODULE and the modules it needs (test classes too) and prints
# its test classpath — this checkout's own classes (never Virga jars installed in ~/.m2 by some
# other checkout), then the third-party jars. Maven goes online the first time to fetch the
# dependency plugin; MVN_FLAGS (e.g. -o) is passed on.
bench_classpath() {
  bench_cp_file="$(mktemp)"
  if ! mvn -B -q ${MVN_FLAGS:-} -pl "$1" -am test-compile dependency:build-classpath \
    -Dmdep.includeScope=test -Dmdep.outputFile="$bench_cp_file" >&2; then
    rm -f "$bench_cp_file"
    echo "bench: building $1 failed (see above)" >&2
    return 1
  fi
  bench_deps="$(tr ':' '\n' <"$bench_cp_file" | grep -v '/io/virga/' | paste -sd: -)"
  rm -f "$bench_cp_file"
  echo "$1/target/test-classes:$1/target/classes:$bench_deps"
}
