#!/usr/bin/env bash
# MSS launcher for a clone of the sources: builds the command line on first use (and after the
# sources change), then runs it. Usage: ./mss server | token | push | listen | biz | bench | dist
# (./mss --help). `./mss bench` runs the benchmark tool on its own classpath; `./mss dist`
# builds the server's distribution, cli/target/mss-VERSION.tar.gz; `./mss cluster up | down | status`
# runs a local HA cluster (deploy/cluster/local-ha).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

# $1: the module to run (cli or bench); its jar is <module>/target/mss-<module>.jar
stale() {
  local jar="$ROOT/$1/target/mss-$1.jar"
  [ ! -f "$jar" ] && return 0
  [ -n "$(find "$ROOT/pom.xml" "$ROOT"/*/pom.xml "$ROOT"/*/src/main -newer "$jar" -print -quit 2>/dev/null)" ]
}

build() {
  if stale "$1"; then
    # one build at a time when several ./mss start together on a fresh clone
    exec 9>"$ROOT/.mss-build.lock"
    flock 9
    if stale "$1"; then
      echo "mss: building the $2 (once; ./mvnw package)..." >&2
      # the tarball (./mss dist) is not what the launcher runs: not built here, to keep the first start quick
      (cd "$ROOT" && ./mvnw -q -B -DskipTests -Dassembly.skipAssembly=true -pl "$1" -am package) >&2
    fi
    flock -u 9
  fi
}

case "${1:-}" in
  cluster)
    # the local HA cluster is a script of its own (etcd, Patroni, Sentinel, three MSS nodes)
    shift
    exec "$ROOT/deploy/cluster/local-ha" "$@"
    ;;
  bench)
    shift
    build bench "benchmark tool"
    exec "$JAVA" ${MSS_JAVA_OPTS:-} -cp "$ROOT/bench/target/mss-bench.jar:$ROOT/bench/target/lib/*" io.mss.bench.Main "$@"
    ;;
  dist)
    # always a fresh package: the tarball must be of these sources
    (cd "$ROOT" && ./mvnw -q -B -DskipTests -pl cli -am package) >&2
    ls "$ROOT"/cli/target/mss-*.tar.gz
    exit 0
    ;;
esac

build cli "command line"
# the server returns heap it no longer needs (io.mss.cli.ServerJvmOptions says why); MSS_SERVER_GC_OPTS replaces it
SERVER_OPTS=""
if [ "${1:-}" = server ]; then
  SERVER_OPTS="${MSS_SERVER_GC_OPTS--XX:+UseG1GC -XX:G1PeriodicGCInterval=10000 -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30}"
fi
exec "$JAVA" $SERVER_OPTS ${MSS_JAVA_OPTS:-} -cp "$ROOT/cli/target/mss-cli.jar:$ROOT/cli/target/lib/*" io.mss.cli.Main "$@"
