// The retry arithmetic of decision 0028, on the internal module: the
// backoff ceiling and jitter range, and Retry-After in both RFC 9110 forms.
import { test } from "node:test";
import assert from "node:assert/strict";
import { backoffDelay, retryAfterMs, MAX_TRIES } from "../../dist/transport.js";

test("at most 3 tries", () => assert.equal(MAX_TRIES, 3));

test("backoff: 200·2^(n-1) capped at 2000 ms, jittered to 50–100 %", () => {
  const top = () => 0.999999;
  const bottom = () => 0;
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, top)), [200, 400, 800, 1600, 2000, 2000]);
  assert.deepEqual([1, 2, 5].map((n) => backoffDelay(n, bottom)), [100, 200, 1000]);
});

test("Retry-After: delay-seconds, an HTTP date, or nothing usable", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  assert.equal(retryAfterMs("3", now), 3000);
  assert.equal(retryAfterMs(" 0 ", now), 0);
  assert.equal(retryAfterMs("Thu, 01 Jan 2026 00:00:05 GMT", now), 5000);
  assert.equal(retryAfterMs("Wed, 31 Dec 2025 23:59:00 GMT", now), 0, "a date in the past: now");
  assert.equal(retryAfterMs(null, now), undefined);
  assert.equal(retryAfterMs("", now), undefined);
  assert.equal(retryAfterMs("soon", now), undefined);
  assert.equal(retryAfterMs("-1", now), undefined);
});
