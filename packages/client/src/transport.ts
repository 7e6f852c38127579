// One POST /call with the client's credentials, deadline and retry rules
// (SPEC §4.1, §13; decision 0028). Only idempotent calls are retried: a write
// that timed out on the wire may have committed, so repeating it could apply
// it twice.

import { SantokitError, codeForStatus } from "./errors.js";
import type { Result } from "./types.js";

/** An access token, or a function giving one per request (so refreshes work). */
export type AccessToken = string | (() => string | null | undefined | Promise<string | null | undefined>);

/** Per-call options: they override the client's for this call. */
export type CallOptions = {
  /** Aborts the call (including its retries); the call rejects with code ABORTED. */
  signal?: AbortSignal;
  /** Milliseconds for the whole call, retries included; 0: no limit. */
  timeout?: number;
  /** Extra request headers (e.g. X-Request-Id); credentials and routing headers are always the client's. */
  headers?: Record<string, string>;
};

/** What the transport needs from the client. */
export type TransportConfig = {
  callUrl: string;
  fetch: typeof fetch;
  apiKey: string | undefined;
  accessToken: AccessToken | undefined;
  project: string | undefined;
  env: string | undefined;
  headers: Record<string, string>;
  timeout: number;
  signal: AbortSignal | undefined;
  /** [0, 1): the jitter source (Math.random; tests inject their own). */
  random: () => number;
};

/** At most this many tries for an idempotent call (1 + 2 retries). */
export const MAX_TRIES = 3;
/** Backoff before retry n (n = 1, 2): min(CAP, BASE·2^(n-1)), jittered to 50–100 %. */
export const BACKOFF_BASE_MS = 200;
export const BACKOFF_CAP_MS = 2000;
/** A 429 whose Retry-After asks for longer than this is not retried: the caller decides. */
export const MAX_RETRY_AFTER_MS = 30_000;

/** The delay before retry `retry` (1-based), with jitter drawn from random(). */
export function backoffDelay(retry: number, random: () => number): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (retry - 1));
  return Math.round(ceiling * (0.5 + random() / 2));
}

/** Retry-After (RFC 9110: delay-seconds or an HTTP date) in ms, or undefined. */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // An HTTP date names its day and month; anything else ("-1", "1.5") is
  // unusable, though Date.parse would read some of it as a year.
  if (!/[a-z]{3}/i.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Sends one /call, retrying idempotent calls on 503, 429 and network errors. */
export async function send(
  cfg: TransportConfig,
  path: string,
  params: unknown,
  idempotent: boolean,
  opts: CallOptions | undefined,
): Promise<Result<unknown>> {
  const body = JSON.stringify(params === undefined ? { path } : { path, params });
  const ctl = new AbortController();
  let timedOut = false;
  const sources = [cfg.signal, opts?.signal].filter((s): s is AbortSignal => s !== undefined);
  const onAbort = () => ctl.abort();
  // Checked before any listener is added: an early throw must not leave
  // one behind on a long-lived client signal.
  const aborted = sources.find((s) => s.aborted);
  if (aborted) throw abortedError(aborted.reason);
  const timeout = opts?.timeout ?? cfg.timeout;
  if (typeof timeout !== "number" || !Number.isFinite(timeout) || timeout < 0) {
    throw new TypeError("timeout must be a number of milliseconds ≥ 0 (0: no limit)");
  }
  for (const s of sources) s.addEventListener("abort", onAbort, { once: true });
  const timer =
    timeout > 0
      ? setTimeout(() => {
          timedOut = true;
          ctl.abort();
        }, timeout)
      : undefined;
  // Once our controller fired, every failure is reported as the abort or
  // the timeout, whatever error fetch or a sleep rejected with.
  const stopped = (cause: unknown): SantokitError =>
    timedOut
      ? new SantokitError({ code: "TIMEOUT", status: 0, message: `no answer from ${originOf(cfg.callUrl)} within ${timeout} ms`, cause })
      : abortedError(sources.find((s) => s.aborted)?.reason ?? cause);
  try {
    for (let attempt = 1; ; attempt++) {
      const last = !idempotent || attempt >= MAX_TRIES;
      // The token function runs outside the network try: its own error
      // (a failed refresh) reaches the caller unchanged and is not retried.
      // It is raced with the deadline and the signals, which bound the
      // whole call even when the function never settles.
      const headers = await untilAborted(requestHeaders(cfg, opts), ctl.signal).catch((e) => {
        throw ctl.signal.aborted ? stopped(e) : e;
      });
      if (ctl.signal.aborted) throw stopped(undefined);
      let res: Response;
      let text: string;
      try {
        res = await cfg.fetch(cfg.callUrl, { method: "POST", headers, body, signal: ctl.signal });
        text = await res.text();
      } catch (e) {
        if (ctl.signal.aborted) throw stopped(e);
        const err = new SantokitError({
          code: "NETWORK_ERROR",
          status: 0,
          message: `cannot reach ${originOf(cfg.callUrl)}: ${scrub(e instanceof Error ? e.message : String(e), headers)}`,
          cause: e,
        });
        if (last) throw err;
        await sleep(backoffDelay(attempt, cfg.random), ctl.signal).catch((c) => {
          throw stopped(c);
        });
        continue;
      }
      if (res.ok) return successBody(res, text);
      const err = errorFromResponse(res, text);
      let wait: number | undefined;
      if (!last && res.status === 503) wait = backoffDelay(attempt, cfg.random);
      if (!last && res.status === 429) {
        const ra = retryAfterMs(res.headers.get("Retry-After"), Date.now());
        wait = ra === undefined ? backoffDelay(attempt, cfg.random) : ra <= MAX_RETRY_AFTER_MS ? ra : undefined;
      }
      if (wait === undefined) throw err;
      await sleep(wait, ctl.signal).catch((c) => {
        throw stopped(c);
      });
    }
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    for (const s of sources) s.removeEventListener("abort", onAbort);
  }
}

/**
 * The request's headers: the client's, the call's, then the credentials and
 * routing hints, which always win. Headers merges case-insensitively, so an
 * option spelled "x-santokit-project" cannot sit beside the client's own.
 */
async function requestHeaders(cfg: TransportConfig, opts: CallOptions | undefined): Promise<Headers> {
  const h = new Headers(cfg.headers);
  for (const [k, v] of Object.entries(opts?.headers ?? {})) h.set(k, v);
  h.set("Content-Type", "application/json");
  for (const name of ["X-Santokit-Api-Key", "Authorization", "X-Santokit-Project", "X-Santokit-Env"]) h.delete(name);
  if (cfg.apiKey !== undefined) setCredential(h, "X-Santokit-Api-Key", cfg.apiKey);
  const token = typeof cfg.accessToken === "function" ? await cfg.accessToken() : cfg.accessToken;
  if (token) setCredential(h, "Authorization", `Bearer ${token}`);
  if (cfg.project !== undefined) h.set("X-Santokit-Project", cfg.project);
  if (cfg.env !== undefined) h.set("X-Santokit-Env", cfg.env);
  return h;
}

/** Sets a credential header; Headers' own error would quote the value. */
function setCredential(h: Headers, name: string, value: string): void {
  try {
    h.set(name, value);
  } catch {
    throw new TypeError(`${name}: the credential is not a valid header value (a control character or newline in it?)`);
  }
}

function successBody(res: Response, text: string): Result<unknown> {
  const body = parseJSON(text);
  if (isObject(body) && Array.isArray(body["data"])) {
    const meta = isObject(body["meta"]) ? body["meta"] : {};
    return { data: body["data"], meta };
  }
  throw new SantokitError({
    code: "BAD_RESPONSE",
    status: res.status,
    message: `HTTP ${res.status} without a Santokit body ({data, meta})`,
    requestId: res.headers.get("X-Request-Id") ?? undefined,
  });
}

/** The §3 envelope as a SantokitError; a body that is not one still gives a code from the status. */
function errorFromResponse(res: Response, text: string): SantokitError {
  const headerId = res.headers.get("X-Request-Id") ?? undefined;
  const body = parseJSON(text);
  const env = isObject(body) && isObject(body["error"]) ? body["error"] : undefined;
  if (env && typeof env["code"] === "string" && typeof env["message"] === "string") {
    return new SantokitError({
      code: env["code"],
      status: res.status,
      message: env["message"],
      requestId: typeof env["requestId"] === "string" ? env["requestId"] : headerId,
      details: isObject(env["details"]) ? env["details"] : undefined,
    });
  }
  return new SantokitError({
    code: codeForStatus(res.status),
    status: res.status,
    message: `HTTP ${res.status} without a Santokit error body`,
    requestId: headerId,
  });
}

function abortedError(reason: unknown): SantokitError {
  return new SantokitError({ code: "ABORTED", status: 0, message: "the call was aborted", cause: reason });
}

/** p, or a rejection with signal's reason as soon as signal fires. */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/**
 * A fetch error's text without the credentials this request carried: a
 * custom fetch (a proxy agent, a logging wrapper) may quote the request.
 */
function scrub(text: string, headers: Headers): string {
  for (const name of ["X-Santokit-Api-Key", "Authorization"]) {
    const secret = headers.get(name)?.replace(/^Bearer /, "") ?? "";
    // Real keys and tokens are long; a short test value would mangle text.
    if (secret.length >= 8) text = text.split(secret).join("[redacted]");
  }
  return text;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function parseJSON(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The scheme, host and port only: a URL's user info never reaches a message. */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "the Bridge";
  }
}
