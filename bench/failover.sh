#!/usr/bin/env bash
# Measures failover times of a three-node cluster and counts false failovers under CPU load. See
# bench/README.md.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster.sh"

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
vc_start_cluster
vc_wait_state
for i in "${NODES[@]}"; do
  vc_wait_ready "$i"
done
echo "nodes: ${NAME[*]} on 127.0.0.1 ports ${PORT[*]}, each 'bin/vigil node' (VIGIL_CACHE=off) started by 'bin/vigil start-dev --nodes 3 --restart-after $RESTART_AFTER', one machine key file"
vc_wait_stable
vb_note "cluster ready: ${NAME[ACTIVE]} is active (epoch $EPOCH)"

# 1. kill -9 of the active node (the survivors' lock probe sees the owner's session end).
kill_ms=()
kill_failed=0
kill_log=()
for r in $(seq 1 "$ROUNDS"); do
  vc_wait_stable
  vc_token
  fb_settle
  a="$ACTIVE"
  mapfile -t survivors < <(vc_live "$a")
  killed="${PID[a]}"
  t0="$(vb_now_us)"
  kill -KILL "$killed"
  if vc_time_first_200 "$t0" "${survivors[@]}"; then
    kill_ms+=("$MS")
    kill_log+=("$MS")
    vb_note "kill -9 round $r: ${NAME[a]} killed, ${NAME[WINNER]} served after $MS ms"
  else
    ((kill_failed++))
    kill_log+=("timeout")
    vb_note "kill -9 round $r: ${NAME[a]} killed, no survivor served within $FAILOVER_TIMEOUT s; last answers: $LAST_ANSWERS"
  fi
  # start-dev starts the killed node again (--restart-after) with the same name, port and data.
  vc_wait_state "$a" "$killed"
  vc_wait_ready "$a"
done

# 2. SIGSTOP of the active node: its session stays open, so the survivors wait for the lease.
stop_ms=()
stop_failed=0
stop_log=()
deposed_late=0
for r in $(seq 1 "$ROUNDS"); do
  vc_wait_stable
  vc_token
  fb_settle
  a="$ACTIVE"
  mapfile -t survivors < <(vc_live "$a")
  t0="$(vb_now_us)"
  kill -STOP "${PID[a]}"
  STOPPED[a]=1
  if vc_time_first_200 "$t0" "${survivors[@]}"; then
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
  vc_probe /cluster/active none 2 "$a"
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
  vc_wait_stable
  vc_token
  fb_settle
  a="$ACTIVE"
  mapfile -t standbys < <(vc_live "$a")
  target="${standbys[r % ${#standbys[@]}]}"
  t0="$(vb_now_us)"
  code="$(curl -s -o "$WORK/move.out" -w '%{http_code}' -m 10 -X POST \
    -H "@$WORK/auth" -H 'Content-Type: application/json' \
    --data-binary "{\"to\": \"${NAME[target]}\"}" "http://127.0.0.1:${PORT[a]}/api/v1/cluster/move")"
  [[ "$code" == 202 ]] ||
    vc_die_with_logs "POST /api/v1/cluster/move to ${NAME[a]} answered $code (expected 202): $(cat "$WORK/move.out")"
  if vc_time_first_200 "$t0" "$target"; then
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
  vc_wait_stable
  vc_token
  # The newest history entry before the soak; acquisitions after it happened during the soak.
  hist="$(curl -s -m 10 -H "@$WORK/auth" "http://127.0.0.1:${PORT[ACTIVE]}/api/v1/cluster/history?limit=1")"
  [[ "$hist" =~ \"id\":([0-9]+) ]] || vc_die_with_logs "GET /api/v1/cluster/history gave no entry: $hist"
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
    mapfile -t live < <(vc_live)
    vc_probe /cluster/active none 1 "${live[@]}"
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
  vc_wait_stable
  vc_token
  hist="$(curl -s -m 10 -H "@$WORK/auth" "http://127.0.0.1:${PORT[ACTIVE]}/api/v1/cluster/history?limit=500")"
  # Entries are {"id":N,"at":"…","node":…,"event":"…","reason":…}, newest first.
  acquired=0
  while read -r id event; do
    ((id > first_id)) && [[ "$event" == acquired ]] && ((acquired++))
  done < <(grep -oE '"id":[0-9]+,"at":"[^"]*","node":(null|"[^"]*"),"event":"[^"]*"' <<<"$hist" |
    sed -E 's/^"id":([0-9]+),.*"event":"([^"]*)"$/\1 \2/')
  [[ "$hist" == *'"event":'* ]] || vc_die_with_logs "GET /api/v1/cluster/history?limit=500 gave no entries: $hist"
  false_failovers=$((acquired > changes ? acquired : changes))
  if ((cores == 2)); then busy="both cores busy"; else busy="all $cores cores busy"; fi
  echo
  echo "false failovers in $SOAK s with $busy: $false_failovers   [target: 0]"
  echo "  acquired events in the cluster history: $acquired; changes of active node/epoch seen: $changes in $polls polls of /cluster/active; polls with no active node: $none; with two: $double"
fi
echo "1-min load average at the end: $(vb_load)"
