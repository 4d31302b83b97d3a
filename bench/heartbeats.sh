#!/usr/bin/env bash
# Measures what heartbeats cost the owner and the database. See bench/README.md.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COMPONENTS=1000
INTERVAL=5
DURATION=60

usage() {
  cat <<EOF
Usage: bench/heartbeats.sh [--components N] [--interval SECONDS] [--duration SECONDS]

Starts a temporary PostgreSQL server (from /usr/lib/postgresql/*/bin, with pg_stat_statements
loaded; or VIGIL_DB_URL's throw-away database, where statements are counted only if it has
pg_stat_statements) and a fresh node on 127.0.0.1 on it. First, as the same-run reference, it
measures the idle node for --duration seconds: its java process's CPU time (from /proc, as a share
of one core) and the database's statements and transactions per second. Then bench/HeartbeatLoad.java
registers N recording servers and heartbeats each of them every --interval seconds with load
figures (spread evenly; one untimed round first), and the same figures are measured for
--duration seconds, with the heartbeats' latency (p50, p99) and errors.

  --components N        simulated components, 1-5000 (default $COMPONENTS)
  --interval SECONDS    each component's heartbeat interval, 1-60 (default $INTERVAL)
  --duration SECONDS    each measured window, 10-600 (default $DURATION)
  -h, --help            show this help
EOF
}

while (($#)); do
  case "$1" in
    --components) COMPONENTS="${2:-}"; shift 2 || vb_die "--components needs a value" ;;
    --interval) INTERVAL="${2:-}"; shift 2 || vb_die "--interval needs a value" ;;
    --duration) DURATION="${2:-}"; shift 2 || vb_die "--duration needs a value" ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; vb_die "unknown option '$1'" ;;
  esac
done
vb_check_int --components "$COMPONENTS" 1 5000
vb_check_int --interval "$INTERVAL" 1 60
vb_check_int --duration "$DURATION" 10 600

LOAD_PID=""
# Stops the load, the node, then its PostgreSQL server, then removes the temporary directories.
hb_cleanup() {
  [[ -n "$LOAD_PID" ]] && kill "$LOAD_PID" 2>/dev/null && wait "$LOAD_PID" 2>/dev/null
  local pid
  for pid in "${VB_NODE_PIDS[@]}"; do
    vb_stop_node "$pid"
  done
  vb_stop_db
  vb_cleanup
}
vb_init
trap hb_cleanup EXIT
vb_find_jdk
vb_ensure_build

VB_PG_OPTIONS="-c shared_preload_libraries=pg_stat_statements"
vb_start_db
[[ -n "$DB_URL" ]] || vb_die "no PostgreSQL server to measure on (see --help)"
export VB_NODE_DB_URL="$DB_URL" VB_NODE_DB_USER="$DB_USER" VB_NODE_DB_PASSWORD="$DB_PASSWORD"
db_port="$(sed -n 's#^jdbc:postgresql://[^:/]*:\([0-9]*\)/.*#\1#p' <<<"$DB_URL")"
db_name="${DB_URL##*/}"
psql_bin="$(command -v psql || echo "${PG_BIN:-/usr/bin}/psql")"

# Runs one SQL query on the node's database and prints its single value.
hb_sql() {
  PGPASSWORD="${DB_PASSWORD:-}" "$psql_bin" -h 127.0.0.1 -p "$db_port" -U "${DB_USER:-postgres}" \
    -d "$db_name" -Atqc "$1" 2>/dev/null
}

vb_node_for_load ""
have_statements=no
if hb_sql "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null &&
  [[ -n "$(hb_sql "SELECT count(*) FROM pg_stat_statements")" ]]; then
  have_statements=yes
fi
java_pid="$(vb_java_pid "$VB_NODE_PID")"
ticks="$(getconf CLK_TCK)"

# Prints "cpu_ticks statements transactions" now.
hb_sample() {
  local cpu statements xacts
  cpu="$(awk '{ print $14 + $15 }' "/proc/$java_pid/stat")"
  statements=0
  [[ "$have_statements" == yes ]] && statements="$(hb_sql "SELECT sum(calls) FROM pg_stat_statements")"
  xacts="$(hb_sql "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()")"
  echo "$cpu ${statements:-0} ${xacts:-0}"
}

# Prints the figures between two samples taken SECONDS apart.
hb_figures() {
  local label="$1" before="$2" after="$3" seconds="$4"
  awk -v label="$label" -v s="$seconds" -v hz="$ticks" -v st="$have_statements" \
    -v b="$before" -v a="$after" 'BEGIN {
      split(b, x, " "); split(a, y, " ")
      printf "%s: node CPU %.1f%% of one core; database %s statements/s, %.1f transactions/s\n",
        label, 100 * (y[1] - x[1]) / hz / s,
        (st == "yes" ? sprintf("%.1f", (y[2] - x[2]) / s) : "n/a (no pg_stat_statements)"),
        (y[3] - x[3]) / s
    }'
}

echo "database: $DB_DESC"
vb_note "measuring the idle node for $DURATION s (the reference)"
sleep 5
s0="$(hb_sample)"
sleep "$DURATION"
s1="$(hb_sample)"
hb_figures "idle node, $DURATION s (reference)" "$s0" "$s1" "$DURATION"

vb_note "registering $COMPONENTS servers and starting their heartbeats"
token="$(vb_admin_token)" || exit 1
export BENCH_AUTHORIZATION="Bearer $token"
out="$VB_TMP/heartbeats.out"
"$VB_JAVA" "$VB_BENCH/HeartbeatLoad.java" "$VB_URL" "$COMPONENTS" "$INTERVAL" "$DURATION" \
  "$(date +%s)" >"$out" 2>"$VB_TMP/heartbeats.err" &
LOAD_PID=$!
# Waits for a line in the load's output; fails when the load exits first.
hb_wait_for() {
  local text="$1" limit="$2" waited=0
  until grep -qs "^$text" "$out"; do
    if ! kill -0 "$LOAD_PID" 2>/dev/null; then
      cat "$VB_TMP/heartbeats.err" >&2
      vb_die_with_log "bench/HeartbeatLoad.java exited before '$text' (its errors above)"
    fi
    ((waited++ > limit * 10)) && vb_die "no '$text' from bench/HeartbeatLoad.java within $limit s"
    sleep 0.1
  done
}
hb_wait_for "MEASURE start" 600
s2="$(hb_sample)"
hb_wait_for "MEASURE end" $((DURATION + 60))
s3="$(hb_sample)"
wait "$LOAD_PID"
LOAD_PID=""
line="$(grep '^BENCH ' "$out")"
rate="$(awk -v c="$COMPONENTS" -v i="$INTERVAL" 'BEGIN { printf "%.0f", c / i }')"
hb_figures "$COMPONENTS components heartbeating every $INTERVAL s (~$rate heartbeats/s), $DURATION s" "$s2" "$s3" "$DURATION"
awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
  printf "heartbeats in the window: %d, latency p50 %.2f ms, p99 %.2f ms, max %.2f ms; refused %d, socket errors %d\n",
    v["heartbeats"], v["p50_us"] / 1000, v["p99_us"] / 1000, v["max_us"] / 1000, v["non2xx"], v["socket_errors"] }' <<<"$line"
echo "cores: $(nproc) (the simulated components, the node and PostgreSQL share them); 1-min load average at the end: $(vb_load)"
