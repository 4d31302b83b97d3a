#!/usr/bin/env bash
# Runs the Jazzer fuzz tests for real, one at a time. See bench/README.md.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MINUTES=1
ONLY=""
OFFLINE=()

usage() {
  cat <<EOF
Usage: bench/fuzz.sh [--minutes N] [--only Class[#method]] [--offline]

Fuzzes each @FuzzTest method of vigil-server (JAZZER_FUZZ=1) for N minutes, one Maven run per
method (Jazzer fuzzes one method per JVM), and prints per method the inputs executed, the edges
covered and any finding. Crashing inputs stay where Jazzer writes them: a crash-<sha1> file in the
method's corpus directory under vigil-server/src/test/resources (<package>/<Class>Inputs/<method>/),
where the normal build then runs them as regression inputs until the bug is fixed. The inputs that
found new coverage go to vigil-server/.cifuzz-corpus (not kept in the repository).

  --minutes N            fuzzing time per method, 1-600 (default $MINUTES)
  --only Class[#method]  only this fuzz test class (simple name), or one method of it
  --offline              run Maven offline (-o)
  -h, --help             show this help

JDK: JAVA_HOME when set, else the newest JDK $VB_MIN_JAVA+ under /usr/lib/jvm. Logs: target/fuzz/.
Exit status: 0 without findings, 1 when any method found something or failed to run.
EOF
}

while (($#)); do
  case "$1" in
    --minutes) MINUTES="${2:-}"; shift 2 || vb_die "--minutes needs a value" ;;
    --only) ONLY="${2:-}"; shift 2 || vb_die "--only needs a value" ;;
    --offline) OFFLINE=(-o); shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; vb_die "unknown option '$1'" ;;
  esac
done
vb_check_int --minutes "$MINUTES" 1 600
[[ -z "$ONLY" || "$ONLY" =~ ^[A-Za-z0-9_]+(#[A-Za-z0-9_]+)?$ ]] || vb_die "--only takes a class name, optionally with #method (got '$ONLY')"

vb_find_jdk
export JAVA_HOME="$VB_JDK"
SERVER="$VB_ROOT/vigil-server"
TESTS="$SERVER/src/test/java"
LOGS="$VB_ROOT/target/fuzz"
mkdir -p "$LOGS" || vb_die "cannot create $LOGS"

# Class#method for every method annotated with @FuzzTest (the annotation, then the next method).
targets() {
  local file class
  grep -rl --include='*FuzzTest.java' '@FuzzTest' "$TESTS" | sort | while read -r file; do
    class="$(basename "$file" .java)"
    awk -v class="$class" '
      /@FuzzTest/ { pending = 1; next }
      pending && match($0, /void [A-Za-z0-9_]+\(/) {
        print class "#" substr($0, RSTART + 5, RLENGTH - 6); pending = 0
      }' "$file"
  done
}

mapfile -t ALL < <(targets)
SELECTED=()
for t in "${ALL[@]}"; do
  if [[ -z "$ONLY" || "$t" == "$ONLY" || "${t%%#*}" == "$ONLY" ]]; then
    SELECTED+=("$t")
  fi
done
((${#SELECTED[@]})) || vb_die "no fuzz test matches '${ONLY}'; fuzz tests: ${ALL[*]}"

vb_note "JDK: $VB_JDK_VERSION"
vb_note "fuzzing ${#SELECTED[@]} method(s) for $MINUTES minute(s) each: ${SELECTED[*]}"

crash_files() {
  find "$SERVER/src/test/resources" -type f -name 'crash-*' 2>/dev/null | sort
}

status=0
for target in "${SELECTED[@]}"; do
  log="$LOGS/${target/\#/-}.log"
  before="$(crash_files)"
  started=$SECONDS
  # Coverage of Vigil and of the libraries that parse what clients send guides the fuzzer; the
  # libFuzzer flag after the program name sets the time (the annotation's maxDuration is a default).
  (cd "$VB_ROOT" && JAZZER_FUZZ=1 nice -n 19 ./mvnw -B "${OFFLINE[@]}" -pl vigil-server -am test \
    -Dtest="$target" -Dsurefire.failIfNoSpecifiedTests=false \
    '-Djazzer.instrument=io.vigil.**,com.fasterxml.**,com.nimbusds.**,net.minidev.**' \
    -Djazzer.internal.arg.0=fuzz "-Djazzer.internal.arg.1=-max_total_time=$((MINUTES * 60))") \
    >"$log" 2>&1
  rc=$?
  runs="$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 inputs in \2 s/p' "$log" | tail -1)"
  cov="$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 | sed -n 's/.*cov: \([0-9]*\).*/\1/p')"
  finding="$(grep -m1 -E '^== Java Exception: |FuzzTestFinding' "$log" | cut -c1-200)"
  new="$(comm -13 <(echo "$before") <(crash_files) | sed "s|^$VB_ROOT/||")"
  printf '%-45s %s, %s edges, %ss' "$target" "${runs:-no fuzzing run}" "${cov:-?}" "$((SECONDS - started))"
  if [[ -n "$finding" || -n "$new" || $rc -ne 0 ]]; then
    status=1
    printf '  FINDING\n'
    [[ -n "$finding" ]] && printf '    %s\n' "$finding"
    [[ -n "$new" ]] && printf '    input: %s\n' $new
    [[ -z "$finding" && -z "$new" ]] && printf '    Maven exited with %s; see %s\n' "$rc" "$log"
  else
    printf '  no finding\n'
  fi
done
vb_note "logs: $LOGS"
exit $status
