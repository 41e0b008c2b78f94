// Renders an Answer as OpenAI's (or Groq's) Chat Completions wire format: a `chat.completion`
// object, or `chat.completion.chunk` SSE lines ending with `data: [DONE]`.
// Stream chunks are assembled from precomputed string prefixes instead of JSON.stringify per
// chunk: a long answer is hundreds of chunks, and this runs inside the benchmark ceiling.
// https://platform.openai.com/docs/api-reference/chat/object
// https://console.groq.com/docs/api-reference#chat-create (same shape, plus `x_groq`)
import type { Answer } from "./answer.js";
import type { SimRequest } from "./sim-request.js";
import { splitPieces, type StreamPiece } from "./stream-pieces.js";

export interface WireMeta {
  id: string;
  created: number;
  model: string;
  fingerprint: string;
  /** Groq's own request id (`x_groq.id`); undefined for OpenAI. */
  groqId: string | undefined;
  toolCallId: string;
}

function finishReason(answer: Answer, req: SimRequest): string {
  if (answer.kind === "text") return answer.finish;
  // OpenAI answers a call forced by name with "stop", and "tool_calls" when the model chose.
  return req.provider === "openai" && req.mode.type === "tool" && req.mode.forcedByName ? "stop" : "tool_calls";
}

export function usageOf(req: SimRequest, answer: Answer): Record<string, unknown> {
  const prompt = req.promptTokens;
  const completion = answer.outputTokens;
  if (req.provider === "groq") {
    // Groq reports timings; these are derived from the counts so they stay deterministic.
    const promptTime = prompt / 20_000;
    const completionTime = completion / 800;
    return {
      queue_time: 0.0001, prompt_tokens: prompt, prompt_time: promptTime, completion_tokens: completion,
      completion_time: completionTime, total_tokens: prompt + completion, total_time: promptTime + completionTime,
    };
  }
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

function message(answer: Answer, meta: WireMeta, groq: boolean): Record<string, unknown> {
  const extra = groq ? {} : { refusal: null, annotations: [] };
  if (answer.kind === "text") return { role: "assistant", content: answer.text, ...extra };
  return {
    role: "assistant",
    content: null,
    ...extra,
    tool_calls: [{ id: meta.toolCallId, type: "function", function: { name: answer.name, arguments: answer.args } }],
  };
}

export function chatCompletion(req: SimRequest, answer: Answer, meta: WireMeta): Record<string, unknown> {
  const groq = meta.groqId !== undefined;
  const body: Record<string, unknown> = {
    id: meta.id,
    object: "chat.completion",
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, message: message(answer, meta, groq), logprobs: null, finish_reason: finishReason(answer, req) }],
    usage: usageOf(req, answer),
    system_fingerprint: meta.fingerprint,
  };
  if (groq) body.x_groq = { id: meta.groqId };
  else body.service_tier = "default";
  return body;
}

export function chatCompletionChunks(req: SimRequest, answer: Answer, meta: WireMeta): StreamPiece[] {
  const groq = meta.groqId !== undefined;
  const usageNull = req.includeUsage ? ',"usage":null' : "";
  const head = `data: {"id":${JSON.stringify(meta.id)},"object":"chat.completion.chunk","created":${meta.created},"model":${JSON.stringify(meta.model)},"system_fingerprint":${JSON.stringify(meta.fingerprint)},"choices":[{"index":0,"delta":`;
  const tail = (finish: string | null, xGroq?: unknown): string =>
    `,"logprobs":null,"finish_reason":${finish === null ? "null" : JSON.stringify(finish)}}]${usageNull}${xGroq === undefined ? "" : `,"x_groq":${JSON.stringify(xGroq)}`}}\n\n`;
  const pieces: StreamPiece[] = [];
  const firstGroq = groq ? { id: meta.groqId } : undefined;
  if (answer.kind === "text") {
    const role = groq ? '{"role":"assistant","content":""}' : '{"role":"assistant","content":"","refusal":null}';
    pieces.push({ data: head + role + tail(null, firstGroq), tokens: 0 });
    for (const piece of splitPieces(answer.text)) {
      pieces.push({ data: `${head}{"content":${JSON.stringify(piece)}}${tail(null)}`, tokens: piece.length / 4 });
    }
  } else {
    const call = { index: 0, id: meta.toolCallId, type: "function", function: { name: answer.name, arguments: "" } };
    const role = `{"role":"assistant","content":null,"tool_calls":[${JSON.stringify(call)}]}`;
    pieces.push({ data: head + role + tail(null, firstGroq), tokens: 0 });
    for (const piece of splitPieces(answer.args)) {
      const delta = `{"tool_calls":[{"index":0,"function":{"arguments":${JSON.stringify(piece)}}}]}`;
      pieces.push({ data: head + delta + tail(null), tokens: piece.length / 4 });
    }
  }
  const usage = usageOf(req, answer);
  pieces.push({ data: head + "{}" + tail(finishReason(answer, req), groq ? { id: meta.groqId, usage } : undefined), tokens: 0 });
  if (req.includeUsage) {
    const chunk = { id: meta.id, object: "chat.completion.chunk", created: meta.created, model: meta.model, system_fingerprint: meta.fingerprint, choices: [], usage };
    pieces.push({ data: `data: ${JSON.stringify(chunk)}\n\n`, tokens: 0 });
  }
  pieces.push({ data: "data: [DONE]\n\n", tokens: 0 });
  return pieces;
}
