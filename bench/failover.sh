#!/usr/bin/env bash
# Measures failover times of a three-node cluster and counts false failovers under CPU load. See
# bench/README.md.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=20
SOAK=600
# How long one failover may take before the round counts as timed out, and how long a node may
# take to start or the cluster to settle before the run gives up.
FAILOVER_TIMEOUT=60
READY_TIMEOUT=180
# start-dev starts a killed node again after this many seconds (--restart-after): long enough that
# the new JVM's start does not share the cores with the failover being measured.
RESTART_AFTER=2
# The node settings this run writes into every node's appsettings.json: the defaults.
LEASE_MS=4000
RENEW_MS=1000
DEADLINE_MS=2500
POLL_MS=100

usage() {
  cat <<EOF
Usage: bench/failover.sh [--rounds N] [--soak SECONDS]

Starts a PostgreSQL server and three Vigil nodes (node-1..3) on 127.0.0.1 with
'bin/vigil start-dev --nodes 3', then measures:
  1. kill -9 of the active node: time to the first 200 from GET /api/v1/servers on a survivor;
  2. SIGSTOP of the active node (lease path): the same time, then SIGCONT and check it stands by;
  3. planned move (POST /api/v1/cluster/move to a standby): time to the first 200 on the target;
  4. false failovers while every core is kept busy for --soak seconds.
Prints median, p95 and max per kind, and the count of false failovers, beside the targets.

  --rounds N        rounds of each of 1-3, 1-100 (default $ROUNDS)
  --soak SECONDS    length of 4, 0-7200; 0 skips it (default $SOAK)
  -h, --help        show this help

Database: VIGIL_DB_URL (a throw-away PostgreSQL database on this machine; also VIGIL_DB_USER,
VIGIL_DB_PASSWORD, and VIGIL_ADMIN_PASSWORD for its admin) when set, else a temporary server
from /usr/lib/postgresql/*/bin (run as user postgres when this script runs as root), else the
embedded PostgreSQL of start-dev (not as root).
JDK: JAVA_HOME when set, else the newest JDK $VB_MIN_JAVA+ under /usr/lib/jvm.
EOF
}

while (($#)); do
  case "$1" in
    --rounds) ROUNDS="${2:-}"; shift 2 || vb_die "--rounds needs a value" ;;
    --soak) SOAK="${2:-}"; shift 2 || vb_die "--soak needs a value" ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; vb_die "unknown option '$1'" ;;
  esac
done
vb_check_int --rounds "$ROUNDS" 1 100
vb_check_int --soak "$SOAK" 0 7200

NODES=(1 2 3)
declare -a NAME PORT LOG PID STOPPED CODE
declare -A PORT_IDX
BURNERS=()
# bin/vigil start-dev: its process (the leader of its own process group, which its nodes share) and
# its data directory, with node-K/ and nodes.tsv.
SD_PID=""
CLUSTER=""

# Stops, in this order: the CPU burners, start-dev and its nodes (resumed first if stopped, so they
# can handle SIGTERM; start-dev stops them and then its embedded PostgreSQL, if it runs one, within
# its own 15 s grace), this script's PostgreSQL (after the nodes, so none loses its database while
# stopping), and then the temporary directories through vb_cleanup.
fb_cleanup() {
  local pid i
  for pid in "${BURNERS[@]}"; do
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  BURNERS=()
  for i in "${NODES[@]}"; do
    [[ -n "${PID[i]:-}" ]] && kill -CONT "${PID[i]}" 2>/dev/null
  done
  [[ -n "$SD_PID" ]] && vb_stop_node "$SD_PID" 40
  SD_PID=""
  vb_stop_db
  vb_cleanup
}

# Starts 'bin/vigil start-dev --nodes 3' on free loopback ports with its data in $CLUSTER, in a
# clean environment (no JAVA_OPTS, VIGIL_ISSUER, ...) so that every node runs with the same, printed
# settings, and in a process group of its own (setsid), which its nodes join.
fb_start_cluster() {
  local -a env=(
    PATH="$PATH"
    HOME="${HOME:-/nonexistent}"
    JAVA_HOME="$VB_JDK"
    VIGIL_ADMIN_PASSWORD="$VIGIL_ADMIN_PASSWORD"
    VIGIL_CACHE=off
  )
  [[ -n "$DB_URL" ]] && env+=(VIGIL_DB_URL="$DB_URL")
  [[ -n "$DB_USER" ]] && env+=(VIGIL_DB_USER="$DB_USER")
  [[ -n "$DB_PASSWORD" ]] && env+=(VIGIL_DB_PASSWORD="$DB_PASSWORD")
  env -i "${env[@]}" setsid "$VB_DIST/bin/vigil" start-dev --nodes 3 --http-port 0 \
    --data-dir "$CLUSTER" --restart-after "$RESTART_AFTER" </dev/null >"$WORK/start-dev.log" 2>&1 &
  SD_PID=$!
}

# Dies with start-dev's output when it has exited.
fb_check_start_dev() {
  kill -0 "$SD_PID" 2>/dev/null && return 0
  wait "$SD_PID" 2>/dev/null
  SD_PID=""
  echo "--- output of bin/vigil start-dev ---" >&2
  tail -n 30 "$WORK/start-dev.log" >&2
  vb_die "bin/vigil start-dev --nodes 3 exited (its output above, from $WORK/start-dev.log)"
}

# Reads start-dev's $CLUSTER/nodes.tsv (name, URL, PID per node; PID "-" while a node is down)
# into NAME, PORT, PORT_IDX, LOG and PID (empty for a node that is down). Fails while it is missing.
fb_read_state() {
  local name url pid i
  [[ -r "$CLUSTER/nodes.tsv" ]] || return 1
  while IFS=$'\t' read -r name url pid; do
    i="${name#node-}"
    NAME[i]="$name"
    PORT[i]="${url##*:}"
    PORT_IDX[${PORT[i]}]="$i"
    LOG[i]="$CLUSTER/$name/$name.log"
    if [[ "$pid" == - ]]; then PID[i]=""; else PID[i]="$pid"; fi
  done <"$CLUSTER/nodes.tsv"
}

# Waits until nodes.tsv names a running process for every node and, when I and OLD are given, one
# other than PID OLD for node I (start-dev started it again).
fb_wait_state() {
  local again="${1:-}" old="${2:-}" deadline=$(($(vb_now_us) + READY_TIMEOUT * 1000000)) i ok
  while :; do
    if fb_read_state; then
      ok=1
      for i in "${NODES[@]}"; do
        [[ -n "${PID[i]:-}" ]] || ok=0
      done
      [[ -n "$again" && "${PID[again]:-}" == "$old" ]] && ok=0
      ((ok)) && return 0
    fi
    fb_check_start_dev
    (($(vb_now_us) > deadline)) &&
      fb_die_with_logs "start-dev did not list every node as running in $CLUSTER/nodes.tsv within $READY_TIMEOUT s"
    sleep 0.05
  done
}

fb_die_with_logs() {
  local i
  for i in "${NODES[@]}"; do
    [[ -n "${LOG[i]:-}" ]] || continue
    echo "--- last lines of ${NAME[i]}'s log ---" >&2
    tail -n 15 "${LOG[i]}" >&2
  done
  echo "--- last lines of start-dev's output ---" >&2
  tail -n 15 "$WORK/start-dev.log" >&2
  vb_die "$@"
}

# Waits until node I answers 200 on /health/ready.
fb_wait_ready() {
  vb_wait_ready "http://127.0.0.1:${PORT[$1]}" "${PID[$1]}" "${LOG[$1]}" "$READY_TIMEOUT"
}

# Nodes that run and are not stopped, or of those the ones other than $1.
fb_live() {
  local i
  for i in "${NODES[@]}"; do
    [[ -n "${PID[i]}" && "${STOPPED[i]}" == 0 && "$i" != "${1:-}" ]] && echo "$i"
  done
}

# GETs PATH from the nodes given, all at once with one curl (no redirects followed), with the
# bearer token when AUTH is "auth"; sets CODE[i] (000 when there was no answer within TIMEOUT s)
# and leaves each body in $WORK/body.i.
fb_probe() {
  local path="$1" auth="$2" timeout="$3" i code url port
  shift 3
  local -a args=()
  for i in "$@"; do
    CODE[i]=000
    : >"$WORK/body.$i"
    args+=(-o "$WORK/body.$i" "http://127.0.0.1:${PORT[i]}$path")
  done
  [[ "$auth" == auth ]] && args=(-H "@$WORK/auth" "${args[@]}")
  while read -r code url; do
    port="${url#http://127.0.0.1:}"
    port="${port%%/*}"
    i="${PORT_IDX[$port]:-}"
    [[ -n "$i" ]] && CODE[i]="$code"
  done < <(curl -s --no-progress-meter --parallel --parallel-immediate -m "$timeout" -w '%{http_code} %{url_effective}\n' "${args[@]}")
}

# Waits until exactly one live node answers 200 on /cluster/active and every other live node
# answers 503 naming it; sets ACTIVE and EPOCH.
fb_wait_stable() {
  local deadline=$(($(vb_now_us) + READY_TIMEOUT * 1000000)) i ok body
  local -a live
  while :; do
    mapfile -t live < <(fb_live)
    fb_probe /cluster/active none 2 "${live[@]}"
    ACTIVE=""
    ok=1
    for i in "${live[@]}"; do
      if [[ "${CODE[i]}" == 200 ]]; then
        [[ -z "$ACTIVE" ]] || ok=0
        ACTIVE="$i"
      fi
    done
    if [[ -n "$ACTIVE" && "$ok" == 1 ]]; then
      for i in "${live[@]}"; do
        [[ "$i" == "$ACTIVE" ]] && continue
        body="$(<"$WORK/body.$i")"
        [[ "${CODE[i]}" == 503 && "$body" == *"\"active\":\"${NAME[ACTIVE]}\""* ]] || ok=0
      done
      if [[ "$ok" == 1 ]]; then
        body="$(<"$WORK/body.$ACTIVE")"
        [[ "$body" =~ \"epoch\":([0-9]+) ]] && EPOCH="${BASH_REMATCH[1]}"
        return 0
      fi
    fi
    (($(vb_now_us) > deadline)) &&
      fb_die_with_logs "the cluster did not settle on one active node within $READY_TIMEOUT s (last answers of /cluster/active: $(for i in "${live[@]}"; do printf '%s=%s ' "${NAME[i]}" "${CODE[i]}"; done))"
    sleep 0.1
  done
}

# Takes a fresh admin token from the active node into $WORK/auth (a header file, so the token never
# appears on a command line). Tokens live 5 minutes, so every round takes a new one.
fb_token() {
  local token
  token="$(VB_URL="http://127.0.0.1:${PORT[ACTIVE]}" vb_admin_token)"
  [[ -n "$token" ]] || fb_die_with_logs "no admin token from ${NAME[ACTIVE]}"
  (umask 077 && printf 'Authorization: Bearer %s\n' "$token" >"$WORK/auth")
}

# Polls authenticated GET /api/v1/servers on the given nodes every ~10 ms until one answers 200;
# sets MS (milliseconds since T0, a vb_now_us value) and WINNER. Returns 1 after FAILOVER_TIMEOUT.
fb_time_first_200() {
  local t0="$1" i now
  shift
  local deadline=$((t0 + FAILOVER_TIMEOUT * 1000000))
  while :; do
    fb_probe /api/v1/servers auth 2 "$@"
    now="$(vb_now_us)"
    for i in "$@"; do
      if [[ "${CODE[i]}" == 200 ]]; then
        MS=$(((now - t0 + 500) / 1000))
        WINNER="$i"
        return 0
      fi
    done
    if ((now > deadline)); then
      LAST_ANSWERS="$(for i in "$@"; do printf '%s answered %s %s; ' "${NAME[i]}" "${CODE[i]}" "$(head -c 300 "$WORK/body.$i")"; done)"
      return 1
    fi
    sleep 0.01
  done
}

# Waits 1 to 2 s (random) before a failure, so that failures do not fall at the same point of the
# owner's renew cycle every round.
fb_settle() {
  sleep "1.$(printf '%03d' $((RANDOM % 1000)))"
}

# Prints "LABEL: median M ms, p95 P ms, max X ms (n=N)" for the values given, then the target.
fb_report() {
  local label="$1" target="$2" failed="$3"
  shift 3
  local n=$# extra=""
  ((failed > 0)) && extra=", $failed more timed out after $FAILOVER_TIMEOUT s"
  if ((n == 0)); then
    echo "$label: no successful round (n=0$extra)   [target: $target]"
    return
  fi
  local -a s
  mapfile -t s < <(printf '%s\n' "$@" | sort -n)
  local median p95 rank=$(((95 * n + 99) / 100))
  if ((n % 2)); then median="${s[n / 2]}"; else median=$(((s[n / 2 - 1] + s[n / 2] + 1) / 2)); fi
  p95="${s[rank - 1]}"
  echo "$label: median $median ms, p95 $p95 ms, max ${s[n - 1]} ms (n=$n$extra)   [target: $target]"
}

vb_init
trap fb_cleanup EXIT
vb_find_jdk
vb_ensure_build
[[ -x "$VB_DIST/bin/vigil" ]] || vb_die "$VB_DIST/bin/vigil is missing: the cluster is started with 'bin/vigil start-dev --nodes 3'; rebuild the distribution with ./mvnw -B -DskipTests package."

vb_tmpdir
WORK="$VB_TMP"
CLUSTER="$WORK/cluster"
export VIGIL_ADMIN_PASSWORD="${VIGIL_ADMIN_PASSWORD:-}"
vb_start_db

# start-dev gives node K the data directory $CLUSTER/node-K: its timing goes there beforehand.
for i in "${NODES[@]}"; do
  mkdir -p "$CLUSTER/node-$i"
  cat >"$CLUSTER/node-$i/appsettings.json" <<EOF
{"Cluster": {"LeaseMillis": $LEASE_MS, "RenewIntervalMillis": $RENEW_MS, "RenewDeadlineMillis": $DEADLINE_MS, "PollIntervalMillis": $POLL_MS}}
EOF
  STOPPED[i]=0
done

echo "JDK: $VB_JDK ($VB_JDK_VERSION)"
echo "database: $DB_DESC"
echo "node settings: lease $LEASE_MS ms, renew every $RENEW_MS ms, renew deadline $DEADLINE_MS ms, poll $POLL_MS ms (the defaults, written to each node's appsettings.json)"
echo "cores: $(nproc); 1-min load average before the run: $(vb_load)"

# start-dev migrates the schema, then starts the three nodes at once; it lists them in nodes.tsv.
fb_start_cluster
fb_wait_state
for i in "${NODES[@]}"; do
  fb_wait_ready "$i"
done
echo "nodes: ${NAME[*]} on 127.0.0.1 ports ${PORT[*]}, each 'bin/vigil node' (VIGIL_CACHE=off) started by 'bin/vigil start-dev --nodes 3 --restart-after $RESTART_AFTER', one machine key file"
fb_wait_stable
vb_note "cluster ready: ${NAME[ACTIVE]} is active (epoch $EPOCH)"

# 1. kill -9 of the active node (the survivors' lock probe sees the owner's session end).
kill_ms=()
kill_failed=0
kill_log=()
for r in $(seq 1 "$ROUNDS"); do
  fb_wait_stable
  fb_token
  fb_settle
  a="$ACTIVE"
  mapfile -t survivors < <(fb_live "$a")
  killed="${PID[a]}"
  t0="$(vb_now_us)"
  kill -KILL "$killed"
  if fb_time_first_200 "$t0" "${survivors[@]}"; then
    kill_ms+=("$MS")
    kill_log+=("$MS")
    vb_note "kill -9 round $r: ${NAME[a]} killed, ${NAME[WINNER]} served after $MS ms"
  else
    ((kill_failed++))
    kill_log+=("timeout")
    vb_note "kill -9 round $r: ${NAME[a]} killed, no survivor served within $FAILOVER_TIMEOUT s; last answers: $LAST_ANSWERS"
  fi
  # start-dev starts the killed node again (--restart-after) with the same name, port and data.
  fb_wait_state "$a" "$killed"
  fb_wait_ready "$a"
done

# 2. SIGSTOP of the active node: its session stays open, so the survivors wait for the lease.
stop_ms=()
stop_failed=0
stop_log=()
deposed_late=0
for r in $(seq 1 "$ROUNDS"); do
  fb_wait_stable
  fb_token
  fb_settle
  a="$ACTIVE"
  mapfile -t survivors < <(fb_live "$a")
  t0="$(vb_now_us)"
  kill -STOP "${PID[a]}"
  STOPPED[a]=1
  if fb_time_first_200 "$t0" "${survivors[@]}"; then
    stop_ms+=("$MS")
    stop_log+=("$MS")
    vb_note "SIGSTOP round $r: ${NAME[a]} stopped, ${NAME[WINNER]} served after $MS ms"
  else
    ((stop_failed++))
    stop_log+=("timeout")
    vb_note "SIGSTOP round $r: ${NAME[a]} stopped, no survivor served within $FAILOVER_TIMEOUT s; last answers: $LAST_ANSWERS"
  fi
  kill -CONT "${PID[a]}"
  STOPPED[a]=0
  sleep 2
  fb_probe /cluster/active none 2 "$a"
  if [[ "${CODE[a]}" != 503 ]]; then
    ((deposed_late++))
    vb_note "SIGSTOP round $r: ${NAME[a]} answered ${CODE[a]} on /cluster/active 2 s after SIGCONT (expected 503: deposed)"
  fi
done

# 3. planned move to a standby, alternating between the standbys.
move_ms=()
move_failed=0
move_log=()
for r in $(seq 1 "$ROUNDS"); do
  fb_wait_stable
  fb_token
  fb_settle
  a="$ACTIVE"
  mapfile -t standbys < <(fb_live "$a")
  target="${standbys[r % ${#standbys[@]}]}"
  t0="$(vb_now_us)"
  code="$(curl -s -o "$WORK/move.out" -w '%{http_code}' -m 10 -X POST \
    -H "@$WORK/auth" -H 'Content-Type: application/json' \
    --data-binary "{\"to\": \"${NAME[target]}\"}" "http://127.0.0.1:${PORT[a]}/api/v1/cluster/move")"
  [[ "$code" == 202 ]] ||
    fb_die_with_logs "POST /api/v1/cluster/move to ${NAME[a]} answered $code (expected 202): $(cat "$WORK/move.out")"
  if fb_time_first_200 "$t0" "$target"; then
    move_ms+=("$MS")
    move_log+=("$MS")
    vb_note "move round $r: ${NAME[a]} -> ${NAME[target]} served after $MS ms"
  else
    ((move_failed++))
    move_log+=("timeout")
    vb_note "move round $r: ${NAME[a]} -> ${NAME[target]} not served within $FAILOVER_TIMEOUT s; last answers: $LAST_ANSWERS"
  fi
done

echo
fb_report "kill -9 failover" "median ≤ 1000 ms" "$kill_failed" "${kill_ms[@]}"
echo "  rounds in order (ms): ${kill_log[*]}"
fb_report "lease-path failover (SIGSTOP)" "median ≤ 5000 ms" "$stop_failed" "${stop_ms[@]}"
echo "  rounds in order (ms): ${stop_log[*]}"
echo "  old owner not standing by (503 on /cluster/active) 2 s after SIGCONT: $deposed_late of $ROUNDS"
fb_report "planned move" "median ≤ 500 ms" "$move_failed" "${move_ms[@]}"
echo "  rounds in order (ms): ${move_log[*]}"

# 4. false failovers: an idle cluster while every core is busy.
if ((SOAK > 0)); then
  fb_wait_stable
  fb_token
  # The newest history entry before the soak; acquisitions after it happened during the soak.
  hist="$(curl -s -m 10 -H "@$WORK/auth" "http://127.0.0.1:${PORT[ACTIVE]}/api/v1/cluster/history?limit=1")"
  [[ "$hist" =~ \"id\":([0-9]+) ]] || fb_die_with_logs "GET /api/v1/cluster/history gave no entry: $hist"
  first_id="${BASH_REMATCH[1]}"
  cores="$(nproc)"
  for _ in $(seq 1 "$cores"); do
    sha256sum /dev/zero >/dev/null 2>&1 &
    BURNERS+=($!)
  done
  vb_note "soak: $SOAK s idle with $cores busy processes (sha256sum /dev/zero); polling /cluster/active every 200 ms"
  last=""
  changes=0
  none=0
  double=0
  polls=0
  end=$(($(vb_now_us) + SOAK * 1000000))
  while (($(vb_now_us) < end)); do
    tick="$(vb_now_us)"
    mapfile -t live < <(fb_live)
    fb_probe /cluster/active none 1 "${live[@]}"
    ((polls++))
    seen=0
    now_active=""
    for i in "${live[@]}"; do
      if [[ "${CODE[i]}" == 200 ]]; then
        ((seen++))
        body="$(<"$WORK/body.$i")"
        [[ "$body" =~ \"epoch\":([0-9]+) ]] && now_active="${NAME[i]}@${BASH_REMATCH[1]}"
      fi
    done
    ((seen == 0)) && ((none++))
    ((seen > 1)) && ((double++))
    if [[ -n "$now_active" ]]; then
      if [[ -n "$last" && "$now_active" != "$last" ]]; then
        ((changes++))
        vb_note "soak: active changed from $last to $now_active"
      fi
      last="$now_active"
    fi
    wait_us=$((200000 - ($(vb_now_us) - tick)))
    ((wait_us > 0)) && sleep "0.$(printf "%06d" "$wait_us")"
  done
  for pid in "${BURNERS[@]}"; do
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  BURNERS=()
  fb_wait_stable
  fb_token
  hist="$(curl -s -m 10 -H "@$WORK/auth" "http://127.0.0.1:${PORT[ACTIVE]}/api/v1/cluster/history?limit=500")"
  # Entries are {"id":N,"at":"…","node":…,"event":"…","reason":…}, newest first.
  acquired=0
  while read -r id event; do
    ((id > first_id)) && [[ "$event" == acquired ]] && ((acquired++))
  done < <(grep -oE '"id":[0-9]+,"at":"[^"]*","node":(null|"[^"]*"),"event":"[^"]*"' <<<"$hist" |
    sed -E 's/^"id":([0-9]+),.*"event":"([^"]*)"$/\1 \2/')
  [[ "$hist" == *'"event":'* ]] || fb_die_with_logs "GET /api/v1/cluster/history?limit=500 gave no entries: $hist"
  false_failovers=$((acquired > changes ? acquired : changes))
  if ((cores == 2)); then busy="both cores busy"; else busy="all $cores cores busy"; fi
  echo
  echo "false failovers in $SOAK s with $busy: $false_failovers   [target: 0]"
  echo "  acquired events in the cluster history: $acquired; changes of active node/epoch seen: $changes in $polls polls of /cluster/active; polls with no active node: $none; with two: $double"
fi
echo "1-min load average at the end: $(vb_load)"
