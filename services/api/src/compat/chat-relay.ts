import type { Response } from "express";
import { AppError, decodeStreamDelta, type ChatResult, type ErrorBody, type StreamDelta } from "@llmq/shared";
import { EventWriter } from "./anthropic-render.js";
import { compatErrorBody, type Dialect } from "./compat-errors.js";
import { ChunkWriter } from "./openai-render.js";
import type { StreamEntry, StreamReader } from "./stream-reader.js";

/**
 * Relays one streamed chat job to its client as server-sent events, in OpenAI's chunk format or Anthropic's
 * event format. Invariants:
 * - pieces are relayed as the worker writes them (the stream is read from its start, so nothing written
 *   before the relay began is missed), each event carrying its stream entry id, so a client can resume;
 * - the job's final record ends every stream: what the stream missed is sent from it, then the finish
 *   reason and usage (OpenAI) or message_delta and message_stop (Anthropic); a failed job ends in an error
 *   event in the dialect's shape, never in a silently short answer;
 * - a retried attempt streams again from its start: pieces the client already has are not sent twice. If
 *   the new attempt's answer differs from what was sent, the stream ends in an error (the job's answer is
 *   still in its record, at GET /v1/chat/completions/{id}).
 */
export interface FinalOutcome {
  status: "completed" | "failed" | "cancelled";
  result?: ChatResult | undefined;
  error?: ErrorBody | undefined;
}

const HEARTBEAT_MS = 15_000;

export class ChatRelay {
  private began = false;
  private stopReading: (() => void) | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private key = "";
  private lastId = "0";
  private attempt = 0;
  private sentText = "";
  private attemptText = "";
  private readonly sentArgs = new Map<number, string>();
  private readonly attemptArgs = new Map<number, string>();
  private diverged = false;
  private silent = false;
  private openai: ChunkWriter | undefined;
  private anthropic: EventWriter | undefined;

  constructor(
    private readonly dialect: Dialect,
    private readonly res: Response,
    private readonly reader: StreamReader,
    private readonly requestId: string,
    private readonly includeUsage: boolean,
  ) {}

  get begun(): boolean {
    return this.began;
  }

  /**
   * Sends the headers and the opening event, and starts reading the job's stream after `fromId`. A resumed
   * stream passes the entries up to `fromId` as `seen`: the client has them, and the end is checked against them.
   */
  begin(jobId: string, model: string, streamKey: string, createdMs: number, fromId = "0", seen: StreamEntry[] = []): void {
    if (this.began) return;
    this.began = true;
    this.key = streamKey;
    this.lastId = fromId;
    this.silent = true;
    this.relay(seen);
    this.silent = false;
    this.lastId = fromId;
    const res = this.res;
    res.status(200);
    res.setHeader("Content-Type", "text/event-stream; charset=utf-8");
    res.setHeader("Cache-Control", "no-cache");
    res.setHeader("Connection", "keep-alive");
    res.setHeader("X-Accel-Buffering", "no");
    res.setHeader("llmq-job-id", jobId);
    res.flushHeaders();
    if (this.dialect === "openai") {
      this.openai = new ChunkWriter(jobId, model, createdMs);
      if (fromId === "0") this.send(this.openai.role());
    } else {
      this.anthropic = new EventWriter(jobId, model);
      if (fromId === "0") for (const e of this.anthropic.start()) this.sendEvent(e.event, e.data);
    }
    this.heartbeat = setInterval(() => this.write(": ping\n\n"), HEARTBEAT_MS);
    this.heartbeat.unref();
    this.stopReading = this.reader.read(streamKey, fromId, (entries) => this.relay(entries));
    res.once("close", () => this.stop());
  }

  /** Ends the stream from the job's final outcome (or a wait that ran out). */
  async finish(outcome: FinalOutcome | { timeout: string }): Promise<void> {
    this.stopReading?.();
    this.stopReading = undefined;
    if (!this.res.writableEnded && !this.res.destroyed) {
      const rest = await this.reader.rest(this.key, this.lastId).catch(() => [] as StreamEntry[]);
      this.relay(rest);
      if ("timeout" in outcome) this.fail(new AppError("RESULT_TIMEOUT", outcome.timeout));
      else if (outcome.status === "completed" && outcome.result !== undefined) this.complete(outcome.result);
      else this.fail(outcome.error === undefined ? new AppError("JOB_CANCELLED", "the job was cancelled") : AppError.fromBody(outcome.error));
    }
    this.stop();
  }

  /** Ends the stream with an error event (after the headers went out). */
  fail(err: AppError): void {
    if (this.res.writableEnded || this.res.destroyed) return;
    const body = compatErrorBody(this.dialect, err, this.requestId);
    if (this.dialect === "openai") this.write(`data: ${JSON.stringify(body)}\n\n`);
    else this.sendEvent("error", body);
    this.stop();
  }

  private stop(): void {
    this.stopReading?.();
    this.stopReading = undefined;
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    if (!this.res.writableEnded) this.res.end();
  }

  private relay(entries: StreamEntry[]): void {
    for (const [id, fields] of entries) {
      this.lastId = id;
      const decoded = decodeStreamDelta(fields);
      if (decoded === undefined || this.diverged) continue;
      if (decoded.attempt !== this.attempt) {
        this.attempt = decoded.attempt;
        this.attemptText = "";
        this.attemptArgs.clear();
      }
      this.piece(decoded.delta, id);
    }
  }

  /** Sends the part of a piece the client does not have yet. */
  private piece(d: StreamDelta, id: string): void {
    if ("text" in d) {
      const next = this.attemptText + d.text;
      this.attemptText = next;
      const fresh = this.overlap(this.sentText, next);
      if (fresh === undefined) return this.diverge();
      if (fresh === "") return;
      this.sentText += fresh;
      this.emitText(fresh, id);
      return;
    }
    const t = d.tool;
    const next = (this.attemptArgs.get(t.index) ?? "") + t.args;
    this.attemptArgs.set(t.index, next);
    const sent = this.sentArgs.get(t.index);
    if (sent === undefined) {
      this.sentArgs.set(t.index, next);
      this.emitTool(t.index, next, id, t.id, t.name);
      return;
    }
    const fresh = this.overlap(sent, next);
    if (fresh === undefined) return this.diverge();
    if (fresh === "") return;
    this.sentArgs.set(t.index, sent + fresh);
    this.emitTool(t.index, fresh, id);
  }

  /** What `next` adds to `sent`, "" when `sent` already covers it, undefined when they disagree. */
  private overlap(sent: string, next: string): string | undefined {
    if (next.length <= sent.length) return sent.startsWith(next) ? "" : undefined;
    return next.startsWith(sent) ? next.slice(sent.length) : undefined;
  }

  private diverge(): void {
    this.diverged = true;
  }

  private complete(result: ChatResult): void {
    const m = result.message;
    const content = m.content ?? "";
    if (this.diverged || !content.startsWith(this.sentText)) {
      this.fail(new AppError("PROVIDER_ERROR", `the answer was restarted after a provider failure and differs from what was streamed; the whole answer is at GET /v1/chat/completions/chatcmpl-${result.id}`, { details: { job_id: result.id } }));
      return;
    }
    if (content.length > this.sentText.length) this.emitText(content.slice(this.sentText.length));
    (m.tool_calls ?? []).forEach((c, index) => {
      const sent = this.sentArgs.get(index);
      if (sent === undefined) this.emitTool(index, c.arguments, undefined, c.id, c.name);
      else if (c.arguments.startsWith(sent) && c.arguments.length > sent.length) this.emitTool(index, c.arguments.slice(sent.length));
    });
    if (this.openai !== undefined) {
      this.send(this.openai.finish(result.finish_reason));
      if (this.includeUsage) this.send(this.openai.usage(result.usage));
      this.write("data: [DONE]\n\n");
    } else if (this.anthropic !== undefined) {
      for (const e of this.anthropic.end(result.finish_reason, result.usage)) this.sendEvent(e.event, e.data);
    }
  }

  private emitText(text: string, id?: string): void {
    if (this.openai !== undefined) this.send(this.openai.text(text), id);
    else for (const e of this.anthropic?.text(text) ?? []) this.sendEvent(e.event, e.data, id);
  }

  private emitTool(index: number, args: string, id?: string, callId?: string, name?: string): void {
    if (this.openai !== undefined) this.send(this.openai.tool(index, args, callId, name), id);
    else for (const e of this.anthropic?.tool(index, args, callId, name) ?? []) this.sendEvent(e.event, e.data, id);
  }

  private send(chunk: Record<string, unknown>, id?: string): void {
    this.write(`${id === undefined ? "" : `id: ${id}\n`}data: ${JSON.stringify(chunk)}\n\n`);
  }

  private sendEvent(event: string, data: Record<string, unknown>, id?: string): void {
    this.write(`${id === undefined ? "" : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private write(text: string): void {
    if (this.silent) return;
    if (!this.res.writableEnded && !this.res.destroyed) this.res.write(text);
  }
}
