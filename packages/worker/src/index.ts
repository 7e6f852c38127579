// The Santokit Worker (SPEC §16): POST /call, /healthz and /readyz with the
// Bridge's contract — the §4.2 check order, statuses, §3 envelopes,
// X-Request-Id, the §4.6 limits and CORS. The planner is the Go
// packages/core/plan compiled to wasip1 (planner.ts); this file only does
// I/O: HTTP, bundles (bundles.ts), credentials (here and jwt.ts) and SQL
// (sql.ts).

import planModule from "./plan.wasm";
import { BundleCache, EnvNotFound, UnknownKey, type Entry } from "./bundles.js";
import { apply as applyCORS, parsePolicy, type Policy } from "./cors.js";
import { ApiError, asApiError } from "./errors.js";
import { Verifier, TokenError } from "./jwt.js";
import { Planner, type Caller } from "./planner.js";
import { Limiter, limit, parseRule, type Counted } from "./ratelimit.js";
import { UsageReporter } from "./usage.js";
import { connect, run, type ExecConfig } from "./sql.js";

export interface Env {
  STK_HUB_URL?: string;
  STK_BRIDGE_TOKEN?: string;
  STK_ALLOW_INSECURE_HUB?: string;
  STK_BUNDLE_REVALIDATE?: string;
  STK_BUNDLE_MAX_STALE?: string;
  STK_STATEMENT_TIMEOUT?: string;
  STK_MAX_BODY_BYTES?: string;
  STK_MAX_LIMIT?: string;
  STK_MAX_BATCH?: string;
  STK_MAX_AFFECTED?: string;
  STK_CORS_ORIGINS?: string;
  STK_RATE_LIMIT?: string;
  STK_USAGE_INTERVAL?: string;
  [binding: string]: unknown;
}

const H_KEY = "X-Santokit-Api-Key";
const H_PROJECT = "X-Santokit-Project";
const H_ENV = "X-Santokit-Env";

interface Config {
  maxBody: number;
  exec: ExecConfig;
  cors: Policy | null;
  /** STK_RATE_LIMIT's bucket table (null: no limit). */
  limits: Limiter | null;
}

/** Runtime is an isolate's state: the planner instance, bundle cache and JWKS cache. */
interface Runtime {
  cfg: Config;
  planner: Planner;
  cache: BundleCache;
  users: Verifier;
  usage: UsageReporter;
}

let runtime: Runtime | undefined;
let runtimeError: ApiError | undefined;

/** parseDuration reads a Go-style duration ("2s", "10m", "1500ms", "1m30s") in milliseconds. */
function parseDuration(s: string | undefined, def: number, name: string): number {
  if (!s) return def;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(s))) {
    total += Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms"];
    end = re.lastIndex;
  }
  if (end !== s.length || total <= 0) throw new Error(`${name}: ${JSON.stringify(s)} is not a duration (e.g. 2s, 10m)`);
  return total;
}

/** statementTimeout is STK_STATEMENT_TIMEOUT, within PostgreSQL's int32 of milliseconds (as the Bridge checks). */
function statementTimeout(raw: string | undefined): number {
  const ms = parseDuration(raw, 5000, "STK_STATEMENT_TIMEOUT");
  if (ms > 2_147_483_647) throw new Error(`STK_STATEMENT_TIMEOUT: ${JSON.stringify(raw)} is over PostgreSQL's limit of 2147483647ms (about 24.8 days)`);
  return ms;
}

function int(s: string | undefined, def: number, name: string): number {
  if (!s) return def;
  if (!/^\d+$/.test(s)) throw new Error(`${name}: ${JSON.stringify(s)} is not a whole number`);
  return Number(s);
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function setup(env: Env): Runtime {
  const hub = (env.STK_HUB_URL ?? "").replace(/\/+$/, "");
  if (!hub) throw new Error("STK_HUB_URL is required");
  const u = new URL(hub);
  if (u.protocol !== "https:" && !isLoopback(u.hostname) && env.STK_ALLOW_INSECURE_HUB !== "true") {
    throw new Error("STK_HUB_URL must be https:// unless the Hub is on loopback (bundles carry connection URLs)");
  }
  if (!env.STK_BRIDGE_TOKEN) throw new Error("STK_BRIDGE_TOKEN is required");
  const cfg: Config = {
    maxBody: int(env.STK_MAX_BODY_BYTES, 1 << 20, "STK_MAX_BODY_BYTES"),
    exec: {
      statementTimeoutMs: statementTimeout(env.STK_STATEMENT_TIMEOUT),
      maxAffected: int(env.STK_MAX_AFFECTED, 10000, "STK_MAX_AFFECTED"),
    },
    cors: parsePolicy(env.STK_CORS_ORIGINS),
    limits: null,
  };
  const rule = parseRule(env.STK_RATE_LIMIT);
  if (rule) cfg.limits = new Limiter(rule);
  const planner = new Planner(planModule);
  const cache = new BundleCache(
    {
      hubURL: hub,
      token: env.STK_BRIDGE_TOKEN,
      revalidateMs: parseDuration(env.STK_BUNDLE_REVALIDATE, 2000, "STK_BUNDLE_REVALIDATE"),
      maxStaleMs: parseDuration(env.STK_BUNDLE_MAX_STALE, 600_000, "STK_BUNDLE_MAX_STALE"),
      limits: {
        MaxLimit: int(env.STK_MAX_LIMIT, 1000, "STK_MAX_LIMIT"),
        MaxBatch: int(env.STK_MAX_BATCH, 1000, "STK_MAX_BATCH"),
      },
    },
    planner,
  );
  const usage = new UsageReporter((batch) => cache.reportUsage(batch), parseDuration(env.STK_USAGE_INTERVAL, 60_000, "STK_USAGE_INTERVAL"));
  return { cfg, planner, cache, users: new Verifier(), usage };
}

function requestId(incoming: string | null): string {
  if (incoming && incoming.length <= 128 && /^[\x20-\x7e]+$/.test(incoming)) return incoming;
  const b = crypto.getRandomValues(new Uint8Array(10));
  const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  let t = Date.now();
  let time = "";
  for (let i = 0; i < 10; i++) {
    time = alphabet[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let rand = "";
  for (const x of b) rand += alphabet[x % 32] + alphabet[(x >> 3) % 32];
  return "req_" + time + rand.slice(0, 16);
}

function json(status: number, body: string, headers: Headers): Response {
  headers.set("Content-Type", "application/json");
  headers.set("Cache-Control", "no-store");
  return new Response(body, { status, headers });
}

function fail(err: unknown, id: string, headers: Headers): Response {
  const e = asApiError(err);
  for (const [k, v] of Object.entries(e.headers ?? {})) headers.set(k, v);
  return json(e.status, JSON.stringify(e.body(id)), headers);
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const id = requestId(request.headers.get("X-Request-Id"));
    const headers = new Headers({ "X-Request-Id": id });
    if (!runtime && !runtimeError) {
      try {
        runtime = setup(env);
      } catch (e) {
        console.error("configuration:", (e as Error).message);
        runtimeError = new ApiError("SERVICE_UNAVAILABLE", "the Worker is misconfigured; see its log");
      }
    }
    if (!runtime) return fail(runtimeError, id, headers);
    const rt = runtime;
    const url = new URL(request.url);
    const method = request.method;
    try {
      switch (url.pathname) {
        case "/call":
          return await call(rt, request, env, ctx, id, headers);
        case "/healthz":
        case "/readyz":
          if (method !== "GET" && method !== "HEAD") {
            headers.set("Allow", "GET, HEAD");
            throw new ApiError("METHOD_NOT_ALLOWED", `method ${method} is not allowed on ${url.pathname} (allowed: GET, HEAD)`);
          }
          if (url.pathname === "/healthz") return json(200, JSON.stringify({ status: "ok", mode: "enforced" }) + "\n", headers);
          if (!(await rt.cache.pingHub()) && !rt.cache.fresh(Date.now())) {
            throw new ApiError("SERVICE_UNAVAILABLE", "the Hub is unreachable and no fresh configuration is cached", { mode: "enforced" });
          }
          return json(200, JSON.stringify({ status: "ok", mode: "enforced", hub: "reachable" }) + "\n", headers);
      }
      throw new ApiError("NOT_FOUND", `no route ${method} ${url.pathname}`);
    } catch (e) {
      return fail(e, id, headers);
    }
  },
};

async function call(rt: Runtime, request: Request, env: Env, ctx: ExecutionContext, id: string, headers: Headers): Promise<Response> {
  const preflight = applyCORS(rt.cfg.cors, request, headers);
  if (preflight) return preflight;
  if (request.method !== "POST") {
    headers.set("Allow", "POST");
    throw new ApiError("METHOD_NOT_ALLOWED", `method ${request.method} is not allowed on /call (allowed: POST)`);
  }

  // 1. Syntax.
  const body = await readBody(request, rt.cfg.maxBody);
  rt.planner.decode(body);

  // 2–3. Credential form, context and verification.
  const { entry, caller, counted } = await authenticate(rt, request, (p) => ctx.waitUntil(p));
  if (rt.cfg.limits) limit(rt.cfg.limits, counted, Date.now());

  // 4. Release.
  if (!entry.hasRelease) throw new ApiError("NOT_FOUND", `env ${entry.project}/${entry.env} has no release yet (stk release create)`);

  // 5–6. Authorization and params: the planner.
  const p = rt.planner.plan(entry.handle, caller, body);

  // 7. Execution.
  const conn = entry.connections.find((c) => c.name === p.connection);
  if (!conn) {
    throw new ApiError("SERVICE_UNAVAILABLE", `database unavailable: connection ${p.connection} is not configured in env ${entry.project}/${entry.env}`);
  }
  if (conn.engine !== "postgres") {
    throw new ApiError(
      "SERVICE_UNAVAILABLE",
      `database unavailable: connection ${p.connection} is ${conn.engine}, which the Workers runtime cannot reach (it has no file system); serve it with the Bridge`,
    );
  }
  const hyperdrive = env[`HYPERDRIVE_${p.connection.toUpperCase()}`] as { connectionString?: string } | undefined;
  const sql = connect(hyperdrive?.connectionString ?? conn.url, rt.cfg.exec);
  try {
    const out = await run(sql, p, rt.cfg.exec);
    return json(200, out, headers);
  } finally {
    ctx.waitUntil(sql.end({ timeout: 1 }).catch(() => {}));
  }
}

/** drainCap bounds what is read and dropped of a body over the limit before answering 413. */
const drainCap = 1 << 20;

async function readBody(request: Request, max: number): Promise<Uint8Array> {
  const tooLarge = () => new ApiError("PAYLOAD_TOO_LARGE", `request body is larger than ${max} bytes`);
  if (!request.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let n = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > max) {
      // The rest is read and dropped (up to drainCap): answering while the
      // client still sends makes the connection close with unread data,
      // and the client may see a reset instead of the 413.
      while (n <= max + drainCap) {
        const r = await reader.read();
        if (r.done) throw tooLarge();
        n += r.value.length;
      }
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(n);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

const unauthorized = (msg: string) => new ApiError("UNAUTHORIZED", msg);

async function authenticate(rt: Runtime, request: Request, waitUntil: (p: Promise<unknown>) => void): Promise<{ entry: Entry; caller: Caller; counted: Counted }> {
  const h = (name: string) => (request.headers.get(name) ?? "").trim();
  const key = h(H_KEY);
  const authz = h("Authorization");
  const project = h(H_PROJECT);
  const envName = h(H_ENV);

  // 2. Credential form.
  let token = "";
  let keyId = "";
  if (key && authz) throw new ApiError("BAD_REQUEST", `send one credential: ${H_KEY} or Authorization: Bearer, not both`);
  if (key) {
    keyId = rt.planner.keyId(key); // throws the 401 for a malformed key
  } else if (authz) {
    const sp = authz.indexOf(" ");
    if (sp < 0 || authz.slice(0, sp).toLowerCase() !== "bearer" || !(token = authz.slice(sp + 1).trim())) {
      throw unauthorized("the Authorization header must be Bearer <end-user token>");
    }
    if (!project || !envName) throw new ApiError("BAD_REQUEST", `a Bearer token needs both ${H_PROJECT} and ${H_ENV}`);
  } else {
    if (!project && !envName) {
      throw unauthorized(
        `this call needs a credential: ${H_KEY}: stk_<keyId>_<secret>, or Authorization: Bearer <end-user token> with ${H_PROJECT} and ${H_ENV}`,
      );
    }
    if (!project || !envName) throw new ApiError("BAD_REQUEST", `${H_PROJECT} and ${H_ENV} go together: send both, or neither`);
  }

  // 3. Context and verification.
  const now = Date.now();
  if (key) {
    let loc: { project: string; env: string };
    let entry: Entry;
    try {
      loc = await rt.cache.locate(keyId, now);
      entry = await rt.cache.get(loc.project, loc.env, now, waitUntil, false);
    } catch (e) {
      if (e instanceof UnknownKey || e instanceof EnvNotFound) throw unauthorized("invalid API key");
      throw e;
    }
    const caller = await rt.planner.authenticate(entry.handle, keyId, key, Date.now());
    // The key authenticated, so it was used — also when the headers name
    // another env below — as the Bridge records it (SPEC §7.2 lastUsedAt).
    rt.usage.used(keyId, Date.now());
    const report = rt.usage.report(Date.now());
    if (report) waitUntil(report);
    if ((project && project !== loc.project) || (envName && envName !== loc.env)) {
      throw new ApiError(
        "FORBIDDEN",
        `the API key is bound to project ${loc.project}, env ${loc.env}; ${H_PROJECT}/${H_ENV} name another`,
      );
    }
    return { entry, caller, counted: { keyId } };
  }
  const entry = await envFromHeaders(rt, project, envName, now, waitUntil);
  if (authz) {
    try {
      const id = await rt.users.verify(entry.auth, token, Date.now());
      return {
        entry,
        caller: { endUser: true, subject: id.subject, roles: id.roles, claimsJSON: id.claimsJSON, dropClaims: id.dropClaims },
        counted: { endUser: { project: entry.project, env: entry.env, issuer: id.issuer, subject: id.subject } },
      };
    } catch (e) {
      if (e instanceof TokenError) {
        if (e.unavailable) throw new ApiError("SERVICE_UNAVAILABLE", e.message);
        throw new ApiError("UNAUTHORIZED", `invalid end-user token: ${e.message}`, undefined, {
          "WWW-Authenticate": 'Bearer error="invalid_token"',
        });
      }
      throw e;
    }
  }
  return { entry, caller: { anonymous: true }, counted: {} };
}

const resourceName = /^[a-z][a-z0-9-]{0,62}$/;

async function envFromHeaders(rt: Runtime, project: string, env: string, now: number, waitUntil: (p: Promise<unknown>) => void): Promise<Entry> {
  const clip = (s: string) => (s.length > 200 ? s.slice(0, 200) + "…" : s);
  const notFound = new ApiError("NOT_FOUND", `env ${JSON.stringify(clip(env))} of project ${JSON.stringify(clip(project))} not found`);
  if (!resourceName.test(project) || !resourceName.test(env)) throw notFound;
  try {
    return await rt.cache.get(project, env, now, waitUntil);
  } catch (e) {
    if (e instanceof EnvNotFound) throw notFound;
    throw e;
  }
}
