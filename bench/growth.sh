#!/usr/bin/env bash
# Measures how list, filter, page, get and update latencies, start-up time and RSS change as a site
# grows from 10 servers to 10,000 servers, 100,000 cameras and 1,000,000 events. See
# bench/README.md.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=5
WARMUP=2
CONNECTIONS=4
FILL_CONNECTIONS=12
MAX_STAGE=4
IDLE=5

usage() {
  cat <<EOF
Usage: bench/growth.sh [--max-stage N] [--duration SECONDS] [--warmup SECONDS]
                       [--connections N] [--fill-connections N] [--idle SECONDS]

Starts a fresh node (embedded database, temporary data directory, random admin password) and grows
its site in stages through the real API (bench/GrowthFill.java, JDK HTTP client):

  stage  servers  hardware  cameras    events  (alarms: one per bench.motion event, 1 in 10)
  1           10        10      100      1,000
  2          100       100    1,000     10,000
  3        1,000     1,000   10,000    100,000
  4       10,000    10,000  100,000  1,000,000

At each stage, after filling, it restarts the node on the same data directory (time to
/health/ready, and the java process's RSS after --idle seconds), then measures each request with
wrk (after --warmup seconds of untimed load; p50, p99, req/s) at --connections connections:
GET /health/live (the same-run reference), the first page of cameras, servers, events and alarms
(limit=50), the cameras of one hardware device and of one recording server, the events of one
source, a page from the middle of cameras, servers, events and alarms (its cursor found by
following the pages with curl), one camera by id, and PATCH of a camera with If-Match (a JDK client
loop in GrowthFill.java, each connection patching its own camera). Prints a table at the end:
rows are the measurements, columns the stages, with the ratio of the last stage to the first.

  --max-stage N           the last stage to fill and measure, 1-4 (default $MAX_STAGE)
  --duration SECONDS      measured time per request, 1-60 (default $DURATION)
  --warmup SECONDS        untimed load before each measurement, 0-30 (default $WARMUP)
  --connections N         concurrent connections when measuring, 1-64 (default $CONNECTIONS)
  --fill-connections N    concurrent posts while filling, 1-64 (default $FILL_CONNECTIONS)
  --idle SECONDS          idle time after a restart before reading RSS, 0-60 (default $IDLE)
  -h, --help              show this help

Stage 4 posts 120,000 objects and 10,000 posts of 100 events; on 2 cores its fill takes minutes
(the script prints how long each fill took).
EOF
}

while (($#)); do
  case "$1" in
    --max-stage) MAX_STAGE="${2:-}"; shift 2 || vb_die "--max-stage needs a value" ;;
    --duration) DURATION="${2:-}"; shift 2 || vb_die "--duration needs a value" ;;
    --warmup) WARMUP="${2:-}"; shift 2 || vb_die "--warmup needs a value" ;;
    --connections) CONNECTIONS="${2:-}"; shift 2 || vb_die "--connections needs a value" ;;
    --fill-connections) FILL_CONNECTIONS="${2:-}"; shift 2 || vb_die "--fill-connections needs a value" ;;
    --idle) IDLE="${2:-}"; shift 2 || vb_die "--idle needs a value" ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; vb_die "unknown option '$1'" ;;
  esac
done
vb_check_int --max-stage "$MAX_STAGE" 1 4
vb_check_int --duration "$DURATION" 1 60
vb_check_int --warmup "$WARMUP" 0 30
vb_check_int --connections "$CONNECTIONS" 1 64
vb_check_int --fill-connections "$FILL_CONNECTIONS" 1 64
vb_check_int --idle "$IDLE" 0 60

vb_init
vb_pick_loadgen
vb_node_for_load ""
DATA="$(dirname "$VB_NODE_LOG")/data"
STATE="$(dirname "$VB_NODE_LOG")/state"
mkdir -p "$STATE"
load_before="$(vb_load)"

# Results, keyed "ROW|STAGE"; ROWS keeps the rows in the order they were first measured.
declare -A P50 P99 RPS EXTRA
ROWS=()
add_row() {
  local row="$1" r
  for r in "${ROWS[@]}"; do [[ "$r" == "$row" ]] && return; done
  ROWS+=("$row")
}

# GETs PATH with the admin token; prints the body, or dies naming the status.
api_get() {
  local out code
  out="$(curl -s --max-time 60 -w '\n%{http_code}' "$VB_URL$1" -H @- <<<"Authorization: Bearer $token")" ||
    vb_die "GET $VB_URL$1 failed to connect"
  code="${out##*$'\n'}"
  [[ "$code" == 200 ]] || vb_die_with_log "GET $VB_URL$1 answered $code: ${out%$'\n'*}"
  printf '%s' "${out%$'\n'*}"
}

# Prints the cursor of a page about the middle of a list of TOTAL items at PATH (without a
# query), following its pages with curl: about 10 pages when the list is short, pages of 500 when
# it is long. Prints nothing when the list is too short to have a middle.
middle_cursor() {
  local path="$1" total="$2" size pages cursor="" body
  size=$((total / 20))
  ((size > 500)) && size=500
  ((size < 1)) && size=1
  pages=$((total / 2 / size))
  ((pages > 2000)) && pages=2000
  for _ in $(seq 1 "$pages"); do
    body="$(api_get "$path?limit=$size${cursor:+&cursor=$cursor}")" || exit 1
    cursor="$(jq -r '.nextCursor // empty' <<<"$body")"
    [[ -n "$cursor" ]] || break
  done
  printf '%s' "$cursor"
}

# Records a "BENCH k=v …" line under ROW for the current stage.
record() {
  local row="$1" line="$2" fields
  fields="$(awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    printf "%.2f %.2f %.0f %d", v["p50_us"] / 1000, v["p99_us"] / 1000,
      v["requests"] / (v["duration_us"] / 1e6), v["non200"] + v["socket_errors"] }' <<<"$line")"
  read -r p50 p99 rps errors <<<"$fields"
  ((errors == 0)) || vb_note "warning: $row had $errors failed requests at stage $stage: $line"
  add_row "$row"
  P50["$row|$stage"]="$p50"
  P99["$row|$stage"]="$p99"
  RPS["$row|$stage"]="$rps"
  vb_note "  $row: p50 $p50 ms, p99 $p99 ms, $rps req/s"
}

# Measures GET of PATHS with wrk (warm-up, then the timed run) and records it under ROW. With more
# than one path each connection requests them in turn (BENCH_PATHS): H2 answers a query repeated
# with the same parameters on unchanged tables from its last result, so one repeated request would
# measure that cache instead of the query.
measure() {
  local row="$1" line
  shift
  BENCH_AUTHORIZATION="Bearer $(vb_admin_token)" || exit 1
  export BENCH_AUTHORIZATION BENCH_METHOD=GET BENCH_PATHS="$*"
  unset BENCH_BODY BENCH_CONTENT_TYPE
  # One request first, so a broken request shows its answer instead of a run of errors.
  api_get "$1" >/dev/null || exit 1
  ((WARMUP > 0)) && { vb_load_run "$VB_URL$1" "$WARMUP" "$CONNECTIONS" >/dev/null || exit 1; }
  line="$(vb_load_run "$VB_URL$1" "$DURATION" "$CONNECTIONS")" || exit 1
  unset BENCH_PATHS
  record "$row" "$line"
}

# Prints PATH (ending in ? or &) with limit=41 … limit=60 appended: pages of 50.5 items on average.
with_limits() {
  local l
  for l in $(seq 41 60); do printf '%slimit=%d ' "$1" "$l"; done
}

# Prints PREFIX ID SUFFIX for (at most) 20 ids from the middle of FILE.
with_ids() {
  local file="$1" prefix="$2" suffix="$3" n from
  n="$(wc -l <"$file")"
  from=$((n / 2 - 9))
  ((from < 1)) && from=1
  sed -n "${from},$((from + 19))p" "$file" | while read -r id; do printf '%s%s%s ' "$prefix" "$id" "$suffix"; done
}

# Records a single figure (no latency) under ROW for the current stage.
record_value() {
  add_row "$1"
  EXTRA["$1|$stage"]="$2"
}

token="$(vb_admin_token)" || exit 1
vb_post_json /api/v1/alarm-definitions \
  '{"name":"growth motion","eventTypes":["bench.motion"],"priority":2}' "$token" >/dev/null || exit 1

run_id="growth-$(date +%s)"
STAGES=()
for stage in $(seq 1 "$MAX_STAGE"); do
  STAGES+=("$stage")
  servers=$((10 ** stage))
  cameras=$((servers * 10))
  events=$((servers * 100))
  vb_note "== stage $stage: filling to $servers servers, $servers hardware, $cameras cameras, $events events"
  fill_start="$(vb_now_us)"
  fill_out="$("$VB_JAVA" "$VB_BENCH/GrowthFill.java" fill "$VB_URL" "$STATE" "$FILL_CONNECTIONS" \
    "$servers" "$events" "$run_id")" || vb_die_with_log "bench/GrowthFill.java failed to fill stage $stage"
  fill_s="$((($(vb_now_us) - fill_start) / 1000000))"
  vb_note "$fill_out"
  record_value "fill time of this stage (s)" "$fill_s"
  for kind in servers hardware cameras events; do
    rate="$(sed -n "s/^FILL kind=$kind added=\([0-9]*\) .* per_second=\([0-9]*\)$/\1 at \2\/s/p" <<<"$fill_out")"
    record_value "fill: $kind added" "${rate:-0}"
  done

  # Restart on the same data directory: time to ready, then RSS when idle.
  vb_stop_node "$VB_NODE_PID"
  port="$(vb_free_port)"
  vb_start_node "$DATA" "$port" "$VB_NODE_LOG.$stage"
  VB_URL="http://127.0.0.1:$port"
  VB_NODE_LOG="$VB_NODE_LOG.$stage"
  vb_wait_ready "$VB_URL" "$VB_NODE_PID" "$VB_NODE_LOG" 600
  record_value "restart to /health/ready (ms)" "$(((VB_READY_US - VB_START_US + 500) / 1000))"
  sleep "$IDLE"
  java_pid="$(vb_java_pid "$VB_NODE_PID")" || vb_die "no java process under the node's process $VB_NODE_PID"
  record_value "RSS after $IDLE s idle (MiB)" "$(vb_rss_mib "$java_pid")"
  token="$(vb_admin_token)" || exit 1

  alarms="$(jq '.items | length' <<<"$(api_get "/api/v1/alarms?limit=1")")" || exit 1
  alarms_total=$((events / 10))
  record_value "alarms (one per bench.motion event)" "$alarms_total"
  vb_note "finding cursors in the middle of the lists"
  cam_cursor="$(middle_cursor "/api/v1/cameras" "$cameras")" || exit 1
  srv_cursor="$(middle_cursor "/api/v1/servers" "$servers")" || exit 1
  evt_cursor="$(middle_cursor "/api/v1/events" "$events")" || exit 1
  alm_cursor=""
  ((alarms > 0)) && { alm_cursor="$(middle_cursor "/api/v1/alarms" "$alarms_total")" || exit 1; }

  vb_note "measuring stage $stage ($DURATION s each after $WARMUP s of warm-up, $CONNECTIONS connections)"
  # shellcheck disable=SC2046 # the helpers print one word per path
  {
    measure "GET /health/live (reference)" /health/live
    measure "list: cameras, first page" $(with_limits "/api/v1/cameras?")
    measure "list: servers, first page" $(with_limits "/api/v1/servers?")
    measure "list: events, first page" $(with_limits "/api/v1/events?")
    measure "list: alarms, first page" $(with_limits "/api/v1/alarms?")
    measure "filter: cameras?hardwareId=" $(with_ids "$STATE/hardware.txt" "/api/v1/cameras?hardwareId=" "&limit=50")
    measure "filter: cameras?recordingServerId=" $(with_ids "$STATE/servers.txt" "/api/v1/cameras?recordingServerId=" "&limit=50")
    measure "filter: events?source= (a server)" $(with_ids "$STATE/servers.txt" "/api/v1/events?source=" "&limit=50")
    measure "page: cameras, middle cursor" $(with_limits "/api/v1/cameras?cursor=$cam_cursor&")
    measure "page: servers, middle cursor" $(with_limits "/api/v1/servers?cursor=$srv_cursor&")
    measure "page: events, middle cursor" $(with_limits "/api/v1/events?cursor=$evt_cursor&")
    [[ -n "$alm_cursor" ]] && measure "page: alarms, middle cursor" $(with_limits "/api/v1/alarms?cursor=$alm_cursor&")
    measure "get: cameras/{id}" $(with_ids "$STATE/cameras.txt" "/api/v1/cameras/" "")
  }
  BENCH_AUTHORIZATION="Bearer $(vb_admin_token)" || exit 1
  export BENCH_AUTHORIZATION
  ((WARMUP > 0)) && { "$VB_JAVA" "$VB_BENCH/GrowthFill.java" patch "$VB_URL" "$WARMUP" "$CONNECTIONS" "$STATE/cameras.txt" >/dev/null ||
    vb_die_with_log "bench/GrowthFill.java patch failed"; }
  line="$("$VB_JAVA" "$VB_BENCH/GrowthFill.java" patch "$VB_URL" "$DURATION" "$CONNECTIONS" "$STATE/cameras.txt" | grep '^BENCH ')" ||
    vb_die_with_log "bench/GrowthFill.java patch produced no report"
  record "update: PATCH cameras/{id} (JDK client)" "$line"
done

# The table: one row per measurement, one column per stage, and the last stage over the first.
first="${STAGES[0]}"
last="${STAGES[-1]}"
header="| measurement |"
rule="|---|"
for s in "${STAGES[@]}"; do
  header+=" $((10 ** s)) srv / $((10 ** s * 10)) cam / $((10 ** s * 100)) ev |"
  rule+="---|"
done
echo
echo "$header last/first |"
echo "$rule---|"
for row in "${ROWS[@]}"; do
  line="| $row |"
  if [[ -n "${P50["$row|$last"]:-}" ]]; then
    for s in "${STAGES[@]}"; do
      if [[ -n "${P50["$row|$s"]:-}" ]]; then
        line+=" ${P50["$row|$s"]} / ${P99["$row|$s"]} ms, ${RPS["$row|$s"]}/s |"
      else
        line+=" – |"
      fi
    done
    if [[ -n "${P50["$row|$first"]:-}" ]]; then
      line+=" $(awk -v a="${P50["$row|$last"]}" -v b="${P50["$row|$first"]}" 'BEGIN { printf "%.2f× p50", (b > 0 ? a / b : 0) }') |"
    else
      line+=" – |"
    fi
  else
    for s in "${STAGES[@]}"; do line+=" ${EXTRA["$row|$s"]:-–} |"; done
    if [[ "${EXTRA["$row|$first"]:-}" =~ ^[0-9]+$ && "${EXTRA["$row|$last"]:-}" =~ ^[0-9]+$ ]] && ((${EXTRA["$row|$first"]} > 0)); then
      line+=" $(awk -v a="${EXTRA["$row|$last"]}" -v b="${EXTRA["$row|$first"]}" 'BEGIN { printf "%.2f×", a / b }') |"
    else
      line+=" – |"
    fi
  fi
  echo "$line"
done
echo
echo "latencies: p50 / p99 ms and req/s, $CONNECTIONS connections, $DURATION s after $WARMUP s of warm-up; load generator: $VB_LOADGEN (PATCH: the JDK client)"
echo "JDK: $VB_JDK_VERSION; launcher: $(vb_launcher); database: embedded (H2)"
echo "cores: $(nproc) (the load generator and the node share them)"
echo "1-min load average: $load_before before the run, $(vb_load) at the end"
