#!/usr/bin/env bash
# Runs the chaos suite (vigil-server's ChaosIT) with many faults and prints its figures. See
# bench/README.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

FAULTS=200
SEED=""
ONLY=""

usage() {
  cat <<USAGE
Usage: bench/chaos.sh [--faults N] [--seed S] [--only KIND,...]

Starts a primary PostgreSQL and its synchronous standby and three Vigil nodes on 127.0.0.1, each
node reaching both servers through TCP proxies of its own, a generic resource whose daemon detaches
itself, a client writing numbered objects and a client refreshing its session, and injects N
faults one after another (default 200): kill -9 of the owner, SIGSTOP of its process group and of
its JVM alone beyond the lease, its database link frozen, its lock session terminated, every
database session ended, the primary crashed and restarted, the primary crashed and the standby
promoted, all nodes racing at start.
Then it checks the whole history (lost or stale writes, two nodes active, the resource on two
nodes, a lost session) and prints the operation counts, the recovery time per fault kind (with
the lease, the reference every takeover is measured against) and the violations.
Runs for about 6 s a fault. --seed repeats a run's choice of faults; --only KIND,... limits it to
some kinds (KILL_OWNER, STOP_OWNER_PROCESS_GROUP, STOP_OWNER_JVM, FREEZE_OWNER_DATABASE_LINK,
END_OWNER_LOCK_SESSION, END_ALL_DATABASE_SESSIONS, RESTART_DATABASE, FAIL_OVER_DATABASE,
RACE_AT_START). Needs root and PostgreSQL's server programs (apt-get install -y postgresql).
USAGE
}

while [ $# -gt 0 ]; do
  case "$1" in
    --faults) FAULTS="${2:?--faults needs a number}"; shift 2 ;;
    --seed) SEED="${2:?--seed needs a number}"; shift 2 ;;
    --only) ONLY="${2:?--only needs fault kinds}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "error: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$FAULTS" in ''|*[!0-9]*) echo "error: --faults needs a positive number, got $FAULTS" >&2; exit 2 ;; esac
[ "$FAULTS" -ge 1 ] || { echo "error: --faults needs a positive number, got $FAULTS" >&2; exit 2; }
if [ -n "$SEED" ]; then
  case "$SEED" in *[!0-9]*) echo "error: --seed needs a number, got $SEED" >&2; exit 2 ;; esac
fi

KINDS=" KILL_OWNER STOP_OWNER_PROCESS_GROUP STOP_OWNER_JVM FREEZE_OWNER_DATABASE_LINK END_OWNER_LOCK_SESSION END_ALL_DATABASE_SESSIONS RESTART_DATABASE FAIL_OVER_DATABASE RACE_AT_START "
if [ -n "$ONLY" ]; then
  for kind in ${ONLY//,/ }; do
    case "$KINDS" in *" $kind "*) ;; *) echo "error: --only: unknown fault kind $kind (see --help)" >&2; exit 2 ;; esac
  done
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
[ -n "$ONLY" ] && args+=(-Dchaos.only="$ONLY")
status=0
./mvnw "${args[@]}" verify >"$log" 2>&1 || status=$?
report=vigil-server/target/failsafe-reports/io.vigil.server.cluster.ChaosIT-output.txt
if [ -f "$report" ]; then
  grep '^chaos' "$report" | grep -v '^chaos: fault \|^chaos: the old primary' || true
else
  tail -50 "$log"
fi
echo "lease: 4000 ms (LeaseMillis), renew deadline 2500 ms: the reference for the recovery times"
if [ "$status" -ne 0 ]; then
  echo "chaos run failed (exit $status); the violations are above" >&2
  grep -E '\[ERROR\]' "$log" | head -20 >&2
fi
exit "$status"
