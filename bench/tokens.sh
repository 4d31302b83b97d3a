#!/usr/bin/env bash
# Measures client-credentials token issuance per second on loopback. See bench/README.md.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=20
WARMUP=5
CONNECTIONS="16 1"
URL=""
CLIENT_ID=bench-component

usage() {
  cat <<EOF
Usage: bench/tokens.sh [--duration SECONDS] [--warmup SECONDS] [--connections "16 1"] [--url URL]

Measures POST /idp/connect/token with grant_type=client_credentials and HTTP Basic client
authentication, with wrk on 127.0.0.1. Starts a fresh node (temporary data directory, free port,
random admin password), gets an admin token with the password grant, registers the confidential
client "$CLIENT_ID" (POST /api/v1/clients), warms up, then loads the token endpoint once per
connection count and prints requests/s, mean/p50/p99 latency and errors (non-200 answers and
socket errors).

  --duration SECONDS     measured time per connection count, 1-240 (default $DURATION)
  --warmup SECONDS       untimed load before measuring, 0-60 (default $WARMUP)
  --connections "N ..."  concurrent connections to measure, each 1-1024 (default "$CONNECTIONS")
  --url URL              use the running node at URL (127.0.0.1 or localhost only) instead of
                         starting one; VIGIL_ADMIN_PASSWORD must hold its admin password, the
                         client "$CLIENT_ID" must not exist yet, and above 32 connections the node
                         must allow them from one address (VIGIL_HTTP_MAX_CONNECTIONS_PER_ADDRESS)
  -h, --help             show this help
EOF
}

while (($#)); do
  case "$1" in
    --duration) DURATION="${2:-}"; shift 2 || vb_die "--duration needs a value" ;;
    --warmup) WARMUP="${2:-}"; shift 2 || vb_die "--warmup needs a value" ;;
    --connections) CONNECTIONS="${2:-}"; shift 2 || vb_die "--connections needs a value" ;;
    --url) URL="${2:-}"; shift 2 || vb_die "--url needs a value" ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; vb_die "unknown option '$1'" ;;
  esac
done
vb_check_int --duration "$DURATION" 1 240
vb_check_int --warmup "$WARMUP" 0 60
[[ -n "${CONNECTIONS// /}" ]] || vb_die "--connections needs at least one number"
for c in $CONNECTIONS; do vb_check_int --connections "$c" 1 1024; done

vb_init
vb_pick_loadgen
vb_node_for_load "$URL"

admin_token="$(vb_admin_token)" || exit 1
client="$(vb_post_json /api/v1/clients \
  "{\"clientId\":\"$CLIENT_ID\",\"roles\":[\"component\"]}" \
  "$admin_token")" || exit 1
secret="$(vb_json_field clientSecret "$client")"
[[ -n "$secret" ]] || vb_die "POST /api/v1/clients answered 201 without a clientSecret"

# RFC 6749 section 2.3.1: id and secret are form-urlencoded before they are joined and encoded.
form_encode() {
  local s="$1" out="" i ch
  for ((i = 0; i < ${#s}; i++)); do
    ch="${s:i:1}"
    case "$ch" in
      [a-zA-Z0-9.~_-]) out+="$ch" ;;
      *) out+="$(printf '%%%02X' "'$ch")" ;;
    esac
  done
  echo "$out"
}
export BENCH_METHOD=POST
export BENCH_CONTENT_TYPE=application/x-www-form-urlencoded
export BENCH_BODY=grant_type=client_credentials
export BENCH_AUTHORIZATION
BENCH_AUTHORIZATION="Basic $(printf '%s:%s' "$(form_encode "$CLIENT_ID")" "$(form_encode "$secret")" | base64 -w0)"

# One request first, so a broken contract shows its answer instead of a page of errors.
check="$(curl -s --max-time 30 -w '\n%{http_code}' -X POST "$VB_URL/idp/connect/token" \
  -H "Content-Type: $BENCH_CONTENT_TYPE" -H @- --data-binary "$BENCH_BODY" \
  <<<"Authorization: $BENCH_AUTHORIZATION")"
[[ "${check##*$'\n'}" == 200 ]] ||
  vb_die_with_log "the client-credentials grant for $CLIENT_ID answered ${check##*$'\n'}: ${check%$'\n'*}"

load_before="$(vb_load)"
max=0
for c in $CONNECTIONS; do ((c > max)) && max=$c; done
if ((WARMUP > 0)); then
  vb_note "warming up for $WARMUP s with $max connections"
  vb_load_run "$VB_URL/idp/connect/token" "$WARMUP" "$max" >/dev/null || exit 1
fi
for c in $CONNECTIONS; do
  vb_note "measuring for $DURATION s with $c connection(s)"
  line="$(vb_load_run "$VB_URL/idp/connect/token" "$DURATION" "$c")" || exit 1
  vb_report "client-credentials tokens, $c connection(s), $DURATION s" "$line"
done
echo "cores: $(nproc) (the load generator, $VB_LOADGEN, and the node share them)"
echo "1-min load average: $load_before before the load, $(vb_load) at the end"
