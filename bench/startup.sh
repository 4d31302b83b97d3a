#!/usr/bin/env bash
# Measures a node's cold start to /health/ready and its idle memory. See bench/README.md.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNS=5
IDLE=10
READY_TIMEOUT=60

usage() {
  cat <<EOF
Usage: bench/startup.sh [--runs N] [--idle SECONDS] [--ready-timeout SECONDS]

Measures the time from process start to the first 200 from /health/ready (polled every 10 ms)
of a single node (start-dev, loopback, free port). After one untimed priming start (it makes the
launcher's start-up cache and initializes a data directory), it measures N cold starts (a new JVM
on that data directory, as when a node restarts) and N first starts (a new data directory each:
creating the key ring, the signing key and the admin user), and the resident memory of the last
cold-started node after it idled.
Builds the distribution first (untimed) when vigil-server/target/vigil is missing.

  --runs N                 number of cold starts, 1-20 (default $RUNS)
  --idle SECONDS           idle time before sampling RSS, 0-120 (default $IDLE)
  --ready-timeout SECONDS  give up on a start after this long, 5-600 (default $READY_TIMEOUT)
  -h, --help               show this help

JDK: JAVA_HOME when set, else the newest JDK $VB_MIN_JAVA+ under /usr/lib/jvm.
EOF
}

while (($#)); do
  case "$1" in
    --runs) RUNS="${2:-}"; shift 2 || vb_die "--runs needs a value" ;;
    --idle) IDLE="${2:-}"; shift 2 || vb_die "--idle needs a value" ;;
    --ready-timeout) READY_TIMEOUT="${2:-}"; shift 2 || vb_die "--ready-timeout needs a value" ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; vb_die "unknown option '$1'" ;;
  esac
done
vb_check_int --runs "$RUNS" 1 20
vb_check_int --idle "$IDLE" 0 120
vb_check_int --ready-timeout "$READY_TIMEOUT" 5 600

vb_init
vb_find_jdk
vb_ensure_build

vb_tmpdir
work="$VB_TMP"
# A private cache directory (XDG_CACHE_HOME) for the launcher's start-up cache, made by an untimed
# first start that also initializes a data directory (keys, the admin user).
VB_CACHE_HOME="$work/cache"
mkdir -p "$VB_CACHE_HOME"
VIGIL_ADMIN_PASSWORD="$(vb_random_secret)"

# One timed start of a node on data directory $1; sets $ms. Leaves the node running.
timed_start() {
  local data="$1" log="$2" port
  mkdir -p "$data"
  port="$(vb_free_port)"
  vb_start_node "$data" "$port" "$log"
  vb_wait_ready "http://127.0.0.1:$port" "$VB_NODE_PID" "$log" "$READY_TIMEOUT"
  ms=$(((VB_READY_US - VB_START_US + 500) / 1000))
}

median_of() {
  local sorted n
  mapfile -t sorted < <(printf '%s\n' "$@" | sort -n)
  n=${#sorted[@]}
  if ((n % 2)); then
    echo "${sorted[n / 2]}"
  else
    echo $(((sorted[n / 2 - 1] + sorted[n / 2] + 1) / 2))
  fi
}

load_before="$(vb_load)"
timed_start "$work/data" "$work/prime.log"
prime_ms=$ms
vb_stop_node "$VB_NODE_PID"
vb_note "untimed priming start (start-up cache, data directory): $prime_ms ms"

# Cold starts: a new JVM on an existing data directory, as when a node (re)starts.
cold=()
for run in $(seq 1 "$RUNS"); do
  timed_start "$work/data" "$work/cold-$run.log"
  cold+=("$ms")
  vb_note "cold start $run: $ms ms"
  if ((run < RUNS)); then
    vb_stop_node "$VB_NODE_PID"
  fi
done
last_pid="$VB_NODE_PID"
sleep "$IDLE"
java_pid="$(vb_java_pid "$last_pid")" || vb_die "no java process found under the node's process $last_pid"
rss="$(vb_rss_mib "$java_pid")" || vb_die "cannot read VmRSS from /proc/$java_pid/status"
vb_stop_node "$last_pid"

# First starts: a new data directory each time (creates the key ring, signing key, admin user).
first=()
for run in $(seq 1 "$RUNS"); do
  timed_start "$work/first-$run" "$work/first-$run.log"
  first+=("$ms")
  vb_note "first start $run: $ms ms"
  vb_stop_node "$VB_NODE_PID"
done

# The node's own phases, from its "ready in N ms ... (database A ms, key ring B ms, services and
# HTTP C ms, role D ms)" line: medians over the cold starts and over the first starts. "before
# Node.start" is the time to ready minus the node's own "ready in" (launcher, JVM, command line,
# settings, plus up to one poll interval).
phases() {
  local kind="$1" n="$2" i line total db keys http role
  local -a before=() dbs=() keyss=() https=() roles=()
  for i in $(seq 1 "$n"); do
    line="$(grep -o 'ready in [0-9]* ms.*' "$work/$kind-$i.log" | head -1)"
    [[ -n "$line" ]] || return 0
    total="$(sed -n 's/^ready in \([0-9]*\) ms.*/\1/p' <<<"$line")"
    db="$(sed -n 's/.*database \([0-9]*\) ms.*/\1/p' <<<"$line")"
    keys="$(sed -n 's/.*key ring \([0-9]*\) ms.*/\1/p' <<<"$line")"
    http="$(sed -n 's/.*services and HTTP \([0-9]*\) ms.*/\1/p' <<<"$line")"
    role="$(sed -n 's/.*role \([0-9]*\) ms.*/\1/p' <<<"$line")"
    [[ -n "$total$db$keys$http$role" ]] || return 0
    local -n runs="$kind"
    before+=($((runs[i - 1] - total)))
    dbs+=("$db")
    keyss+=("$keys")
    https+=("$http")
    roles+=("$role")
  done
  echo "  $kind start phases (medians): before Node.start $(median_of "${before[@]}") ms," \
    "database $(median_of "${dbs[@]}") ms, key ring $(median_of "${keyss[@]}") ms," \
    "services and HTTP $(median_of "${https[@]}") ms, role $(median_of "${roles[@]}") ms"
}

# The reference: the launcher, the JVM and the command line alone (bin/vigil --version).
version=()
if [[ -x "$VB_DIST/bin/vigil" ]]; then
  for run in $(seq 1 "$RUNS"); do
    t0="$(vb_now_us)"
    JAVA_HOME="$VB_JDK" XDG_CACHE_HOME="$VB_CACHE_HOME" "$VB_DIST/bin/vigil" --version >/dev/null 2>&1
    version+=($((($(vb_now_us) - t0 + 500) / 1000)))
  done
fi

mapfile -t cold_sorted < <(printf '%s\n' "${cold[@]}" | sort -n)
mapfile -t first_sorted < <(printf '%s\n' "${first[@]}" | sort -n)
echo "JDK: $VB_JDK ($VB_JDK_VERSION)"
echo "launcher: $(vb_launcher)"
echo "cold start to ready (new JVM, existing data directory): median $(median_of "${cold[@]}") ms" \
  "(min ${cold_sorted[0]} ms, max ${cold_sorted[-1]} ms) over $RUNS runs [runs: ${cold[*]}]"
echo "first start to ready (new data directory: key ring, signing key, admin password hash):" \
  "median $(median_of "${first[@]}") ms (min ${first_sorted[0]} ms, max ${first_sorted[-1]} ms) [runs: ${first[*]}]"
phases cold "$RUNS"
phases first "$RUNS"
if ((${#version[@]})); then
  echo "reference: bin/vigil --version (launcher, JVM, command line): median $(median_of "${version[@]}") ms [runs: ${version[*]}]"
fi
if find "$VB_CACHE_HOME" -type f | grep -q .; then
  echo "start-up cache in use: $(find "$VB_CACHE_HOME" -type f -printf '%f ' ) (made by the untimed priming start, $prime_ms ms)"
else
  echo "no start-up cache was made (JDK without AOT/CDS support, or VIGIL_CACHE=off)"
fi
echo "idle RSS after $IDLE s: $rss MiB (java pid $java_pid)"
echo "cores: $(nproc)"
echo "1-min load average: $load_before before the runs, $(vb_load) at the end (other work slows every figure)"
