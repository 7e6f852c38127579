// load bundles one TypeScript module of src/ with esbuild and imports it
// from memory: Node 20 does not read TypeScript.
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

export async function load(name) {
  const out = await build({
    entryPoints: [fileURLToPath(new URL(`../src/${name}`, import.meta.url))],
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
    logLevel: "silent",
  });
  return import("data:text/javascript;base64," + Buffer.from(out.outputFiles[0].text).toString("base64"));
}
