#!/usr/bin/env bash
# Measures events ingested per second on loopback, on the embedded database and on PostgreSQL.
# See bench/README.md.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=20
WARMUP=5
CONNECTIONS=16
DATABASES="embedded postgresql"

usage() {
  cat <<EOF
Usage: bench/events.sh [--duration SECONDS] [--warmup SECONDS] [--connections N]
                       [--databases "embedded postgresql"]

For each database, starts a fresh node on 127.0.0.1 (the embedded database, or a temporary
PostgreSQL server from /usr/lib/postgresql/*/bin, or VIGIL_DB_URL's throw-away database), creates
one alarm definition that matches one event in ten (type bench.motion), and measures with
bench/EventLoad.java (N connections, closed loop):
  - single: POST /api/v1/events with one event per post;
  - batch:  POST /api/v1/events with 100 events per post;
each with an idempotency key per event and 100 external sources. Prints events/s, posts/s and
post latency (mean, p50, p99). As the same-run reference it first measures GET /health/live with
the same JDK client (bench/LoadGen.java, same connections and duration) and prints each figure
beside it. Then it reads back how many events and alarms the node stored.

  --duration SECONDS     measured time of each run, 1-240 (default $DURATION)
  --warmup SECONDS       untimed single-event load first, 0-60 (default $WARMUP)
  --connections N        concurrent connections, 1-256 (default $CONNECTIONS)
  --databases "..."      which of embedded, postgresql to measure (default "$DATABASES")
  -h, --help             show this help
EOF
}

while (($#)); do
  case "$1" in
    --duration) DURATION="${2:-}"; shift 2 || vb_die "--duration needs a value" ;;
    --warmup) WARMUP="${2:-}"; shift 2 || vb_die "--warmup needs a value" ;;
    --connections) CONNECTIONS="${2:-}"; shift 2 || vb_die "--connections needs a value" ;;
    --databases) DATABASES="${2:-}"; shift 2 || vb_die "--databases needs a value" ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; vb_die "unknown option '$1'" ;;
  esac
done
vb_check_int --duration "$DURATION" 1 240
vb_check_int --warmup "$WARMUP" 0 60
vb_check_int --connections "$CONNECTIONS" 1 256
for db in $DATABASES; do
  [[ "$db" == embedded || "$db" == postgresql ]] || vb_die "--databases takes embedded and postgresql (got '$db')"
done

# Stops the nodes before their PostgreSQL server, then removes the temporary directories.
ev_cleanup() {
  local pid
  for pid in "${VB_NODE_PIDS[@]}"; do
    vb_stop_node "$pid"
  done
  vb_stop_db
  vb_cleanup
}
vb_init
trap ev_cleanup EXIT
vb_find_jdk
vb_ensure_build

# Prints "N events/s, M posts/s, latency …" from an EventLoad line, and the ratio to REF req/s.
ev_report() {
  local label="$1" line="$2" ref="$3"
  awk -v label="$label" -v ref="$ref" '{
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    secs = v["duration_us"] / 1e6
    eps = v["events"] / secs
    printf "%s: %.0f events/s (%.1f%% of /health/live req/s), %.1f posts/s, latency mean %.2f ms, p50 %.2f ms, p99 %.2f ms; refused posts %d, socket errors %d\n",
      label, eps, 100 * eps / ref, v["requests"] / secs, v["mean_us"] / 1000, v["p50_us"] / 1000,
      v["p99_us"] / 1000, v["non200"], v["socket_errors"]
  }' <<<"$line"
}

ev_rate() {
  awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } printf "%.1f", v["requests"] / (v["duration_us"] / 1e6) }' <<<"$1"
}

run_id="$(date +%s)"
for db in $DATABASES; do
  VB_NODE_DB_URL=""
  VB_NODE_DB_USER=""
  VB_NODE_DB_PASSWORD=""
  if [[ "$db" == postgresql ]]; then
    vb_start_db
    [[ -n "$DB_URL" ]] || vb_die "no PostgreSQL server to measure on (see --help); run with --databases embedded"
    VB_NODE_DB_URL="$DB_URL"
    VB_NODE_DB_USER="$DB_USER"
    VB_NODE_DB_PASSWORD="$DB_PASSWORD"
    desc="$DB_DESC"
  else
    desc="the embedded database (H2)"
  fi
  export VB_NODE_DB_URL VB_NODE_DB_USER VB_NODE_DB_PASSWORD
  vb_node_for_load ""
  echo "== $db: $desc"
  token="$(vb_admin_token)" || exit 1
  vb_post_json /api/v1/alarm-definitions \
    '{"name":"bench motion","eventTypes":["bench.motion"],"priority":2,"reactivationSeconds":60}' \
    "$token" >/dev/null || exit 1

  export BENCH_AUTHORIZATION="Bearer $token"
  if ((WARMUP > 0)); then
    vb_note "warming up for $WARMUP s"
    "$VB_JAVA" "$VB_BENCH/EventLoad.java" "$VB_URL/api/v1/events" "$WARMUP" "$CONNECTIONS" 1 "$run_id-$db-warm" >/dev/null ||
      vb_die_with_log "bench/EventLoad.java failed during the warm-up"
  fi
  vb_note "measuring GET /health/live for $DURATION s (the reference)"
  export BENCH_METHOD=GET
  unset BENCH_BODY BENCH_CONTENT_TYPE
  ref_line="$("$VB_JAVA" "$VB_BENCH/LoadGen.java" "$VB_URL/health/live" "$DURATION" "$CONNECTIONS" | grep '^BENCH ')" ||
    vb_die "bench/LoadGen.java produced no report"
  ref="$(ev_rate "$ref_line")"
  vb_report "GET /health/live, $CONNECTIONS connections, $DURATION s (reference)" "$ref_line"
  for batch in 1 100; do
    vb_note "measuring $batch event(s) per post for $DURATION s"
    BENCH_AUTHORIZATION="Bearer $(vb_admin_token)" || exit 1
    line="$("$VB_JAVA" "$VB_BENCH/EventLoad.java" "$VB_URL/api/v1/events" "$DURATION" "$CONNECTIONS" "$batch" "$run_id-$db-$batch" | grep '^BENCH ')" ||
      vb_die_with_log "bench/EventLoad.java produced no report"
    ev_report "POST /api/v1/events, $batch per post, $CONNECTIONS connections, $DURATION s" "$line" "$ref"
  done
  token="$(vb_admin_token)" || exit 1
  alarms="$(curl -s --max-time 30 "$VB_URL/api/v1/alarms?limit=500" -H @- <<<"Authorization: Bearer $token" | grep -o '"definitionId"' | wc -l)"
  echo "alarms listed after the runs (first page, at most 500): $alarms"
  echo "cores: $(nproc) (the load generator and the node share them); 1-min load average at the end: $(vb_load)"
  vb_stop_node "$VB_NODE_PID"
  vb_stop_db
done
