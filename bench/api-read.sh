#!/usr/bin/env bash
# Measures authenticated reads of the server registry per second on loopback. See bench/README.md.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=20
WARMUP=5
CONNECTIONS=16
SERVERS=50
URL=""

usage() {
  cat <<EOF
Usage: bench/api-read.sh [--duration SECONDS] [--warmup SECONDS] [--connections "16"]
                         [--servers N] [--url URL]

Measures GET /api/v1/servers with an admin bearer token, with wrk on 127.0.0.1. Starts a fresh
node (temporary data directory, free port, random admin password), gets an admin token with the
password grant, registers N recording servers (POST /api/v1/servers; their addresses are only
data and are never contacted), warms up, then, for each connection count, loads three requests one
after the other and prints requests/s, mean/p50/p99 latency and errors (answers with another status
and socket errors) for each:
  - GET /api/v1/servers (200);
  - the same with If-None-Match set to the list's ETag, read just before (304 when the node
    answers conditional requests; a node that does not answers 200, which counts as errors);
  - GET /health/live, no token (200): the reference, the same machine and load generator with the
    least work a request can cause; then each rate as a share of it.

  --duration SECONDS     measured time per connection count, 1-240 (default $DURATION)
  --warmup SECONDS       untimed load before measuring, 0-60 (default $WARMUP)
  --connections "N ..."  concurrent connections to measure, each 1-1024 (default "$CONNECTIONS")
  --servers N            servers to register before loading, 0-1000 (default $SERVERS)
  --url URL              use the running node at URL (127.0.0.1 or localhost only) instead of
                         starting one; VIGIL_ADMIN_PASSWORD must hold its admin password; above 32
                         connections it must allow them from one address
                         (VIGIL_HTTP_MAX_CONNECTIONS_PER_ADDRESS)
  -h, --help             show this help

A fresh admin token is taken before every wrk run, so each run stays within the token's lifetime.
EOF
}

while (($#)); do
  case "$1" in
    --duration) DURATION="${2:-}"; shift 2 || vb_die "--duration needs a value" ;;
    --warmup) WARMUP="${2:-}"; shift 2 || vb_die "--warmup needs a value" ;;
    --connections) CONNECTIONS="${2:-}"; shift 2 || vb_die "--connections needs a value" ;;
    --servers) SERVERS="${2:-}"; shift 2 || vb_die "--servers needs a value" ;;
    --url) URL="${2:-}"; shift 2 || vb_die "--url needs a value" ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; vb_die "unknown option '$1'" ;;
  esac
done
vb_check_int --duration "$DURATION" 1 240
vb_check_int --warmup "$WARMUP" 0 60
vb_check_int --servers "$SERVERS" 0 1000
[[ -n "${CONNECTIONS// /}" ]] || vb_die "--connections needs at least one number"
for c in $CONNECTIONS; do vb_check_int --connections "$c" 1 1024; done

vb_init
vb_pick_loadgen
vb_node_for_load "$URL"

admin_token="$(vb_admin_token)" || exit 1
vb_note "registering $SERVERS servers"
for i in $(seq 1 "$SERVERS"); do
  name="$(printf 'rec-%02d' "$i")"
  address="http://10.0.$(((i - 1) / 250)).$(((i - 1) % 250 + 1)):7563"
  vb_post_json /api/v1/servers \
    "{\"name\":\"$name\",\"type\":\"recording-server\",\"address\":\"$address\",\"version\":\"1.0\"}" \
    "$admin_token" >/dev/null || exit 1
done

export BENCH_METHOD=GET
export BENCH_AUTHORIZATION="Bearer $admin_token"
unset BENCH_BODY BENCH_CONTENT_TYPE

# One request first, so a broken contract shows its answer instead of a page of errors.
check="$(curl -s --max-time 30 -w '\n%{http_code} %{size_download}' "$VB_URL/api/v1/servers" \
  -H @- <<<"Authorization: $BENCH_AUTHORIZATION")"
status="${check##*$'\n'}"
[[ "${status%% *}" == 200 ]] || vb_die_with_log "GET /api/v1/servers answered ${status%% *}: ${check%$'\n'*}"
listed="$(grep -o '"rec-[0-9]*"' <<<"${check%$'\n'*}" | sort -u | wc -l)"
((SERVERS == 0 || listed > 0)) ||
  vb_die_with_log "GET /api/v1/servers lists none of the $SERVERS servers just registered: ${check%$'\n'*}"
((listed >= SERVERS)) || vb_note "note: the list shows $listed of $SERVERS servers (a page of them)"
vb_note "the list has $listed servers in ${status#* } bytes"

# The list's ETag now: taken again before each conditional run, since the list changes by itself
# at first (servers that never sent a heartbeat go offline after three intervals).
list_etag() {
  curl -s --max-time 30 -o /dev/null -D - "$VB_URL/api/v1/servers" \
    -H @- <<<"Authorization: $BENCH_AUTHORIZATION" |
    tr -d '\r' | sed -n 's/^[Ee][Tt][Aa][Gg]:[[:space:]]*//p' | head -1
}

# Requests/s of a BENCH line.
rate() {
  awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
         printf "%.1f", v["requests"] / (v["duration_us"] / 1e6) }' <<<"$1"
}

load_before="$(vb_load)"
max=0
for c in $CONNECTIONS; do ((c > max)) && max=$c; done
# A fresh token for every wrk run keeps each run (at most 240 s) within the token's lifetime.
if ((WARMUP > 0)); then
  vb_note "warming up for $WARMUP s with $max connections"
  BENCH_AUTHORIZATION="Bearer $(vb_admin_token)" || exit 1
  vb_load_run "$VB_URL/api/v1/servers" "$WARMUP" "$max" >/dev/null || exit 1
fi
for c in $CONNECTIONS; do
  what="$c connection(s), $DURATION s"
  vb_note "measuring for $DURATION s with $c connection(s): the list, the list with If-None-Match, /health/live"
  BENCH_AUTHORIZATION="Bearer $(vb_admin_token)" || exit 1
  line="$(vb_load_run "$VB_URL/api/v1/servers" "$DURATION" "$c")" || exit 1
  vb_report "GET /api/v1/servers ($listed servers, ${status#* } bytes), $what" "$line"
  BENCH_AUTHORIZATION="Bearer $(vb_admin_token)" || exit 1
  etag="$(list_etag)"
  if [[ -z "$etag" ]]; then
    vb_note "note: the list has no ETag; the conditional run sends If-None-Match: \"none\""
    etag='"none"'
  fi
  conditional="$(BENCH_IF_NONE_MATCH="$etag" BENCH_STATUS=304 \
    vb_load_run "$VB_URL/api/v1/servers" "$DURATION" "$c")" || exit 1
  BENCH_STATUS=304 vb_report "GET /api/v1/servers with If-None-Match (304), $what" "$conditional"
  live="$(unset BENCH_AUTHORIZATION; vb_load_run "$VB_URL/health/live" "$DURATION" "$c")" || exit 1
  vb_report "GET /health/live (reference, no token), $what" "$live"
  awk -v list="$(rate "$line")" -v cond="$(rate "$conditional")" -v live="$(rate "$live")" \
    -v what="$what" 'BEGIN {
      printf "share of the /health/live rate, %s: the list %.1f %%, the list with If-None-Match %.1f %%\n",
        what, 100 * list / live, 100 * cond / live }'
done
echo "cores: $(nproc) (the load generator, $VB_LOADGEN, and the node share them)"
echo "1-min load average: $load_before before the load, $(vb_load) at the end"
