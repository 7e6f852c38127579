// STK_RATE_LIMIT on the Worker (SPEC §4.6; decisions 0032, 0038): the
// Bridge's per-caller token buckets — one per verified API key and per
// verified end user — with the same syntax, arithmetic (that of Go's
// golang.org/x/time/rate, which the Bridge uses), 429 message and
// Retry-After. The table lives in the isolate's memory, so the budget is
// per isolate as the Bridge's is per process: Cloudflare runs many isolates
// at once, and a global limit needs Cloudflare's own rate limiting in front.

import { ApiError } from "./errors.js";

/** Rule is a parsed STK_RATE_LIMIT: rate tokens per second, at most burst at once. */
export interface Rule {
  rate: number;
  burst: number;
}

/** parseRule reads "<n>/<s|m|h>[,burst=<b>]"; "" and "off" are no limit (null). */
export function parseRule(raw: string | undefined): Rule | null {
  const s = (raw ?? "").trim();
  if (s === "" || s.toLowerCase() === "off") return null;
  const bad = (why: string) =>
    new Error(`STK_RATE_LIMIT ${JSON.stringify(s)}: ${why} (want <requests>/<s|m|h>[,burst=<n>], e.g. 100/s,burst=200, or off)`);
  const comma = s.indexOf(",");
  const spec = comma < 0 ? s : s.slice(0, comma);
  const slash = spec.indexOf("/");
  if (slash < 0) throw bad("missing /<unit>");
  const numText = spec.slice(0, slash).trim();
  const n = Number(numText);
  if (numText === "" || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(numText) || !(n > 0) || !Number.isFinite(n)) {
    throw bad("the request count must be a positive number");
  }
  const per = { s: 1, m: 60, h: 3600 }[spec.slice(slash + 1).trim()];
  if (per === undefined) throw bad("the unit must be s, m or h");
  let burst = Math.max(1, Math.ceil(n));
  if (comma >= 0) {
    const part = s.slice(comma + 1).trim();
    const eq = part.indexOf("=");
    const k = (eq < 0 ? part : part.slice(0, eq)).trim();
    const v = eq < 0 ? "" : part.slice(eq + 1).trim();
    if (k !== "burst" || !/^[+-]?\d+$/.test(v) || !(Number(v) > 0)) throw bad("after the comma, write burst=<positive whole number>");
    burst = Number(v);
  }
  return { rate: n / per, burst };
}

interface Bucket {
  tokens: number;
  /** last is when tokens was computed, in ms. */
  last: number;
  used: number;
}

/** maxBuckets bounds the table as the Bridge's DefaultMaxBuckets does. */
export const maxBuckets = 1 << 16;

/** Limiter is the bucket table: a Map kept in least-recently-used order. */
export class Limiter {
  private readonly buckets = new Map<string, Bucket>();
  /** idleMs is how long an unused bucket takes to refill to its burst, when it can be forgotten. */
  private readonly idleMs: number;

  constructor(
    readonly rule: Rule,
    private readonly max = maxBuckets,
  ) {
    this.idleMs = Math.max(1000, (rule.burst / rule.rate) * 1000);
  }

  /** allow spends one token of key's bucket at now (ms); when empty it returns the wait in ms. */
  allow(key: string, now: number): { ok: boolean; waitMs: number } {
    const b = this.bucket(key, now);
    const tokens = Math.min(this.rule.burst, b.tokens + (Math.max(0, now - b.last) / 1000) * this.rule.rate);
    if (tokens >= 1) {
      b.tokens = tokens - 1;
      b.last = Math.max(b.last, now);
      return { ok: true, waitMs: 0 };
    }
    return { ok: false, waitMs: ((1 - tokens) / this.rule.rate) * 1000 };
  }

  get size(): number {
    return this.buckets.size;
  }

  private bucket(key: string, now: number): Bucket {
    const b = this.buckets.get(key);
    if (b) {
      b.used = now;
      this.buckets.delete(key); // re-inserted last: the Map's order is the LRU order
      this.buckets.set(key, b);
      return b;
    }
    for (const [k, old] of this.buckets) {
      if (now - old.used < this.idleMs) break;
      this.buckets.delete(k);
    }
    if (this.buckets.size >= this.max) {
      const oldest = this.buckets.keys().next();
      if (!oldest.done) this.buckets.delete(oldest.value);
    }
    const fresh = { tokens: this.rule.burst, last: now, used: now };
    this.buckets.set(key, fresh);
    return fresh;
  }
}

/** Who is counted: an API key by its id, an end user by env, issuer and sub; anonymous callers are not. */
export interface Counted {
  keyId?: string;
  endUser?: { project: string; env: string; issuer: string; subject: string };
}

/** limit spends one request of the caller's budget, or throws the Bridge's 429. */
export function limit(l: Limiter, who: Counted, now: number): void {
  let key: string;
  let name: string;
  if (who.endUser) {
    const u = who.endUser;
    key = `u:${u.project}/${u.env}\0${u.issuer}\0${u.subject}`;
    name = "end user " + clip(u.subject);
  } else if (who.keyId) {
    key = "k:" + who.keyId;
    name = "API key " + who.keyId;
  } else {
    return;
  }
  const r = l.allow(key, now);
  if (r.ok) return;
  const retry = String(Math.max(1, Math.ceil(r.waitMs / 1000)));
  throw new ApiError("TOO_MANY_REQUESTS", `rate limit exceeded for ${name} (STK_RATE_LIMIT); retry after ${retry} s`, undefined, {
    "Retry-After": retry,
  });
}

/**
 * clip is the Bridge's clip of a caller-chosen text: its first 200 UTF-8
 * bytes and "…". A character the cut splits shows as one U+FFFD per byte
 * left, as Go's JSON encoding renders those bytes.
 */
export function clip(s: string): string {
  const b = new TextEncoder().encode(s);
  if (b.length <= 200) return s;
  let end = 200;
  while (end > 0 && end > 200 - 3 && (b[end] & 0xc0) === 0x80) end--;
  // b[end] starts the character the cut splits (or the one after the cut).
  const head = new TextDecoder().decode(b.subarray(0, end));
  return head + "\ufffd".repeat(200 - end) + "…";
}
