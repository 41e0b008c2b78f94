#!/usr/bin/env bash
# The same task on both endpoints, as the guide's structured_vs_unstructured_test.sh: registers each test
# case's schema (POST /api/v1/schemas), then for each case sends requests one after another for DURATION
# to POST /api/v1/structured (with `schema_id`) and to POST /api/v1/unstructured (the prompt + " in JSON
# format"), and writes the guide's CSV.
#
#   DURATION=3s BASE_URL=http://127.0.0.1:8000 API_KEY=... bash load/structured_vs_unstructured_test.sh
#
# Models: by default each case runs on the model the guide gives it (simple: gpt-3.5-turbo, nested:
# claude-2, array: gpt-4). MODELS=gpt-4,claude-2 runs every case on each listed model instead.
# Settings: BASE_URL (default http://localhost:8000), API_KEY (default: .env, as the guide reads it),
# DURATION (default 30s, per case and endpoint; at least one request each), MAX_REQUESTS (default 1000,
# per case and endpoint), CASES_FILE (default load/structured_test_cases.json), REQUEST_TIMEOUT_S,
# REDIS_URL, ALLOW_REMOTE=1.
# Writes load/results/structured_vs_unstructured_TIMESTAMP/: results.csv (the guide's columns),
# schema_registration.log, summary.txt (errors, JSON validity, resources), responses/ (one sample each).
#   Latency (s): the first request of the run (cold: the schema is compiled on first use).
#   Input/Output Tokens: mean over the successful requests. Average Duration (s): mean over all requests.
set -uo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

llmq_start jq curl

CASES_FILE=${CASES_FILE:-load/structured_test_cases.json}
MAX_REQUESTS=${MAX_REQUESTS:-1000}
DURATION_S=$(llmq_duration_seconds "$DURATION")
jq -e '.test_cases | length > 0' "$CASES_FILE" >/dev/null 2>&1 || llmq_die "$CASES_FILE holds no test_cases"

OUT_DIR="$RESULTS_DIR/structured_vs_unstructured_${TIMESTAMP}"
mkdir -p "$OUT_DIR/responses"
CSV="$OUT_DIR/results.csv"
REG_LOG="$OUT_DIR/schema_registration.log"
SUMMARY="$OUT_DIR/summary.txt"
WORK=$(mktemp -d)
trap 'llmq_stop_sampler; rm -rf "$WORK"' EXIT
SUFFIX=$(jq -r '.unstructured_suffix // " in JSON format"' "$CASES_FILE")

echo "Model,Test Case,Endpoint,Latency (s),Input Tokens,Output Tokens,Total Requests,Average Duration (s)" >"$CSV"
: >"$REG_LOG"
{
  llmq_results_header "llmq structured vs unstructured results" "Duration per case and endpoint: $DURATION (max $MAX_REQUESTS requests)"
  echo
} | tee "$SUMMARY"

mapfile -t CASE_IDS < <(jq -r '.test_cases[].id' "$CASES_FILE")

# 1. Register every case's schema once; structured requests then send only its id.
declare -A SCHEMA_IDS
for id in "${CASE_IDS[@]}"; do
  jq --arg id "$id" --arg ts "$TIMESTAMP" '.test_cases[] | select(.id == $id) | {name: "perf-\($id)-\($ts)", schema}' \
    "$CASES_FILE" >"$WORK/schema.json"
  reg=$(curl -sS -m 10 -o "$WORK/reg.json" -w '%{http_code} %{time_total}' -X POST -H "X-API-Key: ${API_KEY}" \
    -H "Content-Type: application/json" --data-binary "@$WORK/schema.json" "$BASE_URL/api/v1/schemas" 2>/dev/null) || reg="000 0"
  code=${reg%% *}
  sid=$(jq -r '.id // empty' "$WORK/reg.json" 2>/dev/null)
  {
    echo "$(date -Is) case=$id status=$code time=${reg##* }s schema_id=${sid:-none}"
    echo "  request:  $(jq -c . "$WORK/schema.json")"
    echo "  response: $(head -c 2000 "$WORK/reg.json" 2>/dev/null)"
  } >>"$REG_LOG"
  if [ "$code" = 201 ] || [ "$code" = 200 ] && [ -n "$sid" ]; then
    SCHEMA_IDS[$id]=$sid
    echo "Registered schema for $id: $sid"
  else
    SCHEMA_IDS[$id]=""
    echo "warning: registering the $id schema answered $code; its structured requests send the schema inline (see $REG_LOG)" >&2
  fi
done

# body_for <case id> <model> <endpoint> -> request body file
body_for() {
  local id=$1 model=$2 endpoint=$3 file="$WORK/body.json"
  if [ "$endpoint" = structured ]; then
    jq --arg id "$id" --arg model "$model" --arg sid "${SCHEMA_IDS[$id]}" '.test_cases[] | select(.id == $id) |
      {model: $model, prompt, max_tokens} + (if $sid != "" then {schema_id: $sid} else {schema} end)' "$CASES_FILE" >"$file"
  else
    jq --arg id "$id" --arg model "$model" --arg suffix "$SUFFIX" '.test_cases[] | select(.id == $id) |
      {model: $model, prompt: (.prompt + $suffix), max_tokens}' "$CASES_FILE" >"$file"
  fi
  echo "$file"
}

# Is the answer's output JSON? Structured answers carry an object; an unstructured one is text that may hold
# JSON, possibly in a ``` fence.
output_is_json() {
  jq -e '.output | if type == "string" then (gsub("^\\s*```(json)?\\s*|\\s*```\\s*$"; "") | try (fromjson | true) catch false) else true end' \
    "$1" >/dev/null 2>&1
}

# run_case <case id> <model> <endpoint>
run_case() {
  local id=$1 model=$2 endpoint=$3 name body resp t_end n=0 ok=0 errors=0 json_ok=0 first="" sum=0 in_sum=0 out_sum=0
  local in_tok out_tok kinds=""
  name=$(jq -r --arg id "$id" '.test_cases[] | select(.id == $id) | .name' "$CASES_FILE")
  body=$(body_for "$id" "$model" "$endpoint")
  resp="$WORK/resp.json"
  t_end=$(( $(date +%s) + DURATION_S ))
  while [ "$n" -lt "$MAX_REQUESTS" ] && { [ "$n" -eq 0 ] || [ "$(date +%s)" -lt "$t_end" ]; }; do
    llmq_call "/api/v1/$endpoint" "$body" "$resp"
    n=$((n + 1))
    [ -z "$first" ] && first=$LLMQ_TIME_S
    sum=$(awk -v a="$sum" -v b="$LLMQ_TIME_S" 'BEGIN{printf "%.6f", a+b}')
    if [ "$LLMQ_STATUS" = 200 ]; then
      ok=$((ok + 1))
      IFS=$'\t' read -r in_tok out_tok < <(jq -r '[.usage.input_tokens // 0, .usage.output_tokens // 0] | @tsv' "$resp")
      in_sum=$((in_sum + in_tok))
      out_sum=$((out_sum + out_tok))
      output_is_json "$resp" && json_ok=$((json_ok + 1))
      [ "$ok" = 1 ] && cp "$resp" "$OUT_DIR/responses/${model//\//_}_${id}_${endpoint}.json"
    else
      errors=$((errors + 1))
      kinds="$kinds; $(llmq_error_kind "$LLMQ_STATUS" "$resp")"
      [ "$errors" = 1 ] && cp "$resp" "$OUT_DIR/responses/${model//\//_}_${id}_${endpoint}.error.json"
    fi
  done
  local avg_in="n/a" avg_out="n/a"
  if [ "$ok" -gt 0 ]; then
    avg_in=$(( (in_sum + ok / 2) / ok ))
    avg_out=$(( (out_sum + ok / 2) / ok ))
  fi
  local avg
  avg=$(awk -v s="$sum" -v n="$n" 'BEGIN{printf "%.3f", s/n}')
  echo "$model,$name,$endpoint,$(printf '%.3f' "$first"),$avg_in,$avg_out,$n,$avg" >>"$CSV"
  printf '%-16s %-20s %-13s first %6.3fs  avg %6.3fs  requests %4d  tokens in %4s out %5s  errors %d  JSON %d/%d%s\n' \
    "$model" "$name" "$endpoint" "$first" "$avg" "$n" "$avg_in" "$avg_out" "$errors" "$json_ok" "$ok" \
    "${kinds:+  (${kinds#; })}" | tee -a "$SUMMARY"
}

# 2. Each case on both endpoints.
if [ -n "${MODELS:-}" ]; then
  IFS=', ' read -r -a RUN_MODELS <<<"$MODELS"
  echo "Models: every case on each of ${RUN_MODELS[*]}" | tee -a "$SUMMARY"
else
  RUN_MODELS=()
  echo "Models: each case on its own model (the guide's choice)" | tee -a "$SUMMARY"
fi
llmq_res_begin
for id in "${CASE_IDS[@]}"; do
  if [ "${#RUN_MODELS[@]}" -gt 0 ]; then
    models=("${RUN_MODELS[@]}")
  else
    models=("$(jq -r --arg id "$id" '.test_cases[] | select(.id == $id) | .model' "$CASES_FILE")")
  fi
  for model in "${models[@]}"; do
    llmq_has_model "$model" || echo "warning: GET /api/v1/models does not list $model as available" >&2
    run_case "$id" "$model" structured
    run_case "$id" "$model" unstructured
  done
done
llmq_res_end

{
  echo
  echo "Resources over the whole test: $LLMQ_RES_LINE"
  llmq_redis_info
  echo
  echo "results.csv:"
  cat "$CSV"
} | tee -a "$SUMMARY"
echo
echo "Results saved to $OUT_DIR/ (results.csv, schema_registration.log, summary.txt, responses/)"
