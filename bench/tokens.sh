#!/usr/bin/env bash
# Measures client-credentials token issuance per second on loopback. See bench/README.md.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=20
WARMUP=5
CONNECTIONS="16 1"
URL=""
ALGORITHM=RS256
CLIENT_ID=bench-component
# The node's own limit (Identity.TokenRequestsPerMinute, default 300 per client and address) would
# answer most of the load 429; the node this script starts allows 100,000 requests a second.
TOKEN_REQUESTS_PER_MINUTE=6000000

usage() {
  cat <<EOF
Usage: bench/tokens.sh [--duration SECONDS] [--warmup SECONDS] [--connections "16 1"]
                      [--algorithm RS256|ES256] [--url URL]

Measures POST /idp/connect/token with grant_type=client_credentials and HTTP Basic client
authentication, with wrk on 127.0.0.1. Starts a fresh node (temporary data directory, free port,
random admin password), gets an admin token with the password grant, registers the confidential
client "$CLIENT_ID" (POST /api/v1/clients), warms up, then loads the token endpoint once per
connection count and prints requests/s, mean/p50/p99 latency and errors (non-200 answers and
socket errors). Before the load it measures two references: signatures per second of OpenSSL on
all cores (openssl speed -multi CORES -seconds 5 rsa2048, or ecdsap256 for ES256), and of the
node's own crypto provider inside one JVM on as many threads (bench/SignSpeed.java); it prints the
token rate as a percentage of each, and the crypto provider the node logged ("Crypto: ...").

  --duration SECONDS     measured time per connection count, 1-240 (default $DURATION)
  --warmup SECONDS       untimed load before measuring, 0-60 (default $WARMUP)
  --connections "N ..."  concurrent connections to measure, each 1-1024 (default "$CONNECTIONS")
  --algorithm ALG        the node's Identity.SigningAlgorithm, RS256 or ES256 (default $ALGORITHM)
  --url URL              use the running node at URL (127.0.0.1 or localhost only) instead of
                         starting one; VIGIL_ADMIN_PASSWORD must hold its admin password, the
                         client "$CLIENT_ID" must not exist yet, above 32 connections the node
                         must allow them from one address (VIGIL_HTTP_MAX_CONNECTIONS_PER_ADDRESS),
                         and Identity.TokenRequestsPerMinute must exceed the rate (else 429s)
  -h, --help             show this help
EOF
}

while (($#)); do
  case "$1" in
    --duration) DURATION="${2:-}"; shift 2 || vb_die "--duration needs a value" ;;
    --warmup) WARMUP="${2:-}"; shift 2 || vb_die "--warmup needs a value" ;;
    --connections) CONNECTIONS="${2:-}"; shift 2 || vb_die "--connections needs a value" ;;
    --url) URL="${2:-}"; shift 2 || vb_die "--url needs a value" ;;
    --algorithm) ALGORITHM="${2:-}"; shift 2 || vb_die "--algorithm needs a value" ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; vb_die "unknown option '$1'" ;;
  esac
done
vb_check_int --duration "$DURATION" 1 240
vb_check_int --warmup "$WARMUP" 0 60
[[ -n "${CONNECTIONS// /}" ]] || vb_die "--connections needs at least one number"
for c in $CONNECTIONS; do vb_check_int --connections "$c" 1 1024; done
case "$ALGORITHM" in
  RS256) openssl_test=rsa2048 openssl_line='^rsa +2048 bits' ;;
  ES256) openssl_test=ecdsap256 openssl_line='nistp256' ;;
  *) vb_die "--algorithm must be RS256 or ES256, not '$ALGORITHM'" ;;
esac

command -v openssl >/dev/null 2>&1 || vb_die "openssl is missing; it measures the reference signing rate (apt-get install openssl)"

vb_init
vb_pick_loadgen
# RS256 is the default: leaving it out keeps the script usable on builds without the setting.
algorithm_setting=""
[[ "$ALGORITHM" == RS256 ]] || algorithm_setting=", \"SigningAlgorithm\": \"$ALGORITHM\""
export VB_NODE_SETTINGS="{\"Identity\": {\"TokenRequestsPerMinute\": $TOKEN_REQUESTS_PER_MINUTE$algorithm_setting}}"
vb_node_for_load "$URL"
if [[ -n "${VB_NODE_LOG:-}" ]]; then
  crypto="$(grep -o 'Crypto: .*' "$VB_NODE_LOG" | head -1)"
  [[ -n "$crypto" ]] || crypto="the JDK's providers (the node logged no \"Crypto:\" line: a version before it)"
else
  crypto="not known (--url: see the \"Crypto:\" line in the node's log)"
fi
case "$crypto" in
  *Corretto*) provider=native ;;
  *) provider=jdk ;;
esac

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

# The references, measured while the node idles: signatures per second of OpenSSL with one process
# per core (its summary line reads "... <s/sign> <s/verify> <sign/s> <verify/s>"): RSA 2048 always,
# the figure the token targets are stated against, and ECDSA P-256 too for ES256; and of the node's
# provider in one JVM on as many threads, which is what the node could sign at most.
cores="$(nproc)"
openssl_speed() { # <test> <line regex>
  local v
  v="$(openssl speed -multi "$cores" -seconds 5 "$1" 2>/dev/null |
    awk -v re="$2" '$0 ~ re { v = $(NF - 1) } END { if (v != "") print v }')"
  [[ "$v" =~ ^[0-9]+(\.[0-9]+)?$ ]] || vb_die "openssl speed -multi $cores $1 printed no summary line"
  echo "$v"
}
also=""
[[ "$openssl_test" == rsa2048 ]] || also=" and $openssl_test"
vb_note "measuring the references: openssl speed -multi $cores -seconds 5 rsa2048$also; bench/SignSpeed.java $provider $ALGORITHM $cores 5"
openssl_rsa="$(openssl_speed rsa2048 '^rsa +2048 bits')" || exit 1
openssl_sign="$openssl_rsa"
if [[ "$openssl_test" != rsa2048 ]]; then
  openssl_sign="$(openssl_speed "$openssl_test" "$openssl_line")" || exit 1
fi
# The provider's build for this platform is kept in lib/native/<platform>/, off the class path.
case "$(uname -m)" in
  aarch64 | arm64) native_dir="$VB_DIST/lib/native/linux-aarch_64" ;;
  *) native_dir="$VB_DIST/lib/native/linux-x86_64" ;;
esac
provider_sign="$("$VB_JAVA" --enable-native-access=ALL-UNNAMED -cp "$VB_DIST/lib/*:$native_dir/*" \
  "$VB_ROOT/bench/SignSpeed.java" "$provider" "$ALGORITHM" "$cores" 5 2>/dev/null | awk '{ print $4 }')"
[[ "$provider_sign" =~ ^[0-9]+(\.[0-9]+)?$ ]] || vb_die "bench/SignSpeed.java $provider $ALGORITHM printed no rate"

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
  # Tokens issued: 200 answers only.
  awk -v c="$c" -v rsa="$openssl_rsa" -v ref="$openssl_sign" -v own="$provider_sign" -v alg="$ALGORITHM" '{
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    ok = (v["requests"] - v["non200"] - v["socket_errors"]) / (v["duration_us"] / 1e6)
    printf "  %d connection(s): %.1f %s tokens/s issued = %.1f %% of OpenSSL'"'"'s RSA 2048 sign/s", c, ok, alg, 100 * ok / rsa
    if (alg != "RS256") printf ", %.1f %% of its %s sign/s", 100 * ok / ref, alg
    printf ", %.1f %% of the provider'"'"'s own %s sign/s\n", 100 * ok / own, alg
  }' <<<"$line"
done
# The node's resident memory after the load (a node this script started: its java process).
if [[ -z "$URL" ]]; then
  if java_pid="$(vb_java_pid "$VB_NODE_PID")" && rss="$(vb_rss_mib "$java_pid")"; then
    echo "node's RSS after the load: $rss MiB (VmRSS of java pid $java_pid)"
  fi
fi
echo "reference: openssl speed -multi $cores -seconds 5 rsa2048: $openssl_rsa sign/s ($(openssl version | cut -d' ' -f1-2))"
[[ "$openssl_test" == rsa2048 ]] ||
  echo "reference: openssl speed -multi $cores -seconds 5 $openssl_test: $openssl_sign sign/s"
echo "reference: bench/SignSpeed.java $provider $ALGORITHM $cores 5 (the node's provider, one JVM, $cores threads): $provider_sign sign/s"
echo "node's crypto provider: $crypto"
echo "cores: $(nproc) (the load generator, $VB_LOADGEN, and the node share them)"
echo "1-min load average: $load_before before the load, $(vb_load) at the end"
