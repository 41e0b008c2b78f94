# shellcheck shell=bash
# Sourced by every script in load/: settings and their defaults, tool checks, the loopback rule, the health
# probe, and the resource figures (CPU seconds and peak RSS of the API, worker, simulator and Redis).
#
# Safe under `set -euo pipefail` (a caller may use it): lookups that can find nothing end in `|| true`.
#
# Invariant: traffic goes only to BASE_URL (and, for resource figures, the loopback Redis at REDIS_URL), and
# BASE_URL must be a loopback address unless ALLOW_REMOTE=1: load tests on this machine may target
# 127.0.0.1 only, and /proc figures mean nothing for a remote server.

LOAD_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_ROOT=$(cd "$LOAD_DIR/.." && pwd)
LLMQ_CALLER_DIR=$PWD
# Every path the scripts use (load/batch_test.lua, load/results/...) is relative to the repository root.
cd "$REPO_ROOT" || exit 1

BASE_URL=${BASE_URL:-http://localhost:8000}
BASE_URL=${BASE_URL%/}
DURATION=${DURATION:-30s}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
RESULTS_DIR=${RESULTS_DIR:-load/results}
TIMESTAMP=${TIMESTAMP:-$(date +%Y%m%d_%H%M%S)}

llmq_die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

llmq_log() {
  printf '%s\n' "$*" >&2
}

# API_KEY: the environment first, else .env read exactly as the guide does (the caller's directory, then
# the repository root).
llmq_read_api_key() {
  if [ -n "${API_KEY:-}" ]; then return; fi
  local envfile
  for envfile in "$LLMQ_CALLER_DIR/.env" "$REPO_ROOT/.env"; do
    if [ -f "$envfile" ]; then
      API_KEY=$(grep "^API_KEY=" "$envfile" | cut -d '=' -f2 | tr -d '"') || true
      if [ -n "$API_KEY" ]; then return; fi
    fi
  done
  llmq_log "warning: API_KEY is not set and no .env holds an API_KEY= line; requests go without a key."
  llmq_log "         Set it like the guide: export API_KEY=\$(grep \"^API_KEY=\" .env | cut -d '=' -f2 | tr -d '\"')"
  API_KEY=""
}

llmq_require() {
  local tool missing=0
  for tool in "$@"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      missing=1
      case $tool in
        wrk) llmq_log "error: wrk is not installed. Install it: apt-get install wrk (Debian/Ubuntu), brew install wrk (macOS)." ;;
        jq) llmq_log "error: jq is not installed. Install it: apt-get install jq (Debian/Ubuntu), brew install jq (macOS)." ;;
        curl) llmq_log "error: curl is not installed. Install it: apt-get install curl (Debian/Ubuntu), brew install curl (macOS)." ;;
        *) llmq_log "error: $tool is not installed." ;;
      esac
    fi
  done
  [ "$missing" = 0 ] || exit 1
}

# "30s", "1m", "2h" or a bare number of seconds (what wrk -d accepts) -> seconds.
llmq_duration_seconds() {
  local d=$1
  case $d in
    *[!0-9smh]* | "" | [smh]*) return 1 ;;
  esac
  case $d in
    *s) echo "${d%s}" ;;
    *m) echo $(( ${d%m} * 60 )) ;;
    *h) echo $(( ${d%h} * 3600 )) ;;
    *) echo "$d" ;;
  esac
}

# host part of a URL, without brackets around IPv6 literals. The authority ends at the first /, ? or #, as
# curl reads it: "http://example.com#@127.0.0.1" goes to example.com, so it must not pass as loopback.
llmq_url_host() {
  local rest=${1#*://}
  rest=${rest%%[/?#]*}
  rest=${rest##*@}
  if [ "${rest#\[}" != "$rest" ]; then
    rest=${rest#\[}
    echo "${rest%%\]*}"
  else
    echo "${rest%%:*}"
  fi
}

llmq_url_port() {
  local url=$1 rest
  rest=${url#*://}
  rest=${rest%%[/?#]*}
  rest=${rest##*@}
  rest=${rest##*\]}
  case $rest in
    *:*) echo "${rest##*:}" ;;
    *) case $url in https://*) echo 443 ;; rediss://* | redis://*) echo 6379 ;; *) echo 80 ;; esac ;;
  esac
}

# 127.0.0.0/8 as a dotted quad only: a name such as 127.example.com resolves wherever its owner likes.
llmq_is_loopback() {
  case $1 in
    localhost | ::1 | 0:0:0:0:0:0:0:1) return 0 ;;
  esac
  [[ $1 =~ ^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]]
}

# Sets LLMQ_LOCAL=1 when BASE_URL is loopback (resource figures readable), refuses other hosts unless
# ALLOW_REMOTE=1.
llmq_check_target() {
  case $BASE_URL in
    http://* | https://*) ;;
    *) llmq_die "BASE_URL must start with http:// or https:// (got \"$BASE_URL\")" ;;
  esac
  llmq_duration_seconds "$DURATION" >/dev/null || llmq_die "DURATION must look like 30s, 2m or 45 (got \"$DURATION\")"
  local host
  host=$(llmq_url_host "$BASE_URL")
  if llmq_is_loopback "$host"; then
    LLMQ_LOCAL=1
  elif [ "${ALLOW_REMOTE:-0}" = 1 ]; then
    LLMQ_LOCAL=0
    llmq_log "note: BASE_URL host $host is not loopback (ALLOW_REMOTE=1): resource figures will read n/a."
  else
    llmq_die "refusing to send load to $host: load tests here may only target loopback (localhost, 127.0.0.1, ::1). Set ALLOW_REMOTE=1 to load an llmq you own elsewhere."
  fi
}

# GET /api/v1/health, then an authenticated GET /api/v1/models: a clear message when llmq is not there,
# unhealthy, or refuses the key.
llmq_probe() {
  local tmp code
  tmp=$(mktemp)
  code=$(curl -sS -m 5 -o "$tmp" -w '%{http_code}' -H "X-API-Key: ${API_KEY}" "$BASE_URL/api/v1/health" 2>"$tmp.err") || code=000
  case $code in
    200) ;;
    000)
      llmq_log "error: llmq does not answer at $BASE_URL (GET /api/v1/health: $(head -c 300 "$tmp.err"))."
      llmq_log "       Start it with 'npm start' (PORT=8000 by default) or point BASE_URL at it, e.g. BASE_URL=http://127.0.0.1:8300."
      rm -f "$tmp" "$tmp.err"
      exit 1 ;;
    *)
      llmq_log "error: GET $BASE_URL/api/v1/health answered $code, llmq is not healthy (is Redis up?): $(head -c 500 "$tmp")"
      rm -f "$tmp" "$tmp.err"
      exit 1 ;;
  esac
  code=$(curl -sS -m 5 -o "$tmp" -w '%{http_code}' -H "X-API-Key: ${API_KEY}" "$BASE_URL/api/v1/models" 2>/dev/null) || code=000
  case $code in
    200) LLMQ_MODELS_JSON=$(cat "$tmp") ;;
    401) rm -f "$tmp" "$tmp.err"; llmq_die "llmq at $BASE_URL refused the API key (401). Set API_KEY to a key the server was started with (API_KEY / API_KEYS)." ;;
    *) rm -f "$tmp" "$tmp.err"; llmq_die "GET $BASE_URL/api/v1/models answered $code: $(head -c 500 "$tmp" 2>/dev/null)" ;;
  esac
  rm -f "$tmp" "$tmp.err"
}

# Ids GET /api/v1/models reports as available, comma-separated (empty when unknown).
llmq_available_models() {
  printf '%s' "${LLMQ_MODELS_JSON:-}" | jq -r '[.models[]? | select(.available != false) | .id] | join(",")' 2>/dev/null
}

llmq_has_model() {
  local ids
  ids=$(llmq_available_models)
  [ -z "$ids" ] && return 0
  case ",$ids," in *",$1,"*) return 0 ;; *) return 1 ;; esac
}

llmq_machine() {
  local cpu cores
  cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')
  cores=$(nproc 2>/dev/null || echo '?')
  printf '%s, %s cores, %s, %s' "${cpu:-unknown cpu}" "$cores" "$(uname -sr)" "$(node -v 2>/dev/null || echo 'node n/a')"
}

# The opening every measuring script makes: the tools it needs, the key, the loopback rule, the probe, and
# the processes whose resources it reports.
llmq_start() {
  llmq_require "$@"
  llmq_read_api_key
  llmq_check_target
  llmq_probe
  llmq_find_pids
}

# llmq_results_header <title> <target line>: the lines that open every results file.
llmq_results_header() {
  echo "$1"
  echo "Date: $(date -Is)"
  echo "Target: $BASE_URL   $2"
  echo "Commit: $(git rev-parse --short HEAD 2>/dev/null || echo n/a)"
  echo "Machine: $(llmq_machine)"
  echo "Resource figures: $( [ "${LLMQ_LOCAL:-0}" = 1 ] && llmq_describe_pids || echo 'n/a (remote target)')"
}

# ---------------------------------------------------------------------------------------------------------
# Resource figures. Roles: api, worker, simulator, redis. Pids come from API_PIDS / WORKER_PIDS /
# SIMULATOR_PIDS / REDIS_PID when set; else the API is whatever listens on BASE_URL's port, worker and
# simulator are the `node services/<name>/dist/main.js` processes that share the API's parent (npm start) or
# session (the machine is shared: other checkouts run the same commands), and Redis is the process_id Redis
# reports.

LLMQ_ROLES="api worker simulator redis"
LLMQ_CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)

llmq_pids_of_listener() {
  local port=$1
  command -v ss >/dev/null 2>&1 || return 0
  ss -Hltnp "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u | tr '\n' ' ' || true
}

llmq_sid() {
  ps -o sid= -p "$1" 2>/dev/null | tr -d ' '
}

llmq_find_pids() {
  LLMQ_PIDS_api="" LLMQ_PIDS_worker="" LLMQ_PIDS_simulator="" LLMQ_PIDS_redis=""
  LLMQ_PID_NOTE=""
  [ "${LLMQ_LOCAL:-0}" = 1 ] || return 0
  local api_sid="" api_ppid="" role pattern candidates kept pid
  LLMQ_PIDS_api=${API_PIDS:-$(llmq_pids_of_listener "$(llmq_url_port "$BASE_URL")")}
  if [ -z "${LLMQ_PIDS_api// /}" ]; then
    LLMQ_PIDS_api=$(pgrep -f 'services/api/dist/main.js' | tr '\n' ' ') || true
    [ -n "${LLMQ_PIDS_api// /}" ] && LLMQ_PID_NOTE="api pids by command-line pattern"
  fi
  for pid in $LLMQ_PIDS_api; do
    api_sid=$(llmq_sid "$pid")
    api_ppid=$(ps -o ppid= -p "$pid" 2>/dev/null | tr -d ' ')
    break
  done
  for role in worker simulator; do
    case $role in
      worker) pattern='services/worker/dist/main.js'; candidates=${WORKER_PIDS:-} ;;
      simulator) pattern='services/simulator/dist/main.js'; candidates=${SIMULATOR_PIDS:-} ;;
    esac
    if [ -z "$candidates" ]; then
      candidates=$(pgrep -f "$pattern" | tr '\n' ' ') || true
      kept=""
      # Siblings of the API (npm start's launcher runs each service detached, in its own session, as its
      # child), else processes of the API's session.
      if [ -n "$api_ppid" ] && [ "$api_ppid" != 1 ]; then
        for pid in $candidates; do
          [ "$(ps -o ppid= -p "$pid" 2>/dev/null | tr -d ' ')" = "$api_ppid" ] && kept="$kept $pid"
        done
      fi
      if [ -z "$kept" ] && [ -n "$api_sid" ]; then
        for pid in $candidates; do
          [ "$(llmq_sid "$pid")" = "$api_sid" ] && kept="$kept $pid"
        done
      fi
      if [ -n "$kept" ]; then
        candidates=$kept
      elif [ -n "${candidates// /}" ]; then
        LLMQ_PID_NOTE="${LLMQ_PID_NOTE:+$LLMQ_PID_NOTE; }$role pids by command-line pattern (not in the API's session; set ${role^^}_PIDS to choose)"
      fi
    fi
    # A process already counted as the API (a single-process start) is not counted twice.
    kept=""
    for pid in $candidates; do
      case " $LLMQ_PIDS_api " in *" $pid "*) ;; *) kept="$kept $pid" ;; esac
    done
    printf -v "LLMQ_PIDS_$role" '%s' "${kept# }"
  done
  LLMQ_PIDS_redis=${REDIS_PID:-}
  if [ -z "$LLMQ_PIDS_redis" ] && command -v redis-cli >/dev/null 2>&1 && llmq_is_loopback "$(llmq_url_host "$REDIS_URL")"; then
    LLMQ_PIDS_redis=$(timeout 3 redis-cli -u "$REDIS_URL" info server 2>/dev/null | tr -d '\r' | awk -F: '$1=="process_id"{print $2}') || true
  fi
  # Only pids whose /proc entry we can read.
  for role in $LLMQ_ROLES; do
    local var="LLMQ_PIDS_$role" readable=""
    for pid in ${!var}; do
      [ -r "/proc/$pid/stat" ] && readable="$readable $pid"
    done
    printf -v "$var" '%s' "${readable# }"
  done
}

llmq_describe_pids() {
  local role var out=""
  for role in $LLMQ_ROLES; do
    var="LLMQ_PIDS_$role"
    out="$out $role=${!var:-n/a}"
  done
  printf 'pids:%s%s' "$out" "${LLMQ_PID_NOTE:+ ($LLMQ_PID_NOTE)}"
}

# Sum of utime+stime (clock ticks) of the given pids; empty when none is readable.
llmq_cpu_ticks() {
  local pid total="" stat
  for pid in "$@"; do
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    stat=${stat##*) }
    # shellcheck disable=SC2086
    set -- $stat
    total=$(( ${total:-0} + ${12} + ${13} ))
  done
  echo "$total"
}

# Sum of VmRSS (kB) of the given pids; empty when none is readable.
llmq_rss_kb() {
  local pid total="" kb
  for pid in "$@"; do
    kb=$(awk '$1=="VmRSS:"{print $2}' "/proc/$pid/status" 2>/dev/null)
    [ -n "$kb" ] && total=$(( ${total:-0} + kb ))
  done
  echo "$total"
}

llmq_now() {
  date +%s.%N
}

# Starts a scenario's measurement: CPU ticks now, and a sampler that keeps each role's peak RSS.
llmq_res_begin() {
  LLMQ_RES_T0=$(llmq_now)
  LLMQ_RES_TMP=$(mktemp -d)
  local role var
  for role in $LLMQ_ROLES; do
    var="LLMQ_PIDS_$role"
    # shellcheck disable=SC2086
    printf -v "LLMQ_RES_CPU0_$role" '%s' "$(llmq_cpu_ticks ${!var})"
  done
  [ "${LLMQ_LOCAL:-0}" = 1 ] || return 0
  (
    declare -A peak
    while :; do
      for role in $LLMQ_ROLES; do
        var="LLMQ_PIDS_$role"
        # shellcheck disable=SC2086
        kb=$(llmq_rss_kb ${!var})
        if [ -n "$kb" ] && [ "$kb" -gt "${peak[$role]:-0}" ]; then
          peak[$role]=$kb
          echo "$kb" >"$LLMQ_RES_TMP/$role.peak"
        fi
      done
      sleep 0.5
    done
  ) &
  LLMQ_RES_SAMPLER=$!
}

# Ends it: sets LLMQ_RES_LINE (human) and LLMQ_RES_CSV ("cpu_s,peak_mb" per role, n/a where unreadable).
llmq_res_end() {
  local t1 wall role var cpu0_var cpu0 cpu1 cpu_s pct peak_mb human="" csv=""
  if [ -n "${LLMQ_RES_SAMPLER:-}" ]; then
    kill "$LLMQ_RES_SAMPLER" 2>/dev/null || true
    wait "$LLMQ_RES_SAMPLER" 2>/dev/null || true
    LLMQ_RES_SAMPLER=""
  fi
  t1=$(llmq_now)
  wall=$(awk -v a="$LLMQ_RES_T0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
  for role in $LLMQ_ROLES; do
    var="LLMQ_PIDS_$role"
    cpu0_var="LLMQ_RES_CPU0_$role"
    cpu0=${!cpu0_var}
    # shellcheck disable=SC2086
    cpu1=$(llmq_cpu_ticks ${!var})
    if [ -n "$cpu0" ] && [ -n "$cpu1" ]; then
      cpu_s=$(awk -v a="$cpu0" -v b="$cpu1" -v t="$LLMQ_CLK_TCK" 'BEGIN{printf "%.2f", (b-a)/t}')
      pct=$(awk -v c="$cpu_s" -v w="$wall" 'BEGIN{ if (w > 0) printf "%.0f%%", 100*c/w; else print "n/a" }')
    else
      cpu_s="n/a" pct="n/a"
    fi
    if [ -s "$LLMQ_RES_TMP/$role.peak" ]; then
      peak_mb=$(awk '{printf "%.1f", $1/1024}' "$LLMQ_RES_TMP/$role.peak")
    else
      peak_mb="n/a"
    fi
    if [ "$cpu_s" = n/a ] && [ "$peak_mb" = n/a ]; then
      human="$human | $role: n/a"
    else
      human="$human | $role: cpu ${cpu_s}s (${pct} of a core), peak RSS ${peak_mb} MB"
    fi
    csv="$csv,$cpu_s,$peak_mb"
  done
  rm -rf "$LLMQ_RES_TMP"
  LLMQ_RES_LINE="wall ${wall}s${human}"
  LLMQ_RES_CSV=${csv#,}
}

LLMQ_RES_CSV_HEADER="API CPU (s),API Peak RSS (MB),Worker CPU (s),Worker Peak RSS (MB),Simulator CPU (s),Simulator Peak RSS (MB),Redis CPU (s),Redis Peak RSS (MB)"

# Redis's own view (memory and CPU counters), when a loopback Redis answers.
llmq_redis_info() {
  if [ "${LLMQ_LOCAL:-0}" != 1 ] || ! command -v redis-cli >/dev/null 2>&1 || ! llmq_is_loopback "$(llmq_url_host "$REDIS_URL")"; then
    echo "redis: n/a"
    return
  fi
  local info
  info=$( { timeout 3 redis-cli -u "$REDIS_URL" info memory; timeout 3 redis-cli -u "$REDIS_URL" info cpu; } 2>/dev/null | tr -d '\r')
  if [ -z "$info" ]; then
    echo "redis: n/a"
    return
  fi
  printf '%s\n' "$info" | awk -F: '
    $1=="used_memory_human"{m=$2} $1=="used_memory_peak_human"{p=$2} $1=="used_memory_rss_human"{r=$2}
    $1=="used_cpu_user"{u=$2} $1=="used_cpu_sys"{s=$2}
    END{printf "redis: used_memory %s (peak %s, rss %s), used_cpu user %ss sys %ss (whole server)\n", m, p, r, u, s}'
}

llmq_stop_sampler() {
  if [ -n "${LLMQ_RES_SAMPLER:-}" ]; then
    kill "$LLMQ_RES_SAMPLER" 2>/dev/null || true
    wait "$LLMQ_RES_SAMPLER" 2>/dev/null || true
  fi
  if [ -n "${LLMQ_RES_TMP:-}" ]; then rm -rf "$LLMQ_RES_TMP"; fi
}
trap llmq_stop_sampler EXIT

# ---------------------------------------------------------------------------------------------------------
# One llmq job request, the way a user's client makes it.
REQUEST_TIMEOUT_S=${REQUEST_TIMEOUT_S:-150}

# llmq_call <path> <body file> <response file>
# POSTs the body. A 202 (the sync wait ran out, or async) is followed by polling GET /api/v1/jobs/{id}
# until the job is final, and the job's result (or error) is written to the response file.
# Sets LLMQ_STATUS (the HTTP status, "job_failed" for a polled job that failed, 000 when nothing answered)
# and LLMQ_TIME_S (seconds from sending to the final answer).
llmq_call() {
  local path=$1 body=$2 resp=$3 t0 t_curl code id deadline state poll_code
  t0=$(llmq_now)
  t_curl=$(curl -sS -m "$REQUEST_TIMEOUT_S" -o "$resp" -w '%{http_code} %{time_total}' -X POST \
    -H "X-API-Key: ${API_KEY}" -H "Content-Type: application/json" --data-binary "@$body" \
    "$BASE_URL$path" 2>/dev/null) || t_curl="000 0"
  code=${t_curl%% *}
  LLMQ_TIME_S=${t_curl##* }
  if [ "$code" = 202 ]; then
    id=$(jq -r '.id // empty' "$resp" 2>/dev/null)
    deadline=$(( $(date +%s) + REQUEST_TIMEOUT_S ))
    while [ -n "$id" ] && [ "$(date +%s)" -lt "$deadline" ]; do
      sleep 0.2
      poll_code=$(curl -sS -m 10 -o "$resp.poll" -w '%{http_code}' -H "X-API-Key: ${API_KEY}" \
        "$BASE_URL/api/v1/jobs/$id" 2>/dev/null) || poll_code=000
      [ "$poll_code" = 200 ] || continue
      state=$(jq -r '.status // empty' "$resp.poll" 2>/dev/null)
      case $state in
        completed) jq '.result' "$resp.poll" >"$resp"; code=200; break ;;
        failed | cancelled) jq '{error: .error, status: .status}' "$resp.poll" >"$resp"; code=job_failed; break ;;
      esac
    done
    rm -f "$resp.poll"
    LLMQ_TIME_S=$(awk -v a="$t0" -v b="$(llmq_now)" 'BEGIN{printf "%.6f", b-a}')
  fi
  LLMQ_STATUS=$code
}

# "<status> <error code>" of a failed answer, for error tallies.
llmq_error_kind() {
  local status=$1 resp=$2 code
  code=$(jq -r '.error.code // empty' "$resp" 2>/dev/null)
  printf '%s%s' "$status" "${code:+ $code}"
}
