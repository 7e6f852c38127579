// Unit tests of the Worker's API key usage reporter (src/usage.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { load } from "./load.mjs";

const { UsageReporter, maxBatch } = await load("usage.ts");

test("reports the latest use of each key, at most once an interval", async () => {
  const sent = [];
  const r = new UsageReporter(async (b) => void sent.push(b), 1000);
  assert.equal(r.report(0), null, "nothing to report");
  r.used("a", 5);
  r.used("a", 3); // older: ignored
  r.used("b", 4);
  await r.report(10);
  assert.deepEqual(sent, [[{ keyId: "a", lastUsedAt: new Date(5).toISOString() }, { keyId: "b", lastUsedAt: new Date(4).toISOString() }]]);
  r.used("a", 20);
  assert.equal(r.report(500), null, "too soon after the last report");
  await r.report(1010);
  assert.deepEqual(sent[1], [{ keyId: "a", lastUsedAt: new Date(20).toISOString() }]);
});

test("a failed report is kept for the next one; one report at a time", async () => {
  let fail = true;
  const sent = [];
  const r = new UsageReporter(async (b) => {
    if (fail) throw new Error("Hub down");
    sent.push(b);
  }, 0);
  r.used("a", 1);
  const first = r.report(1);
  r.used("b", 2);
  assert.equal(r.report(2), null, "a report is in flight");
  await first;
  fail = false;
  await r.report(3);
  assert.deepEqual(sent[0].map((u) => u.keyId).sort(), ["a", "b"]);
});

test("batches are split at the Hub's maximum and the keys held are bounded", async () => {
  const sizes = [];
  const r = new UsageReporter(async (b) => void sizes.push(b.length), 0, maxBatch + 10);
  for (let i = 0; i < maxBatch + 20; i++) r.used("k" + i, 1);
  await r.report(1);
  assert.deepEqual(sizes, [maxBatch, 10]);
});
