// Unit tests of the Worker's Hub lookup budget (src/bundles.ts) against a
// loopback HTTP server standing in for the Hub's bundle endpoint.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { test } from "node:test";
import { load } from "./load.mjs";

const { BundleCache, EnvNotFound, lookupRule } = await load("bundles.ts");

/** hub answers every bundle request with status(path) and counts them by path. */
async function hub(status) {
  const seen = new Map();
  const server = createServer((req, res) => {
    seen.set(req.url, (seen.get(req.url) ?? 0) + 1);
    res.writeHead(status(req.url)).end();
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${server.address().port}`;
  return { url, seen, close: () => new Promise((r) => server.close(r)) };
}

const cacheOf = (url) =>
  new BundleCache({ hubURL: url, token: "t", revalidateMs: 60_000, maxStaleMs: 300_000, limits: {} }, undefined);

// A name whose first load failed — 404 once its negative answer expired, or
// the Hub unreachable — is loaded again as a name not seen before: within
// the budget, as the Bridge, which forgets such a name, does (#16 review).
for (const [what, status] of [
  ["an unknown env", 404],
  ["an env the Hub failed to load", 502],
]) {
  test(`${what} loaded again spends the lookup budget`, async () => {
    const h = await hub((path) => (path.includes("/ghost/") ? status : 404));
    try {
      const cache = cacheOf(h.url);
      // One clock for every call, after the 1 s of any 404 answer: the
      // budget does not refill and negative answers are expired.
      const now = Date.now() + 10_000;
      const noop = () => {};
      for (let i = 0; i < lookupRule.burst - 1; i++) {
        await assert.rejects(cache.get("p", `made-up-${i}`, now, noop), EnvNotFound);
      }
      // The last lookup of the budget is the ghost's.
      await assert.rejects(cache.get("p", "ghost", now, noop));
      assert.equal(h.seen.get("/internal/v1/envs/p/ghost/bundle"), 1);
      for (let i = 0; i < 5; i++) {
        await assert.rejects(cache.get("p", "ghost", now, noop), (e) => {
          assert.equal(e.code, "SERVICE_UNAVAILABLE");
          assert.match(e.message, /too many lookups/);
          assert.equal(e.headers["Retry-After"], "1");
          return true;
        });
      }
      assert.equal(h.seen.get("/internal/v1/envs/p/ghost/bundle"), 1, "the Hub was asked again beyond the budget");
    } finally {
      await h.close();
    }
  });
}
