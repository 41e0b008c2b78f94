import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { QUEUE_NAMES } from "@llmq/shared";
import { startStack, type Stack } from "../../services/api/test/helpers.js";

/**
 * bull-board at /admin/queues, behind HTTP Basic auth with ADMIN_API_KEY as the password, seen in a real
 * headless Chromium (Debian's package; .ci/run installs it; Playwright never downloads a browser here).
 */
const CHROMIUM = "/usr/bin/chromium";
const ADMIN_KEY = "admin-secret-for-ops";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`[admin-dashboard] ${CHROMIUM} is missing: the browser test is skipped (apt-get install -y chromium; .ci/run does it)`);

let s: Stack | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

/** The first response to a navigation (Chromium may end a 401 navigation with an error instead of a page). */
async function visit(page: Page, url: string): Promise<{ status: number; challenge: string | undefined; navigationError: string | undefined }> {
  const first = page.waitForResponse((r) => r.url() === url);
  const navigationError = await page.goto(url).then(
    () => undefined,
    (err: Error) => err.message,
  );
  const res = await first;
  return { status: res.status(), challenge: res.headers()["www-authenticate"], navigationError };
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
}

describe("/admin/queues over HTTP", () => {
  it("is 401 with a Basic challenge without credentials or with a wrong password, and the board with the right one (any user name)", async () => {
    s = await startStack("admin-http", { worker: false, env: { ADMIN_API_KEY: ADMIN_KEY } });
    const none = await s.request("/admin/queues", { as: null });
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Basic realm="llmq admin"/);
    expect(none.body.error.code).toBe("UNAUTHORIZED");
    const wrong = await s.request("/admin/queues", { as: null, headers: { authorization: basic("admin", "not-it") } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toMatch(/^Basic /);
    // A client API key is not the admin password.
    expect((await s.request("/admin/queues", { as: null, headers: { authorization: basic("alice", "alice-secret-key") } })).status).toBe(401);
    expect((await s.request("/admin/queues/api/queues", { as: null })).status).toBe(401);

    const ok = await s.request("/admin/queues", { as: null, headers: { authorization: basic("anyone", ADMIN_KEY) } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toMatch(/^text\/html/);
    const api = await s.request("/admin/queues/api/queues", { as: null, headers: { authorization: basic("", ADMIN_KEY) } });
    expect(api.status).toBe(200);
    expect(api.body.queues.map((q: { name: string }) => q.name).sort()).toEqual(Object.values(QUEUE_NAMES).sort());
    expect(api.body.queues.every((q: { readOnlyMode: boolean }) => q.readOnlyMode)).toBe(true);
  });

  it("is off (404, like any unknown path) when ADMIN_API_KEY is not set", async () => {
    s = await startStack("admin-off", { worker: false });
    const r = await s.request("/admin/queues", { as: null, headers: { authorization: basic("admin", "anything") } });
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe("NOT_FOUND");
  });
});

describe.skipIf(!hasChromium)("/admin/queues in headless Chromium", () => {
  let context: BrowserContext;
  let profile: string;
  beforeAll(async () => {
    // A fresh user-data-dir: no cached credentials, cookies or settings from any earlier run.
    profile = mkdtempSync(join(tmpdir(), "llmq-chromium-"));
    context = await chromium.launchPersistentContext(join(profile, "user-data"), {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      viewport: { width: 1280, height: 800 },
    });
  });
  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it("without credentials or with a wrong password the page is a 401; with ADMIN_API_KEY it shows llmq's queues", async () => {
    s = await startStack("admin-browser", { worker: false, env: { ADMIN_API_KEY: ADMIN_KEY } });
    // Something to see: two jobs waiting in the OpenAI queue (no worker runs).
    for (const n of [1, 2]) expect((await s.request("/api/v1/unstructured?async=true", { body: { model: "gpt-4", prompt: `Dashboard job ${n}` } })).status).toBe(202);
    const url = `${s.url}/admin/queues`;

    // Headless Chromium cannot show its Basic prompt: it reads the 401 and its challenge, then ends the
    // navigation with ERR_INVALID_AUTH_CREDENTIALS and shows nothing of the board.
    const anonymous = await context.newPage();
    const refused = await visit(anonymous, url);
    expect(refused).toMatchObject({ status: 401, challenge: expect.stringMatching(/^Basic realm="llmq admin"/) });
    expect(refused.navigationError ?? "").toMatch(/ERR_INVALID_AUTH_CREDENTIALS|^$/);
    expect(await anonymous.getByText("jobs-openai").count()).toBe(0);
    await anonymous.close();

    // Credentials as the browser sends them after its Basic prompt: an Authorization header on every request.
    const wrong = await context.newPage();
    await wrong.setExtraHTTPHeaders({ authorization: basic("admin", "wrong") });
    expect(await visit(wrong, url)).toMatchObject({ status: 401 });
    expect(await wrong.getByText("jobs-openai").count()).toBe(0);
    await wrong.close();

    const page = await context.newPage();
    await page.setExtraHTTPHeaders({ authorization: basic("admin", ADMIN_KEY) });
    expect((await page.goto(url))?.status()).toBe(200);
    for (const name of Object.values(QUEUE_NAMES)) await page.getByText(name, { exact: false }).first().waitFor({ timeout: 15_000 });
    expect(await page.title()).toMatch(/llmq/i);
    const shot = join(profile, "admin-queues.png");
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(1000);
    console.log(`[admin-dashboard] screenshot: ${shot} (${statSync(shot).size} bytes)`);
    await page.close();
  });
});
