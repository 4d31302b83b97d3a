#!/usr/bin/env bash
# Runs many reference components (one 'vigil component run --count N' process) against a
# three-node cluster: the owner's CPU at steady state, and how long all of them take to heartbeat
# to the new owner after kill -9 failovers. See bench/README.md.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster.sh"

COMPONENTS=1000
FAILOVERS=3
STEADY=30
SETTLE=60
HEARTBEAT=5
EVENTS_PER_MINUTE=1
# How long one failover may take before it counts as timed out, how long all components may take
# to heartbeat to the new owner before the run says how many did, and how long a node may take to
# start or the cluster to settle.
FAILOVER_TIMEOUT=60
HEARTBEAT_TIMEOUT=120
READY_TIMEOUT=180
# start-dev starts a killed node again after this many seconds (--restart-after): after the
# components have reconnected, since on this one machine a starting JVM takes the cores from the
# new owner, which a node restarting on a machine of its own does not.
RESTART_AFTER=20
# How long one request of the script may take: a node busy with 1,000 components answers slower
# than an idle one, and a request given up on is asked again.
PROBE_TIMEOUT=10
# The node settings written into every node's appsettings.json: the failover controller's defaults,
# and a token-endpoint limit far above the default 300 a minute per client address, since every
# component registers from 127.0.0.1.
LEASE_MS=4000
RENEW_MS=1000
DEADLINE_MS=2500
POLL_MS=100
TOKEN_REQUESTS_PER_MINUTE=100000
# Every component keeps about two connections open (a heartbeat or event post, a configuration
# poll), all from 127.0.0.1: far above the nodes' defaults of 1000 and 32 per address.
MAX_CONNECTIONS=20000
VC_EXTRA_ENV=(
  VIGIL_HTTP_MAX_CONNECTIONS="$MAX_CONNECTIONS"
  VIGIL_HTTP_MAX_CONNECTIONS_PER_ADDRESS="$MAX_CONNECTIONS"
)

usage() {
  cat <<EOF
Usage: bench/components.sh [--components N] [--failovers N] [--steady SECONDS]
                           [--settle SECONDS] [--heartbeat-seconds S] [--events-per-minute N]

Starts a PostgreSQL server and three Vigil nodes on 127.0.0.1 with
'bin/vigil start-dev --nodes 3', and one process of the reference component,
'bin/vigil component run --count N', registered with N one-time registration tokens. Measures:
  1. the owner's CPU (its java process, from /proc) over --steady seconds before the components
     start (the reference) and with all of them heartbeating, --settle seconds after the last
     came online (the owner's JIT compiler threads' share of that window is printed too);
  2. for each of --failovers kill -9s of the owner: the time from the kill to the first 200 from
     GET /api/v1/servers on a survivor, and until every component's server shows a heartbeat
     (lastSeenAt) at or after that first 200;
  3. at the end, every event the components saw acknowledged (their --ack-log) against the
     events stored: lost, stored twice.

  --components N           reference components in the one process, 1-5000 (default $COMPONENTS)
  --failovers N            kill -9 failovers, 0-20 (default $FAILOVERS)
  --steady SECONDS         each CPU window, 10-600 (default $STEADY)
  --settle SECONDS         wait before the window with the components, 0-600 (default $SETTLE)
  --heartbeat-seconds S    each component's heartbeat interval, 1-60 (default $HEARTBEAT)
  --events-per-minute N    motion events per component per minute, 0-60 (default $EVENTS_PER_MINUTE)
  -h, --help               show this help

Needs jq (reads the servers' lastSeenAt and the events' idempotency keys).
Database: VIGIL_DB_URL (a throw-away PostgreSQL database on this machine; also VIGIL_DB_USER,
VIGIL_DB_PASSWORD, and VIGIL_ADMIN_PASSWORD for its admin) when set, else a temporary server
from /usr/lib/postgresql/*/bin (run as user postgres when this script runs as root), else the
embedded PostgreSQL of start-dev (not as root).
JDK: JAVA_HOME when set, else the newest JDK $VB_MIN_JAVA+ under /usr/lib/jvm.
EOF
}

while (($#)); do
  case "$1" in
    --components) COMPONENTS="${2:-}"; shift 2 || vb_die "--components needs a value" ;;
    --failovers) FAILOVERS="${2:-}"; shift 2 || vb_die "--failovers needs a value" ;;
    --steady) STEADY="${2:-}"; shift 2 || vb_die "--steady needs a value" ;;
    --settle) SETTLE="${2:-}"; shift 2 || vb_die "--settle needs a value" ;;
    --heartbeat-seconds) HEARTBEAT="${2:-}"; shift 2 || vb_die "--heartbeat-seconds needs a value" ;;
    --events-per-minute) EVENTS_PER_MINUTE="${2:-}"; shift 2 || vb_die "--events-per-minute needs a value" ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; vb_die "unknown option '$1'" ;;
  esac
done
vb_check_int --components "$COMPONENTS" 1 5000
vb_check_int --failovers "$FAILOVERS" 0 20
vb_check_int --steady "$STEADY" 10 600
vb_check_int --settle "$SETTLE" 0 600
vb_check_int --heartbeat-seconds "$HEARTBEAT" 1 60
vb_check_int --events-per-minute "$EVENTS_PER_MINUTE" 0 60
command -v jq >/dev/null 2>&1 || vb_die "jq is not installed (Debian/Ubuntu: apt-get install jq); it reads the servers' lastSeenAt and the stored events"

NODES=(1 2 3)
declare -a NAME PORT LOG PID CODE
declare -A PORT_IDX
SD_PID=""
COMP_PID=""
CLUSTER=""

# Stops the components (SIGTERM to their process group, so each prints its 'stopped' line), then
# start-dev and its nodes, then this script's PostgreSQL, then the temporary directories.
cb_cleanup() {
  [[ -n "$COMP_PID" ]] && vb_stop_node "$COMP_PID" 30
  COMP_PID=""
  [[ -n "$SD_PID" ]] && vb_stop_node "$SD_PID" 40
  SD_PID=""
  vb_stop_db
  vb_cleanup
}

# Prints how many component servers (named rs-…) node I lists with a heartbeat (lastSeenAt) at or
# after SINCE_US; prints nothing when a page is not answered with 200.
cb_heartbeats_since() {
  local i="$1" since_us="$2" cursor="" page count=0 n
  local since
  since="$(awk -v u="$since_us" 'BEGIN { printf "%.6f", u / 1000000 }')"
  while :; do
    page="$(curl -s -m "$PROBE_TIMEOUT" -H "@$WORK/auth" -w '\n%{http_code}' \
      "http://127.0.0.1:${PORT[i]}/api/v1/servers?limit=500${cursor:+&cursor=$cursor}")" || return 1
    [[ "${page##*$'\n'}" == 200 ]] || return 1
    page="${page%$'\n'*}"
    # lastSeenAt is an ISO instant in UTC ("…T23:59:01.123456Z"): whole seconds, then the fraction.
    n="$(jq -r --argjson since "$since" '
      [.items[] | select(.name | startswith("rs-")) | .lastSeenAt // empty
       | ((.[0:19] + "Z" | fromdateiso8601)
          + ((.[19:] | ltrimstr(".") | rtrimstr("Z")) as $f
             | if $f == "" then 0 else ("0." + $f | tonumber) end))
       | select(. >= $since)] | length' <<<"$page")" || return 1
    count=$((count + n))
    cursor="$(jq -r '.nextCursor // empty | @uri' <<<"$page")"
    [[ -n "$cursor" ]] || break
  done
  echo "$count"
}

# The owner's java process: the PID start-dev lists (bin/vigil ends in exec java), else its child.
cb_java_pid() {
  vb_java_pid "${PID[$1]}" || vc_die_with_logs "no java process for ${NAME[$1]} (pid ${PID[$1]})"
}

# CPU time (user + system, in clock ticks) of process $1.
cb_ticks() {
  awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null
}

# Measures the CPU share of one core of the owner's java process (and of the components' process,
# when running) over STEADY seconds; prints "owner_percent components_percent".
cb_cpu_window() {
  local owner_pid="$1" comp_java="${2:-}" o0 o1 j0 j1 c0=0 c1=0 t0 t1
  t0="$(vb_now_us)"
  o0="$(cb_ticks "$owner_pid")"
  j0="$(cb_jit_ticks "$owner_pid")"
  [[ -n "$comp_java" ]] && c0="$(cb_ticks "$comp_java")"
  sleep "$STEADY"
  t1="$(vb_now_us)"
  o1="$(cb_ticks "$owner_pid")"
  j1="$(cb_jit_ticks "$owner_pid")"
  [[ -n "$comp_java" ]] && c1="$(cb_ticks "$comp_java")"
  [[ -n "$o0" && -n "$o1" ]] || vc_die_with_logs "the owner's process $owner_pid ended during the CPU window"
  awk -v o0="$o0" -v o1="$o1" -v j0="$j0" -v j1="$j1" -v c0="$c0" -v c1="$c1" -v hz="$TICKS" \
    -v us=$((t1 - t0)) 'BEGIN { s = us / 1e6
      printf "%.1f %.1f %.1f\n", 100 * (o1 - o0) / hz / s, 100 * (c1 - c0) / hz / s,
        100 * (j1 - j0) / hz / s }'
}

# CPU time (clock ticks) of the JIT compiler threads of process $1 ("C1/C2 CompilerThreadN").
cb_jit_ticks() {
  local t sum=0 comm
  for t in /proc/"$1"/task/*; do
    comm="$(cat "$t/comm" 2>/dev/null)" || continue
    [[ "$comm" == C[12]\ CompilerThre* ]] || continue
    sum=$((sum + $(awk '{ print $14 + $15 }' "$t/stat" 2>/dev/null || echo 0)))
  done
  echo "$sum"
}

vb_init
trap cb_cleanup EXIT
vb_find_jdk
vb_ensure_build
[[ -x "$VB_DIST/bin/vigil" ]] || vb_die "$VB_DIST/bin/vigil is missing; rebuild the distribution with ./mvnw -B -DskipTests package."
TICKS="$(getconf CLK_TCK)"

vb_tmpdir
WORK="$VB_TMP"
CLUSTER="$WORK/cluster"
VC_EXTRA_LOG="$WORK/components.log"
export VIGIL_ADMIN_PASSWORD="${VIGIL_ADMIN_PASSWORD:-}"
vb_start_db

for i in "${NODES[@]}"; do
  mkdir -p "$CLUSTER/node-$i"
  cat >"$CLUSTER/node-$i/appsettings.json" <<EOF
{"Cluster": {"LeaseMillis": $LEASE_MS, "RenewIntervalMillis": $RENEW_MS, "RenewDeadlineMillis": $DEADLINE_MS, "PollIntervalMillis": $POLL_MS},
 "Identity": {"TokenRequestsPerMinute": $TOKEN_REQUESTS_PER_MINUTE}}
EOF
done

echo "JDK: $VB_JDK ($VB_JDK_VERSION)"
echo "database: $DB_DESC"
echo "node settings: lease $LEASE_MS ms, renew every $RENEW_MS ms, renew deadline $DEADLINE_MS ms, poll $POLL_MS ms (the defaults); Identity.TokenRequestsPerMinute $TOKEN_REQUESTS_PER_MINUTE (appsettings.json); VIGIL_HTTP_MAX_CONNECTIONS and VIGIL_HTTP_MAX_CONNECTIONS_PER_ADDRESS $MAX_CONNECTIONS"
echo "components: $COMPONENTS in one 'bin/vigil component run --count $COMPONENTS' process, registered with one-time registration tokens; heartbeat every $HEARTBEAT s, $EVENTS_PER_MINUTE motion events per minute each"
echo "cores: $(nproc); 1-min load average before the run: $(vb_load)"

vc_start_cluster
vc_wait_state
for i in "${NODES[@]}"; do
  vc_wait_ready "$i"
done
echo "nodes: ${NAME[*]} on 127.0.0.1 ports ${PORT[*]}, started by 'bin/vigil start-dev --nodes 3 --restart-after $RESTART_AFTER'"
vc_wait_stable
vc_token
vb_note "cluster ready: ${NAME[ACTIVE]} is active"

# 1a. The reference: the idle cluster's owner, before any component exists.
sleep 5
owner_java="$(cb_java_pid "$ACTIVE")"
read -r idle_cpu _ < <(cb_cpu_window "$owner_java")
idle_owner="${NAME[ACTIVE]}"
vb_note "idle owner ${NAME[ACTIVE]}: $idle_cpu % of one core over $STEADY s"

# One-time registration tokens, one per component, created with one curl (one connection). They
# reach the component process in an argument file (picocli's @file), not on its command line.
vb_note "creating $COMPONENTS registration tokens"
: >"$WORK/tokens.curl"
for t in $(seq 1 "$COMPONENTS"); do
  ((t > 1)) && echo next >>"$WORK/tokens.curl"
  printf 'url = "http://127.0.0.1:%s/api/v1/registration-tokens"\nrequest = "POST"\nheader = "Content-Type: application/json"\nheader = "@%s"\ndata = "{\\"expiresInSeconds\\":3600}"\nwrite-out = "\\n"\n' \
    "${PORT[ACTIVE]}" "$WORK/auth" >>"$WORK/tokens.curl"
done
curl -s -m 600 -K "$WORK/tokens.curl" >"$WORK/tokens.json" ||
  vc_die_with_logs "creating the registration tokens failed"
grep -o '"registrationToken":"[^"]*"' "$WORK/tokens.json" | sed 's/^"registrationToken":"\(.*\)"$/--registration-token \1/' >"$WORK/component.args"
made="$(wc -l <"$WORK/component.args")"
((made == COMPONENTS)) || vc_die_with_logs "only $made of $COMPONENTS registration tokens were created: $(head -c 300 "$WORK/tokens.json")"

# 1b. The components: one process, every node's URL, registered with the tokens.
servers=()
for i in "${NODES[@]}"; do
  servers+=(--server "http://127.0.0.1:${PORT[i]}")
done
: >"$WORK/components.log"
comp_t0="$(vb_now_us)"
env -i PATH="$PATH" HOME="${HOME:-/nonexistent}" JAVA_HOME="$VB_JDK" VIGIL_CACHE=off \
  setsid "$VB_DIST/bin/vigil" component run --name rs --count "$COMPONENTS" "${servers[@]}" \
  --heartbeat-seconds "$HEARTBEAT" --events-per-minute "$EVENTS_PER_MINUTE" \
  --state-dir "$WORK/state" --ack-log "$WORK/acks.txt" "@$WORK/component.args" \
  </dev/null >"$WORK/components.log" 2>&1 &
COMP_PID=$!
# Every component prints 'online at' after its first heartbeat ('reconnected to' when heartbeats
# failed before it), or 'failed:' when it could not register within its failover time (docs/sdk.md);
# the run goes on with those online and counts the others.
cb_online() {
  grep -oE '^[^ ]+ [^ ]+: (online at|reconnected to) ' "$WORK/components.log" |
    cut -d' ' -f2 | sort -u | wc -l
}
deadline=$((comp_t0 + (120 + COMPONENTS / 2) * 1000000))
while :; do
  online="$(cb_online)"
  failed="$(grep -c ': failed: ' "$WORK/components.log")"
  ((online + failed >= COMPONENTS)) && break
  kill -0 "$COMP_PID" 2>/dev/null || vc_die_with_logs "the components' process exited ($online of $COMPONENTS online)"
  (($(vb_now_us) > deadline)) && vc_die_with_logs "only $online of $COMPONENTS components online ($failed failed) after $(((deadline - comp_t0) / 1000000)) s"
  sleep 0.5
done
((online > 0)) || vc_die_with_logs "no component came online ($failed failed)"
online_s="$(awk -v us=$(($(vb_now_us) - comp_t0)) 'BEGIN { printf "%.1f", us / 1e6 }')"
echo "$online of $COMPONENTS components online $online_s s after their process started (registration, hardware, first heartbeat)"
if ((failed > 0)); then
  echo "  $failed failed before coming online (no answer within the failover time, or a refusal); the first: $(grep -m 1 ': failed: ' "$WORK/components.log")"
fi
comp_java="$(vb_java_pid "$COMP_PID")" || vc_die_with_logs "no java process for the components"

# 1c. Steady state: after --settle seconds, the same window with every component running. The
# owner's JIT compiler is still at work in the first minute or two with this load; its threads'
# share of the window is printed beside the figure.
sleep "$SETTLE"
vc_wait_stable
owner_java="$(cb_java_pid "$ACTIVE")"
read -r steady_cpu comp_cpu steady_jit < <(cb_cpu_window "$owner_java" "$comp_java")
steady_owner="${NAME[ACTIVE]}"
vb_note "steady owner ${NAME[ACTIVE]}: $steady_cpu % of one core ($steady_jit % JIT compiler); components' process $comp_cpu %"

# 2. kill -9 failovers.
ready_log=()
all_log=()
all_after_ready_log=()
for f in $(seq 1 "$FAILOVERS"); do
  vc_wait_stable
  vc_token
  sleep "1.$(printf '%03d' $((RANDOM % 1000)))"
  a="$ACTIVE"
  mapfile -t survivors < <(vc_live "$a")
  killed="${PID[a]}"
  t0="$(vb_now_us)"
  kill -KILL "$killed"
  if ! vc_time_first_200 "$t0" "${survivors[@]}"; then
    ready_log+=("timeout")
    all_log+=("-")
    all_after_ready_log+=("-")
    vb_note "failover $f: ${NAME[a]} killed, no survivor served within $FAILOVER_TIMEOUT s"
  else
    ready_ms="$MS"
    ready_us="$READY_US"
    w="$WINNER"
    seen=0
    hb_deadline=$((ready_us + HEARTBEAT_TIMEOUT * 1000000))
    while :; do
      n="$(cb_heartbeats_since "$w" "$ready_us")"
      now="$(vb_now_us)"
      [[ -n "$n" ]] && seen="$n"
      ((seen >= online)) && break
      ((now > hb_deadline)) && break
      sleep 0.1
    done
    ready_log+=("$ready_ms")
    if ((seen >= online)); then
      all_ms=$(((now - t0 + 500) / 1000))
      after_ms=$(((now - ready_us + 500) / 1000))
      all_log+=("$all_ms")
      all_after_ready_log+=("$after_ms")
      vb_note "failover $f: ${NAME[a]} killed, ${NAME[w]} served after $ready_ms ms; all $online components heartbeat to it $all_ms ms after the kill ($after_ms ms after it served)"
    else
      all_log+=("$seen/$online")
      all_after_ready_log+=("$seen/$online")
      vb_note "failover $f: ${NAME[a]} killed, ${NAME[w]} served after $ready_ms ms; only $seen of $online components heartbeat to it within $HEARTBEAT_TIMEOUT s"
    fi
  fi
  # start-dev starts the killed node again (--restart-after) with the same name, port and data.
  vc_wait_state "$a" "$killed"
  vc_wait_ready "$a"
done

# 3. Events: let them go on for two heartbeat intervals, stop the components (each prints its
# 'stopped' line), then compare what they saw acknowledged with what is stored.
sleep $((2 * HEARTBEAT))
vb_stop_node "$COMP_PID" 30
COMP_PID=""
stopped="$(grep -c ': stopped (' "$WORK/components.log")"
reconnected="$(grep -c ': reconnected to ' "$WORK/components.log")"
disconnected="$(grep -c ': disconnected: ' "$WORK/components.log")"
vc_wait_stable
vc_token
: >"$WORK/stored.txt"
cursor=""
while :; do
  page="$(curl -s -m 30 -H "@$WORK/auth" -w '\n%{http_code}' \
    "http://127.0.0.1:${PORT[ACTIVE]}/api/v1/events?limit=500${cursor:+&cursor=$cursor}")"
  [[ "${page##*$'\n'}" == 200 ]] || vc_die_with_logs "GET /api/v1/events answered ${page##*$'\n'}"
  page="${page%$'\n'*}"
  jq -r '.items[] | .idempotencyKey // empty' <<<"$page" >>"$WORK/stored.txt"
  cursor="$(jq -r '.nextCursor // empty | @uri' <<<"$page")"
  [[ -n "$cursor" ]] || break
done
cut -d' ' -f2 "$WORK/acks.txt" 2>/dev/null | sort >"$WORK/acked.sorted"
sort "$WORK/stored.txt" >"$WORK/stored.sorted"
acked="$(wc -l <"$WORK/acked.sorted")"
acked_twice="$(uniq -d "$WORK/acked.sorted" | wc -l)"
stored="$(wc -l <"$WORK/stored.sorted")"
stored_twice="$(uniq -d "$WORK/stored.sorted" | wc -l)"
lost="$(comm -23 <(sort -u "$WORK/acked.sorted") <(sort -u "$WORK/stored.sorted") | wc -l)"

# Prints "median M ms, max X ms" of whole numbers (or "n/a").
cb_stats() {
  local -a s
  mapfile -t s < <(printf '%s\n' "$@" | grep -E '^[0-9]+$' | sort -n)
  local n=${#s[@]} median
  ((n == 0)) && { echo "n/a"; return; }
  if ((n % 2)); then median="${s[n / 2]}"; else median=$(((s[n / 2 - 1] + s[n / 2] + 1) / 2)); fi
  echo "median $median ms, max ${s[n - 1]} ms (n=$n of ${#@})"
}

echo
echo "owner CPU, idle cluster before the components (reference): $idle_cpu % of one core over $STEADY s ($idle_owner)"
echo "owner CPU, $online components heartbeating every $HEARTBEAT s: $steady_cpu % of one core over $STEADY s ($steady_owner), $SETTLE s after all were online   [target: ≤ 20 % for 1,000 every 5 s]"
echo "  of which the owner's JIT compiler threads: $steady_jit %"
echo "  the components' own process ($online online, same machine): $comp_cpu % of one core"
if ((FAILOVERS > 0)); then
  echo "kill -9 of the owner to the new owner's first 200 (reference): $(cb_stats "${ready_log[@]}")"
  echo "  failovers in order (ms): ${ready_log[*]}"
  echo "kill -9 to every component heartbeating to the new owner: $(cb_stats "${all_log[@]}")"
  echo "  failovers in order (ms): ${all_log[*]}"
  echo "new owner's first 200 to every component heartbeating to it: $(cb_stats "${all_after_ready_log[@]}")   [target: ≤ 10000 ms]"
  echo "  failovers in order (ms): ${all_after_ready_log[*]}"
fi
echo "events: $acked acknowledged to the components, $stored stored; acknowledged but not stored: $lost; stored twice: $stored_twice; acknowledged twice: $acked_twice"
echo "component lines: $disconnected 'disconnected', $reconnected 'reconnected'; $stopped of $online online printed 'stopped' on SIGTERM; $failed of $COMPONENTS failed before coming online"
echo "cores: $(nproc); 1-min load average at the end: $(vb_load)"
