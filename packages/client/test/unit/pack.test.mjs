// The published package: `npm pack` lists exactly the built files, the
// manifest declares exports, types, files and a license with no runtime
// dependencies, and the tarball installs into an app that imports it from
// Node and type-checks a typed call against it (SPEC §13, issue 15 item 1).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const pkgDir = fileURLToPath(new URL("../..", import.meta.url));
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
// The built files; a new module in src/ must be added here on purpose.
const modules = ["client", "errors", "index", "transport", "types"];
const expected = [
  "LICENSE",
  "README.md",
  "package.json",
  "dist/santokit.browser.js",
  ...modules.flatMap((m) => [`dist/${m}.js`, `dist/${m}.d.ts`]),
].sort();

function pack(args) {
  // --ignore-scripts: the tests run on the build `npm run build` made; prepack
  // rebuilds for a real publish.
  const out = execFileSync(npm, ["pack", "--json", "--ignore-scripts", ...args], { cwd: pkgDir, encoding: "utf8" });
  return JSON.parse(out)[0];
}

test("npm pack --dry-run: a clean file list and manifest", () => {
  const p = pack(["--dry-run"]);
  assert.equal(p.name, "@santokit/client");
  assert.deepEqual(p.files.map((f) => f.path).sort(), expected);

  const m = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
  assert.equal(m.type, "module");
  assert.equal(m.license, "Apache-2.0");
  assert.match(readFileSync(join(pkgDir, "LICENSE"), "utf8"), /Apache License\s+Version 2\.0, January 2004/);
  assert.equal(m.types, "./dist/index.d.ts");
  assert.deepEqual(m.exports["."], { types: "./dist/index.d.ts", import: "./dist/index.js", default: "./dist/index.js" });
  assert.equal(m.exports["./browser"], "./dist/santokit.browser.js");
  assert.equal(m.dependencies, undefined, "zero runtime dependencies");
  assert.equal(m.peerDependencies, undefined);
});

test("the tarball installs and works in an app: Node import, browser build, types", () => {
  const app = mkdtempSync(join(tmpdir(), "stk-client-app-"));
  try {
    const p = pack(["--pack-destination", app]);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    execFileSync(npm, ["install", "--no-audit", "--no-fund", "--offline", join(app, p.filename)], { cwd: app, stdio: "pipe" });

    const probe = `
      import { createClient, SantokitError } from "@santokit/client";
      import * as browser from "@santokit/client/browser";
      const f = async (url, init) => new Response(JSON.stringify({ data: [{ url, body: JSON.parse(init.body) }], meta: {} }));
      const r = await createClient({ url: "http://b:3000", apiKey: "k", fetch: f }).db("main").table("t").select({ limit: 1 });
      console.log(JSON.stringify({ r, err: new SantokitError({ code: "X", status: 0, message: "m" }) instanceof Error, browser: typeof browser.createClient }));
    `;
    writeFileSync(join(app, "probe.mjs"), probe);
    const out = JSON.parse(execFileSync(process.execPath, ["probe.mjs"], { cwd: app, encoding: "utf8" }));
    assert.deepEqual(out, {
      r: { data: [{ url: "http://b:3000/call", body: { path: "db/main/t/select", params: { limit: 1 } } }], meta: {} },
      err: true,
      browser: "function",
    });

    // An app's TypeScript resolves the package's types through "exports".
    writeFileSync(
      join(app, "typed.ts"),
      `import { createClient } from "@santokit/client";
type DB = { connections: { main: { tables: { t: { Row: { id: number }; Insert: { id?: number }; Update: { id?: number } } } } }; logics: {} };
const stk = createClient<DB>({ url: "http://b", apiKey: "k" });
export async function f(): Promise<number> { return (await stk.db("main").table("t").select()).data[0]!.id; }
// @ts-expect-error unknown table
stk.db("main").table("u");
`,
    );
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { strict: true, noEmit: true, module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", lib: ["ES2022", "DOM"], types: [], skipLibCheck: true }, files: ["typed.ts"] }),
    );
    const tsc = join(pkgDir, "..", "..", "node_modules", "typescript", "bin", "tsc");
    execFileSync(process.execPath, [tsc, "-p", "."], { cwd: app, stdio: "pipe" });
  } finally {
    rmSync(app, { recursive: true, force: true });
  }
});
