import { afterEach, describe, expect, it } from "vitest";
import { GUIDE, appRoutes, eventually, startStack, type Stack } from "./helpers.js";

let s: Stack | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const SAMPLE_ID = "00000000-0000-4000-8000-000000000000";

describe("auth: every /api/v1 route needs a key", () => {
  it("no key and a wrong key are 401 on every route but health; nothing is enqueued", async () => {
    s = await startStack("auth401", { worker: false });
    const routes = appRoutes(s.app).filter((r) => r.path.startsWith("/api/v1/") && r.path !== "/api/v1/health");
    expect(routes.length).toBeGreaterThanOrEqual(10);
    for (const { method, path } of routes) {
      const url = path.replace(/:[a-z_]+/g, SAMPLE_ID);
      const body = method === "POST" ? GUIDE.unstructured : undefined;
      for (const as of [null, { raw: "not-a-key" }, { bearer: "not-a-key" }] as const) {
        const r = await s.request(url, { method, as, ...(body && { body }) });
        expect(r.status, `${method} ${path} as ${JSON.stringify(as)}`).toBe(401);
        expect(r.body.error.code).toBe("UNAUTHORIZED");
        expect(r.headers.get("www-authenticate")).toMatch(/^Bearer/);
      }
    }
    expect(await s.queue("groq").count()).toBe(0);
  });

  it("Authorization: Bearer works like X-API-Key", async () => {
    s = await startStack("bearer", { worker: false });
    const r = await s.request("/api/v1/models", { as: { bearer: "alice-secret-key" } });
    expect(r.status).toBe(200);
  });

  it("health answers without a key; a wrong key on it is still a 401", async () => {
    s = await startStack("authhealth", { worker: false });
    expect((await s.request("/api/v1/health", { as: null })).status).toBe(200);
    expect((await s.request("/api/v1/health", { as: { raw: "nope" } })).status).toBe(401);
  });
});

describe("ownership: a key sees only its own jobs and schemas", () => {
  it("another key's job is a 404 exactly like a missing one, for GET and DELETE; the job is untouched", async () => {
    s = await startStack("owner", { worker: false });
    const mine = await s.request("/api/v1/unstructured?async=true", { body: { model: "gpt-4", prompt: "alice's" } });
    expect(mine.status).toBe(202);
    const id: string = mine.body.id;

    const peek = await s.request(`/api/v1/jobs/${id}`, { as: "bob" });
    const missing = await s.request(`/api/v1/jobs/${SAMPLE_ID}`, { as: "bob" });
    expect(peek.status).toBe(404);
    expect(Object.keys(peek.body.error).sort()).toEqual(Object.keys(missing.body.error).sort());
    expect(peek.body.error.code).toBe(missing.body.error.code);
    expect(peek.body.error.message.replace(id, "ID")).toBe(missing.body.error.message.replace(SAMPLE_ID, "ID"));

    expect((await s.request(`/api/v1/jobs/${id}`, { as: "bob", method: "DELETE" })).status).toBe(404);
    expect(await s.record(id)).toBeNull();
    expect(await s.queue("openai").getJobState(id)).toBe("waiting");
    expect((await s.request(`/api/v1/jobs/${id}`)).body.status).toBe("queued");
  });

  it("a finished job stays its owner's: bob gets 404 for alice's completed job", async () => {
    s = await startStack("ownerdone");
    const r = await s.request("/api/v1/unstructured", { body: { model: "claude-2", prompt: "done" } });
    expect(r.status).toBe(200);
    await eventually(async () => ((await s!.record(r.body.id)) ? true : undefined));
    expect((await s.request(`/api/v1/jobs/${r.body.id}`, { as: "bob" })).status).toBe(404);
    expect((await s.request(`/api/v1/jobs/${r.body.id}`)).status).toBe(200);
  });

  it("another key's schema is a 404, and its id cannot be used as schema_id", async () => {
    s = await startStack("ownerschema", { worker: false });
    const reg = await s.request("/api/v1/schemas", { body: { schema: GUIDE.simple.schema } });
    expect(reg.status).toBe(201);
    expect((await s.request(`/api/v1/schemas/${reg.body.id}`, { as: "bob" })).status).toBe(404);
    const use = await s.request("/api/v1/structured?async=true", { as: "bob", body: { model: "gpt-4", prompt: "x", schema_id: reg.body.id } });
    expect(use.status).toBe(400);
    expect(use.body.error.details.errors[0].path).toBe("/schema_id");
    expect(await s.queue("openai").count()).toBe(0);
  });

  it("job ids are random UUID v4s, never counters", async () => {
    s = await startStack("ids", { worker: false });
    const a = await s.request("/api/v1/unstructured?async=true", { body: { model: "gpt-4", prompt: "1" } });
    const b = await s.request("/api/v1/unstructured?async=true", { body: { model: "gpt-4", prompt: "2" } });
    for (const id of [a.body.id, b.body.id]) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a.body.id).not.toBe(b.body.id);
  });
});
