import { AppError, type ChatMessage, type SchemaIssue, type Usage } from "@llmq/shared";
import { fitContext } from "../context/fit-context.js";
import type { ProviderResponse } from "../providers/types.js";
import { fromObjectRoot } from "../structured/object-root.js";
import { parseJsonOutput } from "../structured/parse-output.js";
import { joinSystem, repairTurns } from "../structured/prompts.js";
import { stripIntroducedNulls } from "../structured/strict-schema.js";
import type { StructuredPlan } from "../structured/structured-plan.js";
import { addUsage, callProvider, maxTokensFor, ZERO_USAGE } from "./call-provider.js";
import type { Processor, ProcessorContext } from "./types.js";

export const DEFAULT_STRUCTURED_MAX_TOKENS = 4096;

type Checked = { ok: true; value: unknown } | { ok: false; errors: SchemaIssue[] };

/**
 * An answer valid against the client's schema, or OUTPUT_SCHEMA_MISMATCH. Every answer is validated by the
 * SchemaGuard against the ORIGINAL schema, whatever the provider promised. A failed answer is sent back with
 * its validation errors, up to STRUCTURED_MAX_REPAIRS times; that failure is final, not a BullMQ retry.
 */
export const processStructured: Processor<"structured"> = async (ctx) => {
  const { payload, model, guard, config } = ctx;
  let validateMs = 0;
  const t0 = performance.now();
  // Checking first: a schema the guard refuses fails the job before any provider call. A schema seen for the
  // first time is interpreted, not compiled (schema-guard.ts).
  const validate = guard.outputCheck(payload.schema, payload.schema_hash);
  validateMs += performance.now() - t0;

  const plan = ctx.plans.get(model.structured, payload.schema, payload.schema_hash);
  const maxTokens = maxTokensFor(payload.max_tokens, model.max_output_tokens, DEFAULT_STRUCTURED_MAX_TOKENS);
  const system = joinSystem(payload.system, plan.instructions);
  fitContext(payload.messages, { contextWindow: model.context_window, maxTokens, tokenizer: model.tokenizer, system, truncate: false });

  const messages: ChatMessage[] = [...payload.messages];
  const maxRepairs = config.jobs.structuredMaxRepairs;
  let usage: Usage = ZERO_USAGE;
  let providerMs = 0;
  for (let repairs = 0; ; repairs++) {
    const { res, ms } = await callProvider(ctx, {
      model: model.upstream,
      ...(system === undefined ? {} : { system }),
      messages,
      maxTokens,
      ...(payload.temperature === undefined ? {} : { temperature: payload.temperature }),
      output: plan.output,
    });
    usage = addUsage(usage, res.usage);
    providerMs += ms;

    const t1 = performance.now();
    const checked = checkOutput(res.content, plan, payload.schema, validate);
    validateMs += performance.now() - t1;
    if (checked.ok) {
      ctx.metrics.repairs({ provider: ctx.adapter.name, model: model.id, count: repairs });
      return { fields: { output: checked.value }, finishReason: res.finishReason, usage, repairs, providerMs, validateMs };
    }
    if (repairs >= maxRepairs) {
      ctx.metrics.repairs({ provider: ctx.adapter.name, model: model.id, count: repairs });
      throw schemaMismatch(checked.errors, res, repairs);
    }
    messages.push(...repairTurns(res.content, checked.errors, plan.output));
  }
};

/** Parses, unwraps and validates one answer against the client's original schema. */
export function checkOutput(raw: string, plan: StructuredPlan, schema: ProcessorContext<"structured">["payload"]["schema"], validate: (v: unknown) => SchemaIssue[]): Checked {
  const parsed = parseJsonOutput(raw);
  if (!parsed.ok) return parsed;
  let value = fromObjectRoot(parsed.value, plan.wrapKey);
  // Only nulls are stripped, and an answer whose text never says "null" has none: most answers skip the walk.
  if (plan.strict && raw.includes("null")) value = stripIntroducedNulls(value, schema);
  const errors = validate(value);
  return errors.length === 0 ? { ok: true, value } : { ok: false, errors };
}

/** The final failure of an answer that stayed invalid through every repair turn. */
export function schemaMismatch(errors: SchemaIssue[], res: ProviderResponse, repairs: number): AppError {
  return new AppError("OUTPUT_SCHEMA_MISMATCH", `the model's output did not match the schema after ${repairs} repair attempt${repairs === 1 ? "" : "s"}`, {
    details: { errors, raw_output: res.content, repairs, finish_reason: res.finishReason },
  });
}
