// npm run build: the planner as wasip1 (Go) and the Worker script (esbuild)
// into dist/, then their gzipped size against the 1 MiB budget (SPEC §16).
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
mkdirSync(dist, { recursive: true });

execFileSync("go", ["build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s -w", "-o", join(dist, "plan.wasm"), "./planwasm"], {
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
const report = sizes.map((s) => `${s.file}: ${s.bytes} bytes, ${s.gzip} gzipped`).join("\n") + `\ntotal gzipped: ${total} bytes (budget 1048576)\n`;
writeFileSync(join(dist, "size.txt"), report);
process.stdout.write(report);
