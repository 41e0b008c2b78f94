#!/usr/bin/env bash
# Every scenario of the performance guide, in sequence, with wrk. Writes one timestamped results file:
# each scenario's raw wrk output under a "Scenario: <name>" header, its resource figures, then a
# "Summary of Results" CSV-like block and a "Resource Usage" block.
#
#   DURATION=3s BASE_URL=http://127.0.0.1:8000 API_KEY=... bash load/performance_test.sh
#
# Settings: BASE_URL (default http://localhost:8000), API_KEY (default: .env, as the guide reads it),
# DURATION (default 30s, per scenario), ONLY (comma-separated scenario ids to run; default all),
# REDIS_URL (only read for Redis's resource figures), ALLOW_REMOTE=1 (allow a non-loopback BASE_URL),
# DRAIN_TIMEOUT_S (default 30: wait for llmq's queues to empty between scenarios).
# Scenario ids: health models structured_simple structured_nested structured_array structured_new_schema
#               unstructured batch conversation compare_structured compare_unstructured
set -uo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

llmq_start wrk jq curl

DRAIN_TIMEOUT_S=${DRAIN_TIMEOUT_S:-30}
mkdir -p "$RESULTS_DIR"
RESULTS_FILE="$RESULTS_DIR/performance_results_${TIMESTAMP}.txt"
BODY_DIR=$(mktemp -d)
trap 'llmq_stop_sampler; rm -rf "$BODY_DIR"' EXIT

# The three structured cases come from structured_test_cases.json, as the guide's curls send them.
for id in simple nested array; do
  jq --arg id "$id" '.test_cases[] | select(.id == $id) | {model, prompt, schema}' load/structured_test_cases.json \
    >"$BODY_DIR/structured_$id.json" || llmq_die "load/structured_test_cases.json has no \"$id\" case"
done

# The batch and new-schema scripts rotate over the ids llmq reports as available.
WRK_MODELS=$(llmq_available_models)
export WRK_MODELS

SUMMARY_ROWS=()
RESOURCE_ROWS=()
FAILED_SCENARIOS=()

out() {
  printf '%s\n' "$*" | tee -a "$RESULTS_FILE"
}

selected() {
  [ -z "${ONLY:-}" ] && return 0
  case ",$ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac
}

# Waits until llmq's queues hold no waiting or active job (jobs of the previous scenario that wrk left in
# flight), so one scenario's tail does not load the next.
wait_for_idle() {
  local deadline=$(( $(date +%s) + DRAIN_TIMEOUT_S )) pending
  while :; do
    pending=$(curl -sS -m 3 -H "X-API-Key: ${API_KEY}" "$BASE_URL/api/v1/health" 2>/dev/null |
      jq '[.queues // {} | .[] | ((.waiting // 0) + (.active // 0))] | add // 0' 2>/dev/null) || pending=""
    [ -z "$pending" ] || [ "$pending" = 0 ] && return 0
    if [ "$(date +%s)" -ge "$deadline" ]; then
      out "note: $pending jobs still waiting or active after ${DRAIN_TIMEOUT_S}s; going on"
      return 0
    fi
    sleep 0.5
  done
}

# run_scenario <id> <name> <wrk args...>
run_scenario() {
  local id=$1 name=$2
  shift 2
  selected "$id" || return 0
  wait_for_idle
  local shown="wrk" arg output rc result placeholder='${API_KEY}'
  for arg in "$@"; do
    case $arg in *" "*) shown="$shown \"$arg\"" ;; *) shown="$shown $arg" ;; esac
  done
  [ -n "$API_KEY" ] && shown=${shown//"$API_KEY"/"$placeholder"}
  out ""
  out "Scenario: $name"
  out "Command: $shown"
  llmq_res_begin
  output=$(wrk "$@" 2>&1)
  rc=$?
  llmq_res_end
  out "$output"
  out "Resources: $LLMQ_RES_LINE"
  result=$(printf '%s\n' "$output" | sed -n 's/^LLMQ_RESULT //p' | tail -n 1)
  if [ "$rc" -ne 0 ] || [ -z "$result" ]; then
    out "error: wrk exited with $rc and no result line for \"$name\""
    FAILED_SCENARIOS+=("$name")
    SUMMARY_ROWS+=("$name,n/a,n/a,n/a,n/a,n/a,n/a,n/a")
  else
    SUMMARY_ROWS+=("$name,$(printf '%s' "$result" | jq -r '[.rps, .avg_ms, .p95_ms, .p99_ms, .max_ms, .errors, .requests] | map(tostring) | join(",")')")
    LAST_RESULT=$result
  fi
  RESOURCE_ROWS+=("$name,$LLMQ_RES_CSV")
}

H_KEY=(-H "X-API-Key: ${API_KEY}")
H_JSON=(-H "Content-Type: application/json")

{
  llmq_results_header "llmq performance test results" "Duration per scenario: $DURATION"
  echo "Models used by the batch and new-schema scenarios: ${WRK_MODELS:-the defaults in the lua scripts}"
} | tee "$RESULTS_FILE"

# 1. Health check (the guide's "Light Load" example) and 2. model list: -t4 -c10, as the guide.
run_scenario health "Light Load (GET /api/v1/health)" \
  -t4 -c10 -d"$DURATION" --latency "${H_KEY[@]}" -s load/wrk/get.lua "$BASE_URL/api/v1/health"
run_scenario models "Model List (GET /api/v1/models)" \
  -t4 -c10 -d"$DURATION" --latency "${H_KEY[@]}" -s load/wrk/get.lua "$BASE_URL/api/v1/models"

# 3. Structured output, the guide's three cases (same schema every request), then a new schema every request.
WRK_BODY_FILE="$BODY_DIR/structured_simple.json" run_scenario structured_simple "Structured: Simple JSON Object (gpt-3.5-turbo)" \
  -t4 -c10 -d"$DURATION" --latency "${H_KEY[@]}" "${H_JSON[@]}" -s load/wrk/post_json.lua "$BASE_URL/api/v1/structured"
WRK_BODY_FILE="$BODY_DIR/structured_nested.json" run_scenario structured_nested "Structured: Nested JSON Object (claude-2)" \
  -t4 -c10 -d"$DURATION" --latency "${H_KEY[@]}" "${H_JSON[@]}" -s load/wrk/post_json.lua "$BASE_URL/api/v1/structured"
WRK_BODY_FILE="$BODY_DIR/structured_array.json" run_scenario structured_array "Structured: Array of Objects (gpt-4)" \
  -t4 -c10 -d"$DURATION" --latency "${H_KEY[@]}" "${H_JSON[@]}" -s load/wrk/post_json.lua "$BASE_URL/api/v1/structured"
run_scenario structured_new_schema "Structured: New Schema Per Request" \
  -t4 -c10 -d"$DURATION" --latency "${H_KEY[@]}" "${H_JSON[@]}" -s load/wrk/structured_new_schema.lua "$BASE_URL/api/v1/structured"

# 4. Unstructured output.
WRK_BODY_FILE=load/bodies/unstructured_product.json run_scenario unstructured "Unstructured (llama3-8b-8192)" \
  -t4 -c10 -d"$DURATION" --latency "${H_KEY[@]}" "${H_JSON[@]}" -s load/wrk/post_json.lua "$BASE_URL/api/v1/unstructured"

# 5. Batch processing: the guide's command as written, its script under load/, for DURATION.
LAST_RESULT=""
run_scenario batch "Batch Processing (batch_test.lua, -t8 -c50)" \
  -t8 -c50 -d"$DURATION" --latency "${H_KEY[@]}" "${H_JSON[@]}" -s load/batch_test.lua "$BASE_URL/api/v1/unstructured"
BATCH_RESULT=$LAST_RESULT

# 6. Conversation.
WRK_BODY_FILE=load/bodies/conversation_solar_system.json run_scenario conversation "Conversation (gpt-4)" \
  -t4 -c10 -d"$DURATION" --latency "${H_KEY[@]}" "${H_JSON[@]}" -s load/wrk/post_json.lua "$BASE_URL/api/v1/conversation"

# 7. Structured vs unstructured, the same task on both endpoints.
WRK_BODY_FILE=load/bodies/compare_structured.json run_scenario compare_structured "Structured vs Unstructured: structured (gpt-4)" \
  -t4 -c10 -d"$DURATION" --latency "${H_KEY[@]}" "${H_JSON[@]}" -s load/wrk/post_json.lua "$BASE_URL/api/v1/structured"
WRK_BODY_FILE=load/bodies/compare_unstructured.json run_scenario compare_unstructured "Structured vs Unstructured: unstructured (gpt-4)" \
  -t4 -c10 -d"$DURATION" --latency "${H_KEY[@]}" "${H_JSON[@]}" -s load/wrk/post_json.lua "$BASE_URL/api/v1/unstructured"

wait_for_idle
out ""
out "Final system metrics"
out "health: $(curl -sS -m 5 -H "X-API-Key: ${API_KEY}" "$BASE_URL/api/v1/health" 2>/dev/null | jq -c . 2>/dev/null || echo n/a)"
out "$(llmq_redis_info)"

out ""
out "Summary of Results"
out "Scenario,Requests/sec,Avg Latency (ms),P95 Latency (ms),P99 Latency (ms),Max Latency (ms),Errors,Requests"
for row in "${SUMMARY_ROWS[@]}"; do out "$row"; done
out ""
out "Resource Usage"
out "Scenario,$LLMQ_RES_CSV_HEADER"
for row in "${RESOURCE_ROWS[@]}"; do out "$row"; done
out ""
out "(Errors = non-2xx answers + socket errors. CPU is utime+stime during the scenario; peak RSS is sampled every 0.5 s."
out " Redis figures are for the whole Redis server, which other clients may share.)"

if [ -n "$BATCH_RESULT" ]; then
  out "Batch scenario: $(printf '%s' "$BATCH_RESULT" | jq -r '"\(.non2xx) non-2xx answers, \(.socket_errors) socket errors, statuses \(.statuses | tostring)"')"
fi
echo
echo "Results saved to $RESULTS_FILE"
echo "  View the summary:   grep -A 20 \"Summary of Results\" \"$RESULTS_FILE\""
echo "  View one scenario:  grep -A 10 \"Scenario: Light Load\" \"$RESULTS_FILE\""
if [ "${#FAILED_SCENARIOS[@]}" -gt 0 ]; then
  llmq_log "error: ${#FAILED_SCENARIOS[@]} scenario(s) did not run to the end: ${FAILED_SCENARIOS[*]}"
  exit 1
fi
