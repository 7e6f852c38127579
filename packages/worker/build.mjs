// npm run build: the planner as wasip1 (Go) and the Worker script (esbuild)
// into dist/, then their gzipped size against the 1 MiB budget (SPEC §16).
// The build fails when the total exceeds `ceiling`, so the size cannot creep
// back: lower it as the module shrinks, never raise it without a decision.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
mkdirSync(dist, { recursive: true });

// Inlining (on wasm every inlined copy is spelled out in full) is kept only
// in the packages a plan call spends its time in — the runtime, number
// formatting and our own (JSON included, decision 0037) — and turned off
// (-l) in the rest (time, unicode, …): less code, no measurable change in
// the plan call's cost (decision 0030).
const inlined = ["runtime/...", "internal/runtime/...", "strconv", "internal/strconv", "github.com/santokit/..."];
const gcflags = ["-gcflags=all=-l", ...inlined.map((p) => `-gcflags=${p}=`)];
execFileSync("go", ["build", "-buildmode=c-shared", "-trimpath", ...gcflags, "-ldflags=-s -w", "-o", join(dist, "plan.wasm"), "./planwasm"], {
  cwd: here,
  stdio: "inherit",
  env: { ...process.env, GOOS: "wasip1", GOARCH: "wasm", CGO_ENABLED: "0" },
});

await esbuild.build({
  entryPoints: [join(here, "src/index.ts")],
  outfile: join(dist, "worker.js"),
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  conditions: ["workerd", "worker"],
  external: ["./plan.wasm", "cloudflare:sockets", "node:*"],
  minify: true,
  legalComments: "none",
  logLevel: "warning",
});

const sizes = ["worker.js", "plan.wasm"].map((f) => {
  const raw = readFileSync(join(dist, f));
  return { file: f, bytes: raw.length, gzip: gzipSync(raw, { level: 9 }).length };
});
const total = sizes.reduce((n, s) => n + s.gzip, 0);
const budget = 1048576;
const ceiling = 1035000; // 1.6 % above 1,018,249 (decision 0037); never above budget
const report = sizes.map((s) => `${s.file}: ${s.bytes} bytes, ${s.gzip} gzipped`).join("\n") + `\ntotal gzipped: ${total} bytes (budget ${budget}, ceiling ${ceiling})\n`;
writeFileSync(join(dist, "size.txt"), report);
process.stdout.write(report);
if (total > Math.min(ceiling, budget)) {
  process.stderr.write(`build: the Worker is ${total} bytes gzipped, over its ceiling of ${ceiling}: find what grew (go test -run TestLinkedCode ./packages/worker/planwasm/ names what links fmt, reflection or sha256; docs/decisions/0030-workers-runtime.md shows how to measure)\n`);
  process.exit(1);
}
