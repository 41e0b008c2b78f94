import { afterEach, describe, expect, it } from "vitest";
import { SYNC_GROUP_ID_PREFIX, SYNC_GROUP_JOB, createLogger, type SyncGroupData } from "@llmq/shared";
import { createWorkerService, type WorkerService } from "../../worker/src/index.js";
import { eventually, startStack, unique, type Reply, type Stack } from "./helpers.js";

/**
 * Sync jobs of several requests (jobs/sync-groups.ts, the worker's sync-group.ts): sync requests that reach the
 * API while an add to their provider's queue is on its way share one BullMQ job, and each still answers, polls,
 * cancels, retries and waits as a job of its own.
 */
let s: Stack | undefined;
let extraWorker: WorkerService | undefined;
afterEach(async () => {
  await extraWorker?.close();
  extraWorker = undefined;
  await s?.close();
  s = undefined;
});

const GPT = "gpt-4o-mini";

function send(stack: Stack, prompt: string, wait = 10): Promise<Reply> {
  return stack.request(`/api/v1/unstructured?wait=${wait}`, { body: { model: GPT, prompt, max_tokens: 20 } });
}

/**
 * Holds this API's adds to the openai queue (the real adds, only later) until release(): the first request's add
 * is then on its way for as long as the test likes, and the requests after it gather behind it. Resolves once
 * `n` sync requests wait in the API (each registers its wait just before its add).
 */
async function gatherBehindFirst(stack: Stack, n: number, send: () => Promise<Reply>[]): Promise<{ replies: Promise<Reply>[]; heldAdds: number }> {
  const queue = stack.runtime.deps.queues.openai;
  const add = queue.add.bind(queue);
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let heldAdds = 0;
  queue.add = (async (...args: Parameters<typeof add>) => {
    heldAdds++;
    await gate;
    return add(...args);
  }) as typeof queue.add;
  const replies = send();
  try {
    await eventually(async () => (stack.runtime.deps.waiter.size >= n ? true : undefined));
  } finally {
    queue.add = add;
    open();
  }
  return { replies, heldAdds };
}

/**
 * Every sync job of several requests the openai queue holds in these states. A job that answered its requests may
 * still be active for a moment (its records and done messages go out before BullMQ hears it finished): ask for
 * `FINISHING` to see it either way.
 */
const FINISHING: ("completed" | "active")[] = ["completed", "active"];

async function groupJobs(stack: Stack, states: ("completed" | "waiting" | "active" | "failed")[]): Promise<{ id: string; members: string[] }[]> {
  const jobs = await stack.queue("openai").getJobs(states);
  return jobs.filter((j) => j.name === SYNC_GROUP_JOB).map((j) => ({ id: String(j.id), members: (j.data as SyncGroupData).members.map((m) => m.id) }));
}

describe("sync requests arriving together", () => {
  it("share BullMQ jobs, and each answers as a job of its own: retried, paced and failed alone, one provider call per attempt", async () => {
    s = await startStack("sync-groups", { env: { JOB_BACKOFF_MS: "50" } });
    const plain = Array.from({ length: 24 }, (_, i) => unique(`plain ${i}`));
    const retried = [0, 1, 2].map((i) => unique(`[[sim:500x1]] retried ${i}`));
    const paced = [0, 1].map((i) => unique(`[[sim:429@200ms]] paced ${i}`));
    const refused = [0, 1].map((i) => unique(`[[sim:400]] refused ${i}`));
    const all = [...plain, ...retried, ...paced, ...refused];
    const gathered = await gatherBehindFirst(s, all.length, () => all.map((p) => send(s!, p)));
    // While the first add was on its way, the first 16 behind it made a full job, which went at once.
    expect(gathered.heldAdds).toBe(2);
    const replies = await Promise.all(gathered.replies);

    const byPrompt = new Map(all.map((p, i) => [p, replies[i] as Reply]));
    for (const p of plain) {
      const r = byPrompt.get(p) as Reply;
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ type: "unstructured", attempts: 1 });
      expect(typeof r.body.output).toBe("string");
    }
    for (const p of retried) expect([byPrompt.get(p)?.status, byPrompt.get(p)?.body.attempts]).toEqual([200, 2]);
    for (const p of paced) expect([byPrompt.get(p)?.status, byPrompt.get(p)?.body.attempts]).toEqual([200, 1]);
    for (const p of refused) {
      expect(byPrompt.get(p)?.status).toBe(502);
      expect(byPrompt.get(p)?.body.error.code).toBe("PROVIDER_ERROR");
    }
    // Every request has its own id and its own record, which polling returns.
    const ids = replies.map((r) => (r.body.id ?? r.body.error?.details?.job_id) as string);
    expect(new Set(ids).size).toBe(all.length);
    for (const id of ids) expect((await s.record(id))?.id).toBe(id);

    // The first went alone; the 30 that arrived while its add was on its way went as jobs of 16 and 14.
    const groups = await groupJobs(s, FINISHING);
    expect(groups.map((g) => g.members.length).sort((a, b) => b - a)).toEqual([16, all.length - 17]);
    expect(groups.every((g) => g.id.startsWith(SYNC_GROUP_ID_PREFIX))).toBe(true);
    const grouped = groups.flatMap((g) => g.members);
    expect(new Set(grouped).size).toBe(grouped.length);
    expect(grouped.every((id) => ids.includes(id))).toBe(true);
    // One provider call per attempt: the plain ones once, the retried twice, the paced once past their 429.
    expect(await s.providerCalls()).toBe(plain.length + 2 * retried.length + 2 * paced.length + refused.length);
    // The index of grouped requests is emptied as their jobs finish.
    await eventually(async () => ((await s!.redis.hlen(s!.keys.syncGrouped())) === 0 ? true : undefined));
  });

  it("never has more provider calls in flight than the provider's concurrency: a request waits for a call permit before its timeout starts", async () => {
    // 2 calls at a time, 300 ms each, a 1 s timeout: requests waiting behind the first calls inside the HTTP
    // client would time out and be retried (attempts 2); waiting for a permit first, each makes one call.
    s = await startStack("sync-groups-permits", { env: { WORKER_CONCURRENCY: "2", PROVIDER_TIMEOUT_MS: "1000" }, sim: { latencyMs: 300 } });
    const replies = await Promise.all((await gatherBehindFirst(s, 10, () => Array.from({ length: 10 }, (_, i) => send(s!, unique(`permit ${i}`))))).replies);
    for (const r of replies) expect([r.status, r.body.attempts], r.text).toEqual([200, 1]);
    // Nine of them shared one job: nine calls side by side in one slot, beside the first request's own.
    expect((await groupJobs(s, FINISHING)).map((g) => g.members.length)).toEqual([9]);
    expect(await s.providerCalls()).toBe(10);
  });

  it("with SYNC_JOB_REQUESTS=1 every request is a job of its own", async () => {
    s = await startStack("sync-groups-off", { env: { SYNC_JOB_REQUESTS: "1" } });
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => send(s!, unique(`alone ${i}`))));
    expect(replies.every((r) => r.status === 200)).toBe(true);
    expect(await groupJobs(s, FINISHING)).toEqual([]);
    const own = await s.queue("openai").getJobs(FINISHING);
    expect(own.map((j) => String(j.id)).sort()).toEqual(replies.map((r) => r.body.id as string).sort());
  });
});

describe("a request of a queued sync job", () => {
  it("polls as queued under its own id and type, can be cancelled (its waiter answers 409), and the worker runs the others and not it", async () => {
    s = await startStack("sync-groups-cancel", { worker: false });
    const prompts = Array.from({ length: 8 }, (_, i) => unique(`queued ${i}`));
    const { replies: pending, heldAdds } = await gatherBehindFirst(s, prompts.length, () => prompts.map((p) => send(s!, p, 20)));
    expect(heldAdds).toBe(1);
    const group = await eventually(async () => (await groupJobs(s!, ["waiting"]))[0]);
    expect(group.members).toHaveLength(prompts.length - 1);
    const [victim, other, ...rest] = group.members as [string, string, ...string[]];
    const others = [other, ...rest];

    const polled = await s.request(`/api/v1/jobs/${victim}`);
    expect(polled.status).toBe(200);
    expect(polled.body).toMatchObject({ id: victim, type: "unstructured", status: "queued", attempts: 0 });
    // Another key cannot see it.
    expect((await s.request(`/api/v1/jobs/${victim}`, { as: "bob" })).status).toBe(404);

    const del = await s.request(`/api/v1/jobs/${victim}`, { method: "DELETE" });
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ id: victim, status: "cancelled" });
    expect(await s.redis.hget(s.keys.syncGrouped(), victim)).toBeNull();
    expect(await s.redis.hget(s.keys.syncGrouped(), other)).not.toBeNull();

    extraWorker = createWorkerService({ config: s.config, logger: createLogger({ service: "worker", level: "silent" }) });
    await extraWorker.start();
    const replies = await Promise.all(pending);
    const cancelled = replies.filter((r) => r.status === 409);
    expect(cancelled).toHaveLength(1);
    expect(cancelled[0]?.body.error).toMatchObject({ code: "JOB_CANCELLED", details: { job_id: victim } });
    expect(replies.filter((r) => r.status === 200)).toHaveLength(prompts.length - 1);
    for (const id of others) expect((await s.record(id))?.status).toBe("completed");
    expect((await s.record(victim))?.status).toBe("cancelled");
    // The cancelled request never reached the provider.
    expect(await s.providerCalls()).toBe(prompts.length - 1);
    // Cancelling a request whose shared job already ran is refused like any finished job.
    expect((await s.request(`/api/v1/jobs/${other}`, { method: "DELETE" })).status).toBe(409);
  });
});
