import { hashJson, turnsAsMessages, type ChatResultFields, type ChatTurn, type Usage } from "@llmq/shared";
import { fitContext } from "../context/fit-context.js";
import type { ProviderRequest, ProviderResponse } from "../providers/types.js";
import { joinSystem, repairTurns } from "../structured/prompts.js";
import { planStructured, type StructuredPlan } from "../structured/structured-plan.js";
import { addUsage, callProvider, maxTokensFor, ZERO_USAGE } from "./call-provider.js";
import { DEFAULT_STRUCTURED_MAX_TOKENS, checkOutput, schemaMismatch } from "./structured.js";
import type { Processor, ProcessorContext } from "./types.js";
import { DEFAULT_TEXT_MAX_TOKENS } from "./unstructured.js";

/**
 * The `chat` job of the OpenAI- and Anthropic-compatible routes. Invariants:
 * - the client's tools and tool turns reach the provider as they were sent; tool calls come back as calls;
 * - a JSON format (json_schema, json_object) gets the structured path's guarantees: an answer in text is
 *   validated against the ORIGINAL schema and repaired up to STRUCTURED_MAX_REPAIRS times, then fails with
 *   OUTPUT_SCHEMA_MISMATCH; an answer that calls a tool instead is returned as the call;
 * - a streamed text answer is written piece by piece to the job's stream; a JSON answer is not streamed
 *   from the provider (a repair would take back what was sent): the API sends it once validated.
 */
const JSON_OBJECT_SCHEMA = { type: "object" } as const;
const JSON_OBJECT_HASH = hashJson(JSON_OBJECT_SCHEMA);

export const processChat: Processor<"chat"> = async (ctx) => {
  const { payload, model, guard } = ctx;
  const format = payload.format ?? { type: "text" };
  const json = format.type === "text" ? undefined : format.type === "json_object" ? { schema: JSON_OBJECT_SCHEMA, hash: JSON_OBJECT_HASH } : { schema: format.schema, hash: format.schema_hash };
  const maxTokens = maxTokensFor(payload.max_tokens, model.max_output_tokens, json === undefined ? DEFAULT_TEXT_MAX_TOKENS : DEFAULT_STRUCTURED_MAX_TOKENS);

  let validateMs = 0;
  const t0 = performance.now();
  const validate = json === undefined ? undefined : guard.outputCheck(json.schema, json.hash);
  const plan = json === undefined ? undefined : planFor(ctx, json.schema, json.hash);
  validateMs += performance.now() - t0;

  const system = plan?.instructions;
  fitContext(turnsAsMessages(payload.messages), { contextWindow: model.context_window, maxTokens, tokenizer: model.tokenizer, system, truncate: false });
  const messages: ChatTurn[] = [...payload.messages];
  const base: Omit<ProviderRequest, "messages"> = {
    model: model.upstream,
    ...(system === undefined ? {} : { system }),
    maxTokens,
    ...(payload.temperature === undefined ? {} : { temperature: payload.temperature }),
    ...(payload.top_p === undefined ? {} : { topP: payload.top_p }),
    ...(payload.stop === undefined ? {} : { stop: payload.stop }),
    ...(payload.tools === undefined ? {} : { tools: payload.tools }),
    ...(payload.tool_choice === undefined ? {} : { toolChoice: payload.tool_choice }),
    output: plan?.output ?? { kind: "text" },
  };

  let usage: Usage = ZERO_USAGE;
  let providerMs = 0;
  for (let repairs = 0; ; repairs++) {
    const { res, ms } = await callProvider(ctx, { ...base, messages }, plan === undefined ? ctx.stream : undefined);
    usage = addUsage(usage, res.usage);
    providerMs += ms;
    if (plan === undefined || validate === undefined || res.toolCalls !== undefined) {
      return { fields: fieldsOf(res, res.content), finishReason: res.finishReason, usage, repairs, providerMs, validateMs };
    }
    const t1 = performance.now();
    const checked = checkOutput(res.content, plan, json?.schema ?? true, validate);
    validateMs += performance.now() - t1;
    if (checked.ok) {
      ctx.metrics.repairs({ provider: ctx.adapter.name, model: model.id, count: repairs });
      return { fields: fieldsOf(res, checked.value), finishReason: res.finishReason, usage, repairs, providerMs, validateMs };
    }
    if (repairs >= ctx.config.jobs.structuredMaxRepairs) {
      ctx.metrics.repairs({ provider: ctx.adapter.name, model: model.id, count: repairs });
      throw schemaMismatch(checked.errors, res, repairs);
    }
    messages.push(...repairTurns(res.content, checked.errors, plan.output));
  }
};

/**
 * The model's structured mode, except that a forced tool cannot share the request with the client's own
 * tools: then JSON mode with the schema in the instructions.
 */
function planFor(ctx: ProcessorContext<"chat">, schema: Record<string, unknown> | boolean, hash: string): StructuredPlan {
  const hasTools = (ctx.payload.tools?.length ?? 0) > 0;
  if (hasTools && ctx.model.structured === "tool") return planStructured("json_object", schema);
  return ctx.plans.get(ctx.model.structured, schema, hash);
}

/** The result's fields: a tool-calling answer without text has `content: null` (and `output: null`), as both APIs show it. */
function fieldsOf(res: ProviderResponse, output: unknown): ChatResultFields {
  const content = typeof output === "string" ? output : JSON.stringify(output);
  if (res.toolCalls === undefined) return { output, message: { role: "assistant", content } };
  const text = content === "" ? null : content;
  return { output: output === "" ? null : output, message: { role: "assistant", content: text, tool_calls: res.toolCalls } };
}


