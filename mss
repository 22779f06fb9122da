#!/usr/bin/env bash
# MSS launcher: builds the distribution on first use (and after the sources change), then
# runs the command line. Usage: ./mss server | token | push | listen | biz  (./mss --help);
# ./mss cluster up | down | status: a local HA cluster (deploy/cluster/local-ha)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DIST="$ROOT/cli/target"
JAR="$DIST/mss-cli.jar"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

stale() {
  [ ! -f "$JAR" ] && return 0
  [ -n "$(find "$ROOT/pom.xml" "$ROOT"/*/pom.xml "$ROOT"/*/src/main -newer "$JAR" -print -quit 2>/dev/null)" ]
}

# the local HA cluster is a script of its own (etcd, Patroni, Sentinel, three MSS nodes)
if [ "${1:-}" = cluster ]; then
  shift
  exec "$ROOT/deploy/cluster/local-ha" "$@"
fi

if stale; then
  # one build at a time when several ./mss start together on a fresh clone
  exec 9>"$ROOT/.mss-build.lock"
  flock 9
  if stale; then
    echo "mss: building the distribution (once; ./mvnw package)..." >&2
    (cd "$ROOT" && ./mvnw -q -B -DskipTests -pl cli -am package) >&2
  fi
  flock -u 9
fi

exec "$JAVA" ${MSS_JAVA_OPTS:-} -cp "$JAR:$DIST/lib/*" io.mss.cli.Main "$@"
