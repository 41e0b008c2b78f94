import { afterEach, describe, expect, it } from "vitest";
import { ERROR_CODES, JOB_REQUEST_SCHEMAS, SCHEMA_REGISTRATION_SCHEMA } from "@llmq/shared";
import { appRoutes, startStack, type Stack } from "./helpers.js";

let s: Stack | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

describe("GET /api/v1/openapi.json", () => {
  it("documents every route the Express router serves (a route missing from the document fails here)", async () => {
    s = await startStack("openapi", { worker: false });
    const r = await s.request("/api/v1/openapi.json");
    expect(r.status).toBe(200);
    const doc = r.body as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe("3.1.0");
    const routes = appRoutes(s.app);
    expect(routes.length).toBeGreaterThanOrEqual(11);
    const missing = routes
      .map(({ method, path }) => ({ method: method.toLowerCase(), path: path.replace(/:([A-Za-z_]+)/g, "{$1}") }))
      .filter(({ method, path }) => doc.paths[path]?.[method] === undefined)
      .map(({ method, path }) => `${method.toUpperCase()} ${path}`);
    expect(missing).toEqual([]);
  });

  it("uses the very request schemas the routes validate with, and lists every error code", async () => {
    s = await startStack("openapischemas", { worker: false });
    const doc = (await s.request("/api/v1/openapi.json")).body;
    const body = (path: string) => doc.paths[path].post.requestBody.content["application/json"].schema;
    expect(body("/api/v1/unstructured")).toEqual(JOB_REQUEST_SCHEMAS.unstructured);
    expect(body("/api/v1/structured")).toEqual(JOB_REQUEST_SCHEMAS.structured);
    expect(body("/api/v1/conversation")).toEqual(JOB_REQUEST_SCHEMAS.conversation);
    expect(body("/api/v1/schemas")).toEqual(SCHEMA_REGISTRATION_SCHEMA);
    expect(doc.components.schemas.ErrorBody.properties.code.enum).toEqual(ERROR_CODES);
    // Every $ref points at something in the document.
    const refs = JSON.stringify(doc).match(/"\$ref":"#\/components\/schemas\/[A-Za-z]+"/g) ?? [];
    for (const ref of refs) expect(doc.components.schemas[ref.split("/").pop()!.replace('"', "")]).toBeDefined();
  });

  it("needs a key like every /api/v1 route", async () => {
    s = await startStack("openapikey", { worker: false });
    expect((await s.request("/api/v1/openapi.json", { as: null })).status).toBe(401);
  });
});
