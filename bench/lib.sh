# Shared helpers for the benchmark scripts in this directory; sourced, never run.
#
# Everything here stays on the loopback interface: nodes are started with VIGIL_HTTP_HOST=127.0.0.1
# and a --url given by the user must name 127.0.0.1 or localhost. Every process and temporary
# directory a script starts is recorded and removed by vb_cleanup, which vb_init installs as the
# EXIT/INT/TERM trap.

VB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VB_BENCH="$VB_ROOT/bench"
VB_DIST="$VB_ROOT/vigil-server/target/vigil"
VB_MIN_JAVA=21

VB_NODE_PIDS=()
VB_TMPDIRS=()

vb_die() {
  echo "error: $*" >&2
  exit 1
}

vb_note() {
  echo "$*" >&2
}

# Like vb_die, after showing the end of the log of the node this script started (if any), since a
# failed setup call is usually explained there and the log is removed on exit.
vb_die_with_log() {
  if [[ -n "${VB_NODE_LOG:-}" && -r "$VB_NODE_LOG" ]]; then
    echo "--- last lines of the node's log ---" >&2
    tail -n 20 "$VB_NODE_LOG" >&2
    echo "---" >&2
  fi
  vb_die "$@"
}

vb_init() {
  trap vb_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

vb_cleanup() {
  local pid
  for pid in "${VB_NODE_PIDS[@]}"; do
    vb_stop_node "$pid"
  done
  VB_NODE_PIDS=()
  local dir
  for dir in "${VB_TMPDIRS[@]}"; do
    [[ -n "$dir" && -d "$dir" ]] && rm -rf -- "$dir"
  done
  VB_TMPDIRS=()
}

# Creates a temporary directory that vb_cleanup removes and sets VB_TMP to its path. (Not meant
# for $(...): the record of the directory must reach the calling shell.)
vb_tmpdir() {
  VB_TMP="$(mktemp -d "${TMPDIR:-/tmp}/vigil-bench.XXXXXX")" || vb_die "cannot create a temporary directory"
  VB_TMPDIRS+=("$VB_TMP")
}

# Prints the major version of the JDK at $1 (reads its release file, else asks its java).
vb_java_major() {
  local jdk="$1" version=""
  if [[ -r "$jdk/release" ]]; then
    version="$(sed -n 's/^JAVA_VERSION="\([^"]*\)".*/\1/p' "$jdk/release")"
  fi
  if [[ -z "$version" && -x "$jdk/bin/java" ]]; then
    version="$("$jdk/bin/java" -version 2>&1 | sed -n 's/.* version "\([^"]*\)".*/\1/p' | head -1)"
  fi
  [[ -z "$version" ]] && { echo 0; return; }
  # "1.8.0_392" is Java 8; "17.0.9" is 17; "25" is 25.
  if [[ "$version" == 1.* ]]; then
    version="${version#1.}"
  fi
  echo "${version%%[.+-]*}"
}

# Sets VB_JDK and VB_JAVA: JAVA_HOME when set, else the newest JDK >= 21 under /usr/lib/jvm.
vb_find_jdk() {
  if [[ -n "${JAVA_HOME:-}" ]]; then
    [[ -x "$JAVA_HOME/bin/java" ]] || vb_die "JAVA_HOME=$JAVA_HOME has no bin/java. Point JAVA_HOME at a JDK $VB_MIN_JAVA or newer, or unset it to use the newest JDK under /usr/lib/jvm."
    local major
    major="$(vb_java_major "$JAVA_HOME")"
    ((major >= VB_MIN_JAVA)) || vb_die "JAVA_HOME=$JAVA_HOME is Java $major; Vigil needs Java $VB_MIN_JAVA or newer. Point JAVA_HOME at a newer JDK, or unset it to use the newest JDK under /usr/lib/jvm."
    VB_JDK="$JAVA_HOME"
  else
    local best="" best_major=0 dir major
    for dir in /usr/lib/jvm/*/; do
      dir="${dir%/}"
      [[ -x "$dir/bin/java" && -x "$dir/bin/javac" ]] || continue
      major="$(vb_java_major "$dir")"
      if ((major > best_major)); then
        best="$dir"
        best_major=$major
      fi
    done
    ((best_major >= VB_MIN_JAVA)) || vb_die "no JDK $VB_MIN_JAVA or newer found: JAVA_HOME is not set and /usr/lib/jvm has none (newest: ${best_major}). Install a JDK $VB_MIN_JAVA+ or set JAVA_HOME."
    VB_JDK="$best"
  fi
  VB_JAVA="$VB_JDK/bin/java"
  VB_JDK_VERSION="$("$VB_JAVA" -version 2>&1 | head -1)"
}

# Builds the distribution when it is missing (before any timing starts).
vb_ensure_build() {
  if [[ -d "$VB_DIST/lib" ]] && compgen -G "$VB_DIST/lib/vigil-server-*.jar" >/dev/null; then
    return
  fi
  vb_note "building the distribution (not timed): ./mvnw -B -q -DskipTests package"
  (cd "$VB_ROOT" && JAVA_HOME="$VB_JDK" ./mvnw -B -q -DskipTests package) >&2 ||
    vb_die "the build failed; run 'JAVA_HOME=$VB_JDK ./mvnw -B -DskipTests package' in $VB_ROOT to see why."
  [[ -d "$VB_DIST/lib" ]] || vb_die "the build finished but $VB_DIST/lib is missing; check the assembly in vigil-server/pom.xml."
}

# Describes how nodes are launched: bin/vigil start-dev when the distribution has it, else java.
vb_launcher() {
  if [[ -x "$VB_DIST/bin/vigil" ]]; then
    echo "bin/vigil start-dev --data-dir DIR --http-port PORT"
  else
    echo "java -XX:+UseSerialGC -Xms24m -cp 'lib/*' io.vigil.server.cli.Main (bin/vigil not in the distribution)"
  fi
}

# Prints a TCP port on 127.0.0.1 that nothing listens on right now.
vb_free_port() {
  local port
  for _ in $(seq 1 200); do
    # Below the kernel's ephemeral range (32768+), so no outgoing connection can take it meanwhile.
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
    # A refused connection means the port is free (a race with other programs remains possible).
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  vb_die "no free TCP port found on 127.0.0.1 after 200 attempts"
}

# Prints a random password of 24 URL-safe characters.
vb_random_secret() {
  head -c 18 /dev/urandom | base64 | tr '+/' '-_'
}

# Current wall-clock time in microseconds.
vb_now_us() {
  local t="$EPOCHREALTIME"
  echo "${t/./}"
}

# Starts a node on 127.0.0.1:PORT with DATA as its fresh data directory, logging to LOG.
# Sets VB_NODE_PID (the process started, leader of its own process group) and VB_START_US (its
# start time). The admin password comes from VIGIL_ADMIN_PASSWORD, which must be set.
vb_start_node() {
  local data="$1" port="$2" log="$3"
  [[ -n "${VIGIL_ADMIN_PASSWORD:-}" ]] || vb_die "VIGIL_ADMIN_PASSWORD must be set before starting a node"
  # The machine key file defaults to a per-machine location; keep it inside the temporary data
  # directory so a benchmark never leaves keys behind or reuses a real node's key. Likewise the
  # launcher's start-up cache goes to VB_CACHE_HOME (default: inside the data directory) instead
  # of the user's cache, so the first start of a benchmark is a first start on every machine.
  local -a env=(
    JAVA_HOME="$VB_JDK"
    VIGIL_ADMIN_PASSWORD="$VIGIL_ADMIN_PASSWORD"
    VIGIL_DATA_DIR="$data"
    VIGIL_HTTP_PORT="$port"
    VIGIL_HTTP_HOST=127.0.0.1
    VIGIL_NODE_NAME=bench
    VIGIL_MACHINE_KEY_FILE="$data/machine.key"
    # The load generators open up to 1024 connections, all from 127.0.0.1: above the node's
    # default limit of 32 per client address.
    VIGIL_HTTP_MAX_CONNECTIONS=4096
    VIGIL_HTTP_MAX_CONNECTIONS_PER_ADDRESS=4096
    XDG_CACHE_HOME="${VB_CACHE_HOME:-$data/cache}"
  )
  # VB_NODE_DB_URL (with VB_NODE_DB_USER and VB_NODE_DB_PASSWORD) puts the node on that PostgreSQL
  # database instead of the embedded one.
  [[ -n "${VB_NODE_DB_URL:-}" ]] && env+=(VIGIL_DB_URL="$VB_NODE_DB_URL")
  [[ -n "${VB_NODE_DB_USER:-}" ]] && env+=(VIGIL_DB_USER="$VB_NODE_DB_USER")
  [[ -n "${VB_NODE_DB_PASSWORD:-}" ]] && env+=(VIGIL_DB_PASSWORD="$VB_NODE_DB_PASSWORD")
  # shellcheck disable=SC2034 # read by the calling script
  VB_START_US="$(vb_now_us)"
  # setsid gives the node its own process group, so stopping it also stops any child a launcher
  # script forks (the java process behind bin/vigil).
  if [[ -x "$VB_DIST/bin/vigil" ]]; then
    env "${env[@]}" setsid "$VB_DIST/bin/vigil" start-dev --data-dir "$data" --http-port "$port" \
      </dev/null >"$log" 2>&1 &
  else
    env "${env[@]}" setsid "$VB_JAVA" -XX:+UseSerialGC -Xms24m \
      -cp "$VB_DIST/lib/*" io.vigil.server.cli.Main </dev/null >"$log" 2>&1 &
  fi
  VB_NODE_PID=$!
  VB_NODE_PIDS+=("$VB_NODE_PID")
}

# Polls URL/health/ready every 10 ms until it answers 200; sets VB_READY_US. Fails when the node
# exits or TIMEOUT seconds pass, showing the end of LOG.
vb_wait_ready() {
  local url="$1" pid="$2" log="$3" timeout="${4:-60}"
  local deadline=$(($(vb_now_us) + timeout * 1000000)) code
  while :; do
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url/health/ready" 2>/dev/null)"
    if [[ "$code" == 200 ]]; then
      # shellcheck disable=SC2034 # read by the calling script
      VB_READY_US="$(vb_now_us)"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$log" >&2
      vb_die "the node exited before it became ready (log above, from $log)"
    fi
    if (($(vb_now_us) > deadline)); then
      tail -n 30 "$log" >&2
      vb_die "the node did not answer 200 on $url/health/ready within $timeout s (last status: $code)"
    fi
    sleep 0.01
  done
}

# Stops the node (or start-dev) started as PID and its process group: TERM, then KILL after GRACE
# seconds (default 15).
vb_stop_node() {
  local pid="$1" grace="${2:-15}"
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 $((grace * 10))); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    vb_note "process $pid did not stop within $grace s of SIGTERM; killing its process group"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
  local -a rest=()
  local p
  for p in "${VB_NODE_PIDS[@]}"; do
    [[ "$p" != "$pid" ]] && rest+=("$p")
  done
  VB_NODE_PIDS=("${rest[@]}")
  return 0
}

# Prints the pid of the java process of the node started as PID: PID itself when it is java (the
# launcher exec'd it), else its first java descendant.
vb_java_pid() {
  local pid="$1" child found
  if [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == java ]]; then
    echo "$pid"
    return 0
  fi
  for child in $(pgrep -P "$pid"); do
    if found="$(vb_java_pid "$child")"; then
      echo "$found"
      return 0
    fi
  done
  return 1
}

# Prints the resident set size of PID in MiB (rounded).
vb_rss_mib() {
  local kb
  kb="$(awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null)"
  [[ -n "$kb" ]] || return 1
  echo $(((kb + 512) / 1024))
}

# Checks that URL points at the loopback interface; benchmarks never leave the machine.
vb_require_loopback() {
  local url="$1"
  [[ "$url" =~ ^http://(127\.0\.0\.1|localhost)(:[0-9]+)?/?$ ]] ||
    vb_die "--url $url is not on the loopback interface: use http://127.0.0.1:PORT or http://localhost:PORT (benchmarks never send load to another machine)."
}

# Starts a fresh node for a load benchmark, or uses the one at --url; sets VB_URL and
# VIGIL_ADMIN_PASSWORD. $1 is the --url value (may be empty).
vb_node_for_load() {
  local url="$1"
  if [[ -n "$url" ]]; then
    vb_require_loopback "$url"
    VB_URL="${url%/}"
    [[ -n "${VIGIL_ADMIN_PASSWORD:-}" ]] || vb_die "with --url, set VIGIL_ADMIN_PASSWORD to the admin password of the node at $VB_URL"
    curl -sf -o /dev/null --max-time 5 "$VB_URL/health/ready" || vb_die "$VB_URL/health/ready does not answer 200; start the node first or drop --url"
    vb_note "using the running node at $VB_URL"
    return
  fi
  vb_find_jdk
  vb_ensure_build
  local dir port
  vb_tmpdir
  dir="$VB_TMP"
  port="$(vb_free_port)"
  export VIGIL_ADMIN_PASSWORD
  VIGIL_ADMIN_PASSWORD="$(vb_random_secret)"
  mkdir -p "$dir/data"
  # VB_NODE_SETTINGS, when set, is the node's appsettings.json (a JSON object).
  [[ -n "${VB_NODE_SETTINGS:-}" ]] && printf '%s\n' "$VB_NODE_SETTINGS" >"$dir/data/appsettings.json"
  vb_note "starting a node on 127.0.0.1:$port ($VB_JDK_VERSION; $(vb_launcher))"
  vb_start_node "$dir/data" "$port" "$dir/node.log"
  VB_URL="http://127.0.0.1:$port"
  VB_NODE_LOG="$dir/node.log"
  vb_wait_ready "$VB_URL" "$VB_NODE_PID" "$VB_NODE_LOG" 60
}

# Prints the value of the string field NAME of the JSON object in $2 (no escapes in the value).
vb_json_field() {
  local name="$1" json="$2"
  if command -v jq >/dev/null 2>&1; then
    jq -r --arg n "$name" '.[$n] // empty' <<<"$json" 2>/dev/null
  else
    sed -n "s/.*\"$name\"[[:space:]]*:[[:space:]]*\"\\([^\"]*\\)\".*/\\1/p" <<<"$json" | head -1
  fi
}

# Gets an access token for the admin with the password grant; prints it.
vb_admin_token() {
  local out code body token
  out="$(curl -s --max-time 30 -w '\n%{http_code}' -X POST "$VB_URL/idp/connect/token" \
    --data-urlencode grant_type=password \
    --data-urlencode client_id=vigil-cli \
    --data-urlencode username=admin \
    --data-urlencode "password@"<(printf %s "$VIGIL_ADMIN_PASSWORD") \
    --data-urlencode "scope=openid vigil.api")" ||
    vb_die "POST $VB_URL/idp/connect/token failed to connect"
  code="${out##*$'\n'}"
  body="${out%$'\n'*}"
  [[ "$code" == 200 ]] || vb_die_with_log "the admin password grant at $VB_URL/idp/connect/token answered $code: $body"
  token="$(vb_json_field access_token "$body")"
  [[ -n "$token" ]] || vb_die "the admin password grant answered 200 without an access_token: $body"
  echo "$token"
}

# POSTs JSON $2 to path $1 with bearer token $3; expects 201 and prints the body.
vb_post_json() {
  local path="$1" json="$2" token="$3" out code body
  out="$(curl -s --max-time 30 -w '\n%{http_code}' -X POST "$VB_URL$path" \
    -H 'Content-Type: application/json' -H @- --data-binary "$json" \
    <<<"Authorization: Bearer $token")" || vb_die "POST $VB_URL$path failed to connect"
  code="${out##*$'\n'}"
  body="${out%$'\n'*}"
  [[ "$code" == 201 ]] || vb_die_with_log "POST $VB_URL$path answered $code (expected 201): $body"
  echo "$body"
}

# Chooses the load generator and sets VB_LOADGEN: wrk (installed from Debian's packages when
# missing and possible), else bench/LoadGen.java on the JDK. BENCH_LOADGEN=wrk or =java forces one.
vb_pick_loadgen() {
  local wanted="${BENCH_LOADGEN:-}"
  case "$wanted" in
    "" | wrk | java) ;;
    *) vb_die "BENCH_LOADGEN=$wanted is not a load generator: use wrk or java, or leave it unset" ;;
  esac
  if [[ "$wanted" != java ]] && ! command -v wrk >/dev/null 2>&1 &&
    command -v apt-get >/dev/null 2>&1 && [[ "$(id -u)" == 0 ]]; then
    vb_note "installing wrk (apt-get install -y wrk)"
    apt-get install -y wrk >/dev/null 2>&1 ||
      { apt-get update >/dev/null 2>&1 && apt-get install -y wrk >/dev/null 2>&1; }
  fi
  if [[ "$wanted" != java ]] && command -v wrk >/dev/null 2>&1; then
    VB_LOADGEN=wrk
  elif [[ "$wanted" == wrk ]]; then
    vb_die "BENCH_LOADGEN=wrk but wrk is not installed and could not be installed (Debian/Ubuntu: apt-get install wrk)"
  else
    [[ -n "${VB_JAVA:-}" ]] || vb_find_jdk
    VB_LOADGEN=java
    if [[ "$wanted" == java ]]; then
      vb_note "using bench/LoadGen.java (BENCH_LOADGEN=java)"
    else
      vb_note "wrk is not available; using bench/LoadGen.java (JDK HTTP client, lower figures than wrk)"
    fi
  fi
}

# Loads URL for DURATION s with CONNECTIONS concurrent connections and prints one "BENCH k=v …"
# line (see wrk-report.lua). The request's method, body and headers come from the BENCH_*
# environment variables so that no secret appears on a command line.
vb_load_run() {
  local url="$1" duration="$2" connections="$3" threads cores
  if [[ "$VB_LOADGEN" == java ]]; then
    "$VB_JAVA" "$VB_BENCH/LoadGen.java" "$url" "$duration" "$connections" | grep '^BENCH ' ||
      vb_die "bench/LoadGen.java produced no report for $url"
    return
  fi
  cores="$(nproc)"
  threads=$((connections < cores ? connections : cores))
  wrk -t "$threads" -c "$connections" -d "${duration}s" --timeout 10s \
    -s "$VB_BENCH/wrk-report.lua" "$url" | grep '^BENCH ' ||
    vb_die "wrk produced no report for $url"
}

# Formats a "BENCH k=v …" line as: "LABEL: N req/s, latency mean/p50/p99, errors".
vb_report() {
  local label="$1" line="$2"
  awk -v label="$label" -v expected="${BENCH_STATUS:-200}" '{
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    secs = v["duration_us"] / 1e6
    errors = v["non200"] + v["socket_errors"]
    printf "%s: %.1f req/s, latency mean %.2f ms, p50 %.2f ms, p99 %.2f ms, max %.2f ms; errors %d of %d requests (non-%s: %d%s, socket: %d)\n",
      label, v["requests"] / secs, v["mean_us"] / 1000, v["p50_us"] / 1000, v["p99_us"] / 1000,
      v["max_us"] / 1000, errors, v["requests"], expected, v["non200"],
      (v["first_bad_status"] != "" ? ", first status " v["first_bad_status"] : ""), v["socket_errors"]
  }' <<<"$line"
}

# Prints the 1-minute load average ("n/a" where /proc/loadavg is missing). Printed beside the
# figures because other work on the machine makes every figure worse.
vb_load() {
  if [[ -r /proc/loadavg ]]; then cut -d' ' -f1 /proc/loadavg; else echo n/a; fi
}

# Checks that $2 is a whole number between $3 and $4 for option $1.
vb_check_int() {
  local name="$1" value="$2" min="$3" max="$4"
  if ! [[ "$value" =~ ^[0-9]+$ ]] || ((value < min || value > max)); then
    vb_die "$name must be a whole number from $min to $max (got '$value')"
  fi
}

# PostgreSQL for the scripts that need one: the user's throw-away database (VIGIL_DB_URL), else a
# temporary server from /usr/lib/postgresql/*/bin that vb_stop_db stops (VB_PG_OPTIONS adds server
# options to it), else, when DB_URL stays empty, start-dev's embedded PostgreSQL.
PG_MODE=""
PG_BIN=""
PG_DIR=""

vb_stop_db() {
  case "$PG_MODE" in
    debian)
      vb_as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
        vb_note "could not stop the PostgreSQL server in $PG_DIR/data (see $PG_DIR/postgres.log)"
      ;;
  esac
  PG_MODE=""
}

# Runs a PostgreSQL program as user postgres when this script runs as root (PostgreSQL refuses to
# run as root), else as the current user.
vb_as_pg() {
  if [[ "$(id -u)" == 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# Sets DB_URL, DB_USER, DB_PASSWORD and DB_DESC: the user's database, else a fresh server; DB_URL
# stays empty when start-dev is to run its embedded PostgreSQL.
vb_start_db() {
  DB_USER=postgres
  DB_PASSWORD=""
  if [[ -n "${VIGIL_DB_URL:-}" ]]; then
    [[ "$VIGIL_DB_URL" =~ ^jdbc:postgresql://(127\.0\.0\.1|localhost)(:[0-9]+)?/ ]] ||
      vb_die "VIGIL_DB_URL=$VIGIL_DB_URL is not a PostgreSQL database on this machine: use jdbc:postgresql://127.0.0.1:PORT/DATABASE (benchmarks stay on the loopback interface), or unset it to let the script start a PostgreSQL server."
    [[ -n "${VIGIL_ADMIN_PASSWORD:-}" ]] ||
      vb_die "with VIGIL_DB_URL, set VIGIL_ADMIN_PASSWORD: the admin password the nodes set in a fresh database, or the one the database's admin already has"
    DB_URL="$VIGIL_DB_URL"
    DB_USER="${VIGIL_DB_USER:-}"
    DB_PASSWORD="${VIGIL_DB_PASSWORD:-}"
    DB_DESC="the PostgreSQL database at $DB_URL (VIGIL_DB_URL)"
    return
  fi
  VIGIL_ADMIN_PASSWORD="$(vb_random_secret)"
  local port version
  port="$(vb_free_port)"
  # A directory of its own, outside the work directory (which only this user may enter), because
  # the server may run as user postgres.
  vb_tmpdir
  PG_DIR="$VB_TMP"
  PG_BIN="$(compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' | sort -V | tail -n 1)"
  PG_BIN="${PG_BIN%/pg_ctl}"
  if [[ -n "$PG_BIN" && -x "$PG_BIN/initdb" ]] &&
    { [[ "$(id -u)" != 0 ]] || id postgres >/dev/null 2>&1; }; then
    [[ "$(id -u)" == 0 ]] && chown postgres "$PG_DIR"
    vb_as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 >"$PG_DIR/initdb.log" 2>&1 ||
      { cat "$PG_DIR/initdb.log" >&2; vb_die "initdb in $PG_DIR/data failed (output above)"; }
    PG_MODE=debian
    vb_as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$PG_DIR ${VB_PG_OPTIONS:-}" start >/dev/null ||
      { tail -n 20 "$PG_DIR/postgres.log" >&2; vb_die "PostgreSQL did not start in $PG_DIR/data (its log above)"; }
    vb_as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres vigil ||
      vb_die "could not create the database vigil in the PostgreSQL server on port $port"
    version="$("$PG_BIN/postgres" --version 2>/dev/null)"
    DB_DESC="$version from $PG_BIN (temporary server on 127.0.0.1:$port)"
  else
    [[ "$(id -u)" != 0 ]] ||
      vb_die "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (or no user postgres to run them), and the embedded PostgreSQL refuses to run as root. Install the server (apt-get install postgresql), run this script as another user, or set VIGIL_DB_URL to a throw-away database."
    PG_MODE=start-dev
    DB_URL=""
    DB_USER=""
    DB_DESC="the embedded PostgreSQL of start-dev (a temporary server, data in its data directory)"
    return
  fi
  DB_URL="jdbc:postgresql://127.0.0.1:$port/vigil"
}
