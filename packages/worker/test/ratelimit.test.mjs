// Unit tests of the Worker's STK_RATE_LIMIT (src/ratelimit.ts): the rule's
// syntax as the Bridge's ratelimit.Parse reads it, and the token bucket's
// arithmetic as golang.org/x/time/rate computes it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { load } from "./load.mjs";

const { parseRule, Limiter, limit, clip } = await load("ratelimit.ts");

test("parseRule reads the Bridge's syntax", () => {
  assert.deepEqual(parseRule("100/s,burst=200"), { rate: 100, burst: 200 });
  assert.deepEqual(parseRule(" 600/m "), { rate: 10, burst: 600 });
  assert.deepEqual(parseRule("1.5/h"), { rate: 1.5 / 3600, burst: 2 });
  assert.deepEqual(parseRule("0.5/s"), { rate: 0.5, burst: 1 });
  assert.equal(parseRule(""), null);
  assert.equal(parseRule(undefined), null);
  assert.equal(parseRule("OFF"), null);
  for (const [bad, why] of [
    ["100/sec", "the unit must be s, m or h"],
    ["100", "missing /<unit>"],
    ["0/s", "the request count must be a positive number"],
    ["-1/s", "the request count must be a positive number"],
    ["x/s", "the request count must be a positive number"],
    ["1e999/s", "the request count must be a positive number"],
    ["10/s,burst=0", "after the comma, write burst=<positive whole number>"],
    ["10/s,bursts=5", "after the comma, write burst=<positive whole number>"],
    ["10/s,burst=1.5", "after the comma, write burst=<positive whole number>"],
  ]) {
    assert.throws(() => parseRule(bad), { message: `STK_RATE_LIMIT ${JSON.stringify(bad)}: ${why} (want <requests>/<s|m|h>[,burst=<n>], e.g. 100/s,burst=200, or off)` }, bad);
  }
});

test("a bucket spends its burst, then refills at the rate", () => {
  const l = new Limiter({ rate: 2, burst: 3 });
  for (let i = 0; i < 3; i++) assert.deepEqual(l.allow("k", 1000), { ok: true, waitMs: 0 });
  assert.deepEqual(l.allow("k", 1000), { ok: false, waitMs: 500 });
  // A refusal spends nothing: 250 ms later half a token is there.
  assert.deepEqual(l.allow("k", 1250), { ok: false, waitMs: 250 });
  assert.equal(l.allow("k", 1500).ok, true);
  assert.equal(l.allow("other", 1500).ok, true, "each key has its own bucket");
  // Refilled to the burst at most, however long the pause.
  const t = 1_000_000;
  for (let i = 0; i < 3; i++) assert.equal(l.allow("k", t).ok, true);
  assert.equal(l.allow("k", t).ok, false);
});

test("the table forgets idle buckets and stays bounded", () => {
  const l = new Limiter({ rate: 1, burst: 2 }, 2);
  l.allow("a", 0);
  l.allow("b", 0);
  l.allow("c", 0); // full: a, the least recently used, goes
  assert.equal(l.size, 2);
  assert.equal(l.allow("b", 0).ok, true);
  assert.equal(l.allow("b", 0).ok, false, "b kept its spent budget");
  l.allow("z", 60_000); // b and c have refilled (idle ≥ 2 s) and are forgotten
  assert.equal(l.size, 1);
});

test("limit counts keys and end users, not anonymous callers, with the Bridge's message", () => {
  const l = new Limiter({ rate: 1 / 3600, burst: 1 });
  limit(l, { keyId: "key_1" }, 0);
  assert.throws(() => limit(l, { keyId: "key_1" }, 0), (e) => {
    assert.equal(e.code, "TOO_MANY_REQUESTS");
    assert.equal(e.message, "rate limit exceeded for API key key_1 (STK_RATE_LIMIT); retry after 3600 s");
    assert.deepEqual(e.headers, { "Retry-After": "3600" });
    return true;
  });
  const u = { project: "p", env: "dev", issuer: "idp", subject: "alice" };
  limit(l, { endUser: u }, 0);
  assert.throws(() => limit(l, { endUser: u }, 0), { message: "rate limit exceeded for end user alice (STK_RATE_LIMIT); retry after 3600 s" });
  limit(l, { endUser: { ...u, issuer: "other" } }, 0); // another issuer's alice is another user
  for (let i = 0; i < 5; i++) limit(l, {}, 0);
});

test("clip cuts at 200 UTF-8 bytes as the Bridge does", () => {
  assert.equal(clip("a".repeat(200)), "a".repeat(200));
  assert.equal(clip("a".repeat(201)), "a".repeat(200) + "…");
  // "é" is 2 bytes: 199 a's and the first byte of é are the Bridge's 200.
  assert.equal(clip("a".repeat(199) + "éé"), "a".repeat(199) + "\ufffd…");
  assert.equal(clip("a".repeat(198) + "😀"), "a".repeat(198) + "\ufffd\ufffd…");
});
