// The browser build runs where only web APIs exist (a browser, an edge
// runtime): evaluated as a module in a fresh V8 context that has fetch,
// Headers, Response, AbortController, URL and timers but no process,
// Buffer, require or any Node module, it makes a call and maps an error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const bundle = fileURLToPath(new URL("../../dist/santokit.browser.js", import.meta.url));

const script = `
import vm from "node:vm";
import { readFileSync } from "node:fs";
const calls = [];
const fetch = async (url, init) => {
  calls.push({ url, body: init.body, key: init.headers.get("x-santokit-api-key") });
  return calls.length === 1
    ? new Response(JSON.stringify({ data: [{ id: 1 }], meta: {} }), { status: 200 })
    : new Response(JSON.stringify({ error: { code: "FORBIDDEN", message: "no", requestId: "req_1" } }), { status: 403 });
};
const globals = { fetch, Headers, Response, AbortController, AbortSignal, URL, setTimeout, clearTimeout, JSON, Math, Date, Promise, Error, TypeError };
const ctx = vm.createContext({ ...globals });
for (const name of ["process", "Buffer", "require", "global"]) {
  if (vm.runInContext("typeof " + name, ctx) !== "undefined") throw new Error(name + " leaked into the context");
}
const mod = new vm.SourceTextModule(readFileSync(${JSON.stringify(bundle)}, "utf8"), { context: ctx });
await mod.link(() => { throw new Error("the browser build imports nothing"); });
await mod.evaluate();
const { createClient, SantokitError } = mod.namespace;
// No fetch option: the client finds the context's global fetch.
const stk = createClient({ url: "https://bridge.example", apiKey: "k1" });
const ok = await stk.db("main").table("t").select({ limit: 1 });
const err = await stk.db("main").table("t").delete({ where: { id: 1 } }).catch((e) => e);
console.log(JSON.stringify({ ok, calls, err: { isSantokit: err instanceof SantokitError, code: err.code, status: err.status, requestId: err.requestId } }));
`;

test("the browser build needs nothing but web APIs", () => {
  const out = execFileSync(process.execPath, ["--experimental-vm-modules", "--no-warnings", "--input-type=module", "-e", script], { encoding: "utf8" });
  assert.deepEqual(JSON.parse(out), {
    ok: { data: [{ id: 1 }], meta: {} },
    calls: [
      { url: "https://bridge.example/call", body: '{"path":"db/main/t/select","params":{"limit":1}}', key: "k1" },
      { url: "https://bridge.example/call", body: '{"path":"db/main/t/delete","params":{"where":{"id":1}}}', key: "k1" },
    ],
    err: { isSantokit: true, code: "FORBIDDEN", status: 403, requestId: "req_1" },
  });
});
