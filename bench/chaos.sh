#!/usr/bin/env bash
# Runs the chaos suite (vigil-server's ChaosIT) with many faults and prints its figures. See
# bench/README.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

FAULTS=200
SEED=""

usage() {
  cat <<USAGE
Usage: bench/chaos.sh [--faults N] [--seed S]

Starts three Vigil nodes on 127.0.0.1, each reaching an embedded PostgreSQL through a TCP proxy of
its own, a generic resource whose daemon detaches itself, a client writing numbered objects and a
client refreshing its session, and injects N faults one after another (default 200): kill -9 of
the owner, SIGSTOP of its process group and of its JVM alone beyond the lease, its database link
frozen, its lock session terminated, every database session ended, all nodes racing at start.
Then it checks the whole history (lost or stale writes, two nodes active, the resource on two
nodes, a lost session) and prints the operation counts, the recovery time per fault kind (with
the lease, the reference every takeover is measured against) and the violations.
Runs for about 6 s a fault. --seed repeats a run's choice of faults.
USAGE
}

while [ $# -gt 0 ]; do
  case "$1" in
    --faults) FAULTS="${2:?--faults needs a number}"; shift 2 ;;
    --seed) SEED="${2:?--seed needs a number}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "error: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$FAULTS" in ''|*[!0-9]*) echo "error: --faults needs a positive number, got $FAULTS" >&2; exit 2 ;; esac
[ "$FAULTS" -ge 1 ] || { echo "error: --faults needs a positive number, got $FAULTS" >&2; exit 2; }
if [ -n "$SEED" ]; then
  case "$SEED" in *[!0-9]*) echo "error: --seed needs a number, got $SEED" >&2; exit 2 ;; esac
fi

if [ -z "${JAVA_HOME:-}" ] || [ ! -x "$JAVA_HOME/bin/java" ]; then
  JAVA_HOME=$(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -V | tail -1)
  JAVA_HOME=${JAVA_HOME%/}
fi
export JAVA_HOME
echo "cores: $(nproc); JDK: $JAVA_HOME; faults: $FAULTS${SEED:+; seed: $SEED}"

log=$(mktemp -t vigil-chaos.XXXXXX)
trap 'rm -f "$log"' EXIT
# The build is not part of the run: the distribution and the test classes first.
./mvnw -B -q install -DskipTests -DskipITs >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
args=(-B -pl vigil-server -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false -Dit.test=ChaosIT
  -Dchaos.faults="$FAULTS")
[ -n "$SEED" ] && args+=(-Dchaos.seed="$SEED")
status=0
./mvnw "${args[@]}" verify >"$log" 2>&1 || status=$?
report=vigil-server/target/failsafe-reports/io.vigil.server.cluster.ChaosIT-output.txt
if [ -f "$report" ]; then
  grep '^chaos' "$report" | grep -v '^chaos: fault ' || true
else
  tail -50 "$log"
fi
echo "lease: 4000 ms (LeaseMillis), renew deadline 2500 ms: the reference for the recovery times"
if [ "$status" -ne 0 ]; then
  echo "chaos run failed (exit $status); the violations are above" >&2
  grep -E '\[ERROR\]' "$log" | head -20 >&2
fi
exit "$status"
