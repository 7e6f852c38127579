// The browser build: dist/index.js bundled into one ESM file that a page can
// load with <script type="module"> and no bundler (examples/todo-web uses it).
// Usage: node scripts/bundle.mjs [outfile]   (default dist/santokit.browser.js)
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
await build({
  entryPoints: [root + "dist/index.js"],
  outfile: process.argv[2] ?? root + "dist/santokit.browser.js",
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["es2020"],
  minify: true,
  sourcemap: false,
  legalComments: "none",
  logLevel: "warning",
});
