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

Starts a Vigil node N times, each with a fresh temporary data directory and a free port on
127.0.0.1, and measures the time from process start to the first 200 from /health/ready (polled
every 10 ms). Then leaves the last node idle and reports the resident memory of its java process.
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
# All runs share one private cache directory (XDG_CACHE_HOME), empty at first: files the first
# start writes there or into the distribution (an AOT or CDS cache a launcher may create) make
# later starts faster, so they are detected and the first and later runs are reported apart.
VB_CACHE_HOME="$work/cache"
mkdir -p "$VB_CACHE_HOME"
touch "$work/before-first-run"
sleep 0.01

load_before="$(vb_load)"
times=()
for run in $(seq 1 "$RUNS"); do
  data="$work/data-$run"
  mkdir -p "$data"
  port="$(vb_free_port)"
  VIGIL_ADMIN_PASSWORD="$(vb_random_secret)"
  vb_start_node "$data" "$port" "$work/node-$run.log"
  vb_wait_ready "http://127.0.0.1:$port" "$VB_NODE_PID" "$work/node-$run.log" "$READY_TIMEOUT"
  ms=$(((VB_READY_US - VB_START_US + 500) / 1000))
  times+=("$ms")
  vb_note "run $run: $ms ms"
  if ((run == 1)); then
    mapfile -t cache_files < <(find "$VB_DIST" "$VB_CACHE_HOME" -type f \
      -newer "$work/before-first-run" 2>/dev/null | sed -e "s|^$VB_DIST/||" -e "s|^$work/||")
  fi
  if ((run < RUNS)); then
    vb_stop_node "$VB_NODE_PID"
  fi
done
last_pid="$VB_NODE_PID"

sleep "$IDLE"
java_pid="$(vb_java_pid "$last_pid")" || vb_die "no java process found under the node's process $last_pid"
rss="$(vb_rss_mib "$java_pid")" || vb_die "cannot read VmRSS from /proc/$java_pid/status"
vb_stop_node "$last_pid"

mapfile -t sorted < <(printf '%s\n' "${times[@]}" | sort -n)
n=${#sorted[@]}
if ((n % 2)); then
  median=${sorted[n / 2]}
else
  median=$(((sorted[n / 2 - 1] + sorted[n / 2] + 1) / 2))
fi

echo "JDK: $VB_JDK ($VB_JDK_VERSION)"
echo "launcher: $(vb_launcher)"
echo "cold start to ready: median $median ms (min ${sorted[0]} ms, max ${sorted[n - 1]} ms) over $n runs [runs: ${times[*]}]"
if ((${#cache_files[@]} > 0 && n > 1)); then
  later=("${times[@]:1}")
  mapfile -t later_sorted < <(printf '%s\n' "${later[@]}" | sort -n)
  m=${#later_sorted[@]}
  if ((m % 2)); then
    later_median=${later_sorted[m / 2]}
  else
    later_median=$(((later_sorted[m / 2 - 1] + later_sorted[m / 2] + 1) / 2))
  fi
  echo "first run wrote ${cache_files[*]} (a start-up cache):" \
    "first run ${times[0]} ms, later runs median $later_median ms"
else
  echo "first run wrote no files into the distribution or the cache directory (no start-up cache created)"
fi
echo "idle RSS after $IDLE s: $rss MiB (java pid $java_pid)"
echo "cores: $(nproc)"
echo "1-min load average: $load_before before the runs, $(vb_load) at the end (other work slows every figure)"
