#!/usr/bin/env bash
# Multi-turn conversations against POST /api/v1/conversation, as the guide's conversation_test.sh:
# short (3 iterations), medium (2) and long (2) conversations from load/conversation_prompts.json. Each turn
# sends the whole history so far; the assistant's reply (the response's `message`, else `output`) is
# appended before the next user turn, so the context grows turn by turn.
#
#   BASE_URL=http://127.0.0.1:8000 API_KEY=... bash load/conversation_test.sh
#
# Settings: BASE_URL (default http://localhost:8000), API_KEY (default: .env, as the guide reads it),
# MODEL (run every conversation on this model; default: rotate over the file's models),
# PROMPTS_FILE (default load/conversation_prompts.json), REQUEST_TIMEOUT_S (default 150, per turn),
# REDIS_URL, ALLOW_REMOTE=1. DURATION is accepted like the other scripts but does not bound this test: its
# length is the guide's fixed number of conversations and turns.
# Writes load/results/conversation_results_TIMESTAMP.txt.
set -uo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

llmq_start jq curl

PROMPTS_FILE=${PROMPTS_FILE:-load/conversation_prompts.json}
jq -e '.conversation_types.short and .conversation_types.medium and .conversation_types.long' "$PROMPTS_FILE" >/dev/null 2>&1 ||
  llmq_die "$PROMPTS_FILE must hold conversation_types short, medium and long (see load/conversation_prompts.json)"
mkdir -p "$RESULTS_DIR"
RESULTS_FILE="$RESULTS_DIR/conversation_results_${TIMESTAMP}.txt"
WORK=$(mktemp -d)
trap 'llmq_stop_sampler; rm -rf "$WORK"' EXIT
TURNS_TSV="$WORK/turns.tsv" # type, conversation, turn, status, seconds, input tokens, output tokens, messages sent
CONVS_TSV="$WORK/convs.tsv" # type, conversation, model, turns done, turns planned, seconds, input, output, errors
ERRORS_TXT="$WORK/errors.txt"
: >"$TURNS_TSV"
: >"$CONVS_TSV"
: >"$ERRORS_TXT"

out() {
  printf '%s\n' "$*" | tee -a "$RESULTS_FILE"
}

SYSTEM_PROMPT=$(jq -r '.system_prompt // "You are a helpful assistant."' "$PROMPTS_FILE")
MAX_TOKENS=$(jq -r '.max_tokens // 300' "$PROMPTS_FILE")
mapfile -t MODELS < <(jq -r '.models[] | if type == "string" then . else .model end' "$PROMPTS_FILE")
[ "${#MODELS[@]}" -gt 0 ] || MODELS=(gpt-4)
if [ -n "${MODEL:-}" ]; then MODELS=("$MODEL"); fi
for m in "${MODELS[@]}"; do
  llmq_has_model "$m" || llmq_log "warning: GET /api/v1/models does not list $m as available; its turns will fail"
done

llmq_results_header "llmq conversation test results" "Prompts: $PROMPTS_FILE   Models: ${MODELS[*]}   max_tokens: $MAX_TOKENS" |
  tee "$RESULTS_FILE"

# run_conversation <type> <index within type> <model>
run_conversation() {
  local type=$1 n=$2 model=$3 history prompt turn=0 planned body resp kind
  local conv_in=0 conv_out=0 conv_errors=0 in_tok out_tok sent truncated t_conv
  history=$(jq -cn --arg s "$SYSTEM_PROMPT" '[{role: "system", content: $s}]')
  planned=$(jq -r --arg t "$type" '.conversation_types[$t].prompts | length' "$PROMPTS_FILE")
  out ""
  out "Conversation: $type #$n on $model ($planned turns)"
  t_conv=0
  while IFS= read -r prompt; do
    turn=$((turn + 1))
    history=$(jq -c --arg p "$prompt" '. + [{role: "user", content: $p}]' <<<"$history")
    body="$WORK/body.json"
    resp="$WORK/resp.json"
    jq -n --arg model "$model" --argjson messages "$history" --argjson max_tokens "$MAX_TOKENS" \
      '{model: $model, messages: $messages, max_tokens: $max_tokens}' >"$body"
    llmq_call /api/v1/conversation "$body" "$resp"
    t_conv=$(awk -v a="$t_conv" -v b="$LLMQ_TIME_S" 'BEGIN{printf "%.6f", a+b}')
    if [ "$LLMQ_STATUS" = 200 ]; then
      IFS=$'\t' read -r in_tok out_tok sent truncated < <(jq -r \
        '[.usage.input_tokens // 0, .usage.output_tokens // 0, .context.messages_sent // "n/a", .context.truncated // "n/a"] | @tsv' "$resp")
      conv_in=$((conv_in + in_tok))
      conv_out=$((conv_out + out_tok))
      # The reply joins the history: `message` for conversation answers, else `output`.
      history=$(jq -c --slurpfile r "$resp" \
        '. + [{role: "assistant", content: ($r[0] | (.message.content // .output // "") | if type == "string" then . else tojson end)}]' <<<"$history")
      out "  turn $turn/$planned: 200 in $(printf '%.3f' "$LLMQ_TIME_S")s, tokens in $in_tok out $out_tok, history $((turn * 2)) messages + system (sent $sent, truncated $truncated)"
      printf '%s\t%s\t%s\t200\t%s\t%s\t%s\n' "$type" "$n" "$turn" "$LLMQ_TIME_S" "$in_tok" "$out_tok" >>"$TURNS_TSV"
    else
      kind=$(llmq_error_kind "$LLMQ_STATUS" "$resp")
      conv_errors=$((conv_errors + 1))
      echo "$kind" >>"$ERRORS_TXT"
      printf '%s\t%s\t%s\t%s\t%s\t0\t0\n' "$type" "$n" "$turn" "$LLMQ_STATUS" "$LLMQ_TIME_S" >>"$TURNS_TSV"
      out "  turn $turn/$planned: $kind in $(printf '%.3f' "$LLMQ_TIME_S")s: $(head -c 300 "$resp" 2>/dev/null | tr '\n' ' ')"
      out "  conversation stopped: without a reply the history cannot grow"
      break
    fi
  done < <(jq -r --arg t "$type" '.conversation_types[$t].prompts[]' "$PROMPTS_FILE")
  out "  total: $turn/$planned turns in $(printf '%.3f' "$t_conv")s, tokens in $conv_in out $conv_out, errors $conv_errors"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$type" "$n" "$model" "$turn" "$planned" "$t_conv" "$conv_in" "$conv_out" "$conv_errors" >>"$CONVS_TSV"
}

llmq_res_begin
conv_index=0
for type in short medium long; do
  iterations=$(jq -r --arg t "$type" '.conversation_types[$t].iterations // empty' "$PROMPTS_FILE")
  case $type in short) iterations=${iterations:-3} ;; *) iterations=${iterations:-2} ;; esac
  out ""
  out "== $type conversations: $iterations iterations ($(jq -r --arg t "$type" '.conversation_types[$t].description // ""' "$PROMPTS_FILE"))"
  for ((i = 1; i <= iterations; i++)); do
    model=${MODELS[$((conv_index % ${#MODELS[@]}))]}
    conv_index=$((conv_index + 1))
    run_conversation "$type" "$i" "$model"
  done
done
llmq_res_end

out ""
out "Final metrics summary"
out "Type,Conversations,Turns,Avg Turn (s),P95 Turn (s),Max Turn (s),Avg Conversation (s),Input Tokens,Output Tokens,Errors"
for type in short medium long all; do
  row=$(awk -F'\t' -v t="$type" '
    ($1 == t || t == "all") { n++; s += $5; lat[n] = $5; if ($5 > mx) mx = $5; it += $6; ot += $7; if ($4 != 200) e++ }
    END {
      if (n == 0) { print "0,n/a,n/a,n/a," 0 "," 0 "," 0; exit }
      # p95 by nearest rank
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (lat[j] < lat[i]) { x = lat[i]; lat[i] = lat[j]; lat[j] = x }
      r = int(0.95 * n + 0.999999); if (r < 1) r = 1
      printf "%d,%.3f,%.3f,%.3f,%d,%d,%d", n, s / n, lat[r], mx, it, ot, e
    }' "$TURNS_TSV")
  convs=$(awk -F'\t' -v t="$type" '($1 == t || t == "all") { c++; d += $6 } END { if (c) printf "%d,%.3f", c, d / c; else printf "0,n/a" }' "$CONVS_TSV")
  # Columns: type, conversations, turns, avg, p95, max, avg conversation, tokens, errors
  IFS=, read -r turns avg p95 mx it ot e <<<"$row"
  IFS=, read -r c avgc <<<"$convs"
  out "$type,$c,$turns,$avg,$p95,$mx,$avgc,$it,$ot,$e"
done

out ""
out "Conversation durations"
out "Type,Conversation,Model,Turns,Planned Turns,Duration (s),Input Tokens,Output Tokens,Errors"
while IFS=$'\t' read -r type n model turns planned secs it ot e; do
  out "$type,$n,$model,$turns,$planned,$(printf '%.3f' "$secs"),$it,$ot,$e"
done <"$CONVS_TSV"

out ""
out "Errors by kind"
if [ -s "$ERRORS_TXT" ]; then
  sort "$ERRORS_TXT" | uniq -c | while read -r count kind; do out "  $kind: $count"; done
else
  out "  none"
fi

out ""
out "Final system metrics"
out "Resources over the whole test: $LLMQ_RES_LINE"
out "health: $(curl -sS -m 5 -H "X-API-Key: ${API_KEY}" "$BASE_URL/api/v1/health" 2>/dev/null | jq -c . 2>/dev/null || echo n/a)"
out "$(llmq_redis_info)"
echo
echo "Results saved to $RESULTS_FILE"
