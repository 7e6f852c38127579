// The cost of a planner call inside the wasm module (SPEC §16, make bench):
// decode + plan of a select-by-primary-key body, in Node's V8 (workerd's
// engine), against the env's real bundle from the Hub.
//
//   node bench/plan.mjs <hubURL> <bridgeToken> <project> <env> <apiKey> [calls]
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as esbuild from "esbuild";

const [hub, token, project, env, apiKey, n = "20000"] = process.argv.slice(2);
const here = dirname(fileURLToPath(import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "planbench-"));
try {
  const out = join(tmp, "planner.mjs");
  await esbuild.build({ entryPoints: [join(here, "../src/planner.ts")], outfile: out, bundle: true, format: "esm", platform: "node", logLevel: "warning" });
  const { Planner } = await import(pathToFileURL(out).href);
  const planner = new Planner(new WebAssembly.Module(readFileSync(join(here, "../dist/plan.wasm"))));
  const res = await fetch(`${hub}/internal/v1/envs/${project}/${env}/bundle`, { headers: { Authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`bundle: ${res.status}`);
  const bundle = await res.text();
  let t = performance.now();
  const h = planner.compile(bundle, { MaxLimit: 1000, MaxBatch: 1000 });
  const compileMs = performance.now() - t;
  const keyId = planner.keyId(apiKey);
  const caller = await planner.authenticate(h.env, keyId, apiKey, Date.now());
  const enc = new TextEncoder();
  const calls = Number(n);
  const bodies = Array.from({ length: 256 }, (_, i) => enc.encode(`{"path":"db/main/items/select","params":{"where":{"id":${i * 3907 + 1}}}}`));
  const one = (i) => {
    const b = bodies[i & 255];
    planner.decode(b);
    return planner.plan(h.env, caller, b);
  };
  // V8 tiers the module's large functions up lazily: warm up for 3 s first.
  for (let i = 0, t0 = performance.now(); performance.now() - t0 < 3000; i++) one(i);
  // Per-call times: the median is the planner's cost; the mean also holds
  // the collector's pauses and, on a busy machine, the process's time off
  // the CPU.
  const lat = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    one(i);
    lat[i] = performance.now() - t0;
  }
  const sorted = Array.from(lat).sort((a, b) => a - b);
  const us = (sorted.reduce((a, b) => a + b, 0) * 1000) / calls;
  const p50 = sorted[calls >> 1] * 1000;
  t = performance.now();
  for (let i = 0; i < calls; i++) await planner.authenticate(h.env, keyId, apiKey, Date.now());
  const keyUs = ((performance.now() - t) * 1000) / calls;
  console.log(`plan in wasm (Node ${process.version}): decode + plan ${p50.toFixed(1)} µs/call median, ${us.toFixed(1)} µs mean; API-key check ${keyUs.toFixed(1)} µs mean; bundle compile ${compileMs.toFixed(1)} ms`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
