# shellcheck shell=bash disable=SC2004,SC2034,SC2119,SC2120
# A three-node cluster of 'bin/vigil start-dev --nodes 3' for the benchmark scripts that fail nodes
# over (failover.sh, components.sh); sourced after lib.sh, never run.
#
# The script sets: NODES=(1 2 3); CLUSTER (start-dev's data directory); WORK (a temporary
# directory); RESTART_AFTER; READY_TIMEOUT; FAILOVER_TIMEOUT; DB_URL, DB_USER, DB_PASSWORD (from
# vb_start_db); and optionally VC_EXTRA_ENV (more environment for the nodes), VC_EXTRA_LOG (a log
# to show beside the nodes' when dying), PROBE_TIMEOUT (of /cluster/active, default 2 s) and
# STOPPED[i] (1 while node i is stopped with SIGSTOP). These functions keep SD_PID (start-dev),
# NAME, PORT, PORT_IDX, LOG and PID per node, CODE per probe, ACTIVE, EPOCH, MS, READY_US, WINNER
# and LAST_ANSWERS.

# Starts 'bin/vigil start-dev --nodes 3' on free loopback ports with its data in $CLUSTER, in a
# clean environment (no JAVA_OPTS, VIGIL_ISSUER, ...) so that every node runs with the same, printed
# settings, and in a process group of its own (setsid), which its nodes join.
vc_start_cluster() {
  local -a env=(
    PATH="$PATH"
    HOME="${HOME:-/nonexistent}"
    JAVA_HOME="$VB_JDK"
    VIGIL_ADMIN_PASSWORD="$VIGIL_ADMIN_PASSWORD"
    VIGIL_CACHE=off
    ${VC_EXTRA_ENV[@]+"${VC_EXTRA_ENV[@]}"}
  )
  [[ -n "$DB_URL" ]] && env+=(VIGIL_DB_URL="$DB_URL")
  [[ -n "$DB_USER" ]] && env+=(VIGIL_DB_USER="$DB_USER")
  [[ -n "$DB_PASSWORD" ]] && env+=(VIGIL_DB_PASSWORD="$DB_PASSWORD")
  env -i "${env[@]}" setsid "$VB_DIST/bin/vigil" start-dev --nodes 3 --http-port 0 \
    --data-dir "$CLUSTER" --restart-after "$RESTART_AFTER" </dev/null >"$WORK/start-dev.log" 2>&1 &
  SD_PID=$!
}

# Dies with start-dev's output when it has exited.
vc_check_start_dev() {
  kill -0 "$SD_PID" 2>/dev/null && return 0
  wait "$SD_PID" 2>/dev/null
  SD_PID=""
  echo "--- output of bin/vigil start-dev ---" >&2
  tail -n 30 "$WORK/start-dev.log" >&2
  vb_die "bin/vigil start-dev --nodes 3 exited (its output above, from $WORK/start-dev.log)"
}

# Reads start-dev's $CLUSTER/nodes.tsv (name, URL, PID per node; PID "-" while a node is down)
# into NAME, PORT, PORT_IDX, LOG and PID (empty for a node that is down). Fails while it is missing.
vc_read_state() {
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
vc_wait_state() {
  local again="${1:-}" old="${2:-}" deadline=$(($(vb_now_us) + READY_TIMEOUT * 1000000)) i ok
  while :; do
    if vc_read_state; then
      ok=1
      for i in "${NODES[@]}"; do
        [[ -n "${PID[i]:-}" ]] || ok=0
      done
      [[ -n "$again" && "${PID[again]:-}" == "$old" ]] && ok=0
      ((ok)) && return 0
    fi
    vc_check_start_dev
    (($(vb_now_us) > deadline)) &&
      vc_die_with_logs "start-dev did not list every node as running in $CLUSTER/nodes.tsv within $READY_TIMEOUT s"
    sleep 0.05
  done
}

vc_die_with_logs() {
  local i
  for i in "${NODES[@]}"; do
    [[ -n "${LOG[i]:-}" ]] || continue
    echo "--- last lines of ${NAME[i]}'s log ---" >&2
    tail -n 15 "${LOG[i]}" >&2
  done
  echo "--- last lines of start-dev's output ---" >&2
  tail -n 15 "$WORK/start-dev.log" >&2
  if [[ -n "${VC_EXTRA_LOG:-}" && -r "$VC_EXTRA_LOG" ]]; then
    echo "--- last lines of $(basename "$VC_EXTRA_LOG") ---" >&2
    tail -n 15 "$VC_EXTRA_LOG" >&2
  fi
  vb_die "$@"
}

# Waits until node I answers 200 on /health/ready.
vc_wait_ready() {
  vb_wait_ready "http://127.0.0.1:${PORT[$1]}" "${PID[$1]}" "${LOG[$1]}" "$READY_TIMEOUT"
}

# Nodes that run and are not stopped, or of those the ones other than $1.
vc_live() {
  local i
  for i in "${NODES[@]}"; do
    [[ -n "${PID[i]}" && "${STOPPED[i]:-0}" == 0 && "$i" != "${1:-}" ]] && echo "$i"
  done
}

# GETs PATH from the nodes given, all at once with one curl (no redirects followed), with the
# bearer token when AUTH is "auth"; sets CODE[i] (000 when there was no answer within TIMEOUT s)
# and leaves each body in $WORK/body.i.
vc_probe() {
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
vc_wait_stable() {
  local deadline=$(($(vb_now_us) + READY_TIMEOUT * 1000000)) i ok body
  local -a live
  while :; do
    mapfile -t live < <(vc_live)
    vc_probe /cluster/active none "${PROBE_TIMEOUT:-2}" "${live[@]}"
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
      vc_die_with_logs "the cluster did not settle on one active node within $READY_TIMEOUT s (last answers of /cluster/active: $(for i in "${live[@]}"; do printf '%s=%s ' "${NAME[i]}" "${CODE[i]}"; done))"
    sleep 0.1
  done
}

# Takes a fresh admin token from the active node into $WORK/auth (a header file, so the token never
# appears on a command line). Tokens live 5 minutes, so every round takes a new one.
vc_token() {
  local token
  token="$(VB_URL="http://127.0.0.1:${PORT[ACTIVE]}" vb_admin_token)"
  [[ -n "$token" ]] || vc_die_with_logs "no admin token from ${NAME[ACTIVE]}"
  (umask 077 && printf 'Authorization: Bearer %s\n' "$token" >"$WORK/auth")
}

# Polls authenticated GET /api/v1/servers on the given nodes every ~10 ms until one answers 200;
# sets MS (milliseconds since T0, a vb_now_us value), READY_US (when) and WINNER. Returns 1 after
# FAILOVER_TIMEOUT, with the last answers in LAST_ANSWERS.
vc_time_first_200() {
  local t0="$1" i now
  shift
  local deadline=$((t0 + FAILOVER_TIMEOUT * 1000000))
  while :; do
    vc_probe '/api/v1/servers?limit=1' auth 2 "$@"
    now="$(vb_now_us)"
    for i in "$@"; do
      if [[ "${CODE[i]}" == 200 ]]; then
        MS=$(((now - t0 + 500) / 1000))
        READY_US="$now"
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
