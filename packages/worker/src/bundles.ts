// The bundle cache of the Workers runtime (SPEC §8.1, §16): an env's bundle
// is fetched from the Hub's /internal route with the bridge token, kept in
// isolate memory compiled by the planner, and revalidated with
// If-None-Match at most every STK_BUNDLE_REVALIDATE — a Worker cannot hold
// the Bridge's long poll. When the Hub cannot be reached the last good
// bundle is served until STK_BUNDLE_MAX_STALE after the last 200 or 304,
// then 503. API keyIds are located once (GET /internal/v1/apikeys/{keyId})
// and cached; unknown ones for a short time. Names not seen before — key
// ids, and envs named by headers — cost Hub lookups within the Bridge's
// budget (100 a second, bursts of 200, per isolate), so a flood of made-up
// names cannot turn the Worker into a load on the Hub; over it, 503 with
// Retry-After, as the Bridge answers.

import { ApiError, unavailable } from "./errors.js";
import type { Limits, Planner } from "./planner.js";
import { Limiter } from "./ratelimit.js";

export interface Connection {
  name: string;
  engine: string;
  url: string;
  version: number;
}

/** Entry is one env's bundle as the request path uses it. */
export interface Entry {
  project: string;
  env: string;
  revision: number;
  handle: number;
  hasRelease: boolean;
  connections: Connection[];
  /** The release's auth config (SPEC §7.3), or null. */
  auth: AuthConfig | null;
}

export interface AuthConfig {
  issuers?: { name: string; issuer: string; audience?: string; jwksUrl?: string; rolesClaim?: string }[];
}

interface State {
  entry?: Entry;
  etag?: string;
  lastOK: number; // ms: the last 200 or 304
  checkedAt: number; // ms: the last attempt
  notFoundUntil: number;
  inflight?: Promise<void>;
  error?: ApiError;
}

export interface CacheConfig {
  hubURL: string;
  token: string;
  revalidateMs: number;
  maxStaleMs: number;
  limits: Limits;
}

const unknownKeyTTL = 30_000;
const notFoundTTL = 1_000;
const fetchTimeout = 10_000;
/** A replaced env handle is freed this long after, so a request that holds it finishes. */
const retireAfter = 60_000;
/** The budget of Hub lookups for names not seen before: the Bridge's DefaultLookupRate and DefaultLookupBurst. */
export const lookupRule = { rate: 100, burst: 200 };

export class EnvNotFound extends Error {}
export class UnknownKey extends Error {}

export class BundleCache {
  private readonly envs = new Map<string, State>();
  private readonly keys = new Map<string, { project: string; env: string } | { unknownUntil: number }>();
  private retired: { handle: number; at: number }[] = [];
  private readonly lookups = new Limiter(lookupRule, 1);

  constructor(
    private readonly cfg: CacheConfig,
    private readonly planner: Planner,
  ) {}

  private async hub(path: string, headers: Record<string, string> = {}, body?: string): Promise<Response> {
    try {
      return await fetch(this.cfg.hubURL + path, {
        method: body === undefined ? "GET" : "POST",
        body,
        headers: { Authorization: `Bearer ${this.cfg.token}`, Accept: "application/json", ...headers },
        signal: AbortSignal.timeout(fetchTimeout),
      });
    } catch {
      throw unavailable("the Hub is unreachable");
    }
  }

  /** reportUsage posts a batch of API key uses (POST /internal/v1/apikeys/usage, SPEC §15). */
  async reportUsage(batch: { keyId: string; lastUsedAt: string }[]): Promise<void> {
    const res = await this.hub("/internal/v1/apikeys/usage", { "Content-Type": "application/json" }, JSON.stringify({ keys: batch }));
    await res.body?.cancel();
    if (res.status !== 200) throw new Error(`the Hub answered ${res.status}`);
  }

  /** locate finds the env of an API keyId (SPEC §4.2 step 3). */
  async locate(keyId: string, now: number): Promise<{ project: string; env: string }> {
    const k = this.keys.get(keyId);
    if (k && "project" in k) return k;
    if (k && k.unknownUntil > now) throw new UnknownKey();
    this.spendLookup(now);
    for (const [id, v] of this.keys) {
      // Unknown ids are forgotten once expired, so made-up ids do not pile up.
      if ("unknownUntil" in v && v.unknownUntil <= now) this.keys.delete(id);
    }
    const res = await this.hub(`/internal/v1/apikeys/${encodeURIComponent(keyId)}`);
    if (res.status === 404) {
      await res.body?.cancel();
      this.keys.set(keyId, { unknownUntil: now + unknownKeyTTL });
      throw new UnknownKey();
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      throw unavailable(`the Hub answered ${res.status} to a key lookup`);
    }
    let loc: { project: string; env: string };
    try {
      loc = (await res.json()) as { project: string; env: string };
    } catch {
      throw unavailable("the Hub's answer to a key lookup could not be read");
    }
    const v = { project: loc.project, env: loc.env };
    this.keys.set(keyId, v);
    return v;
  }

  /**
   * get returns the env's bundle. A cached bundle that is due for
   * revalidation is served as it is while the revalidation runs after the
   * response (waitUntil), so no call waits on the Hub once an env is
   * loaded; only the first call of an env (or of an isolate) waits. A
   * first call spends the lookup budget unless budgeted is false (an env
   * that a located API key is bound to).
   */
  async get(project: string, env: string, now: number, waitUntil: (p: Promise<unknown>) => void, budgeted = true): Promise<Entry> {
    const id = `${project}/${env}`;
    let st = this.envs.get(id);
    if (st && st.notFoundUntil > now) throw new EnvNotFound();
    if (!st?.entry && !st?.inflight) {
      // A first load — a name not seen before, forgotten, or whose last
      // load failed (the Bridge forgets those) — costs a lookup, unless an
      // API key the Hub located is bound to the env.
      if (budgeted) this.spendLookup(now);
    }
    if (!st) {
      for (const [other, s] of this.envs) {
        // Envs the Hub did not know are forgotten once expired.
        if (!s.entry && !s.inflight && s.notFoundUntil <= now) this.envs.delete(other);
      }
      st = { lastOK: 0, checkedAt: 0, notFoundUntil: 0 };
      this.envs.set(id, st);
    }
    const state = st;
    const refresh = () =>
      (state.inflight ??= this.load(state, project, env).finally(() => {
        state.inflight = undefined;
      }));
    if (!st.entry) {
      await refresh();
      now = Date.now();
    } else if (now - st.checkedAt >= this.cfg.revalidateMs) {
      waitUntil(refresh());
    }
    if (st.notFoundUntil > now) throw new EnvNotFound();
    if (!st.entry) throw st.error ?? unavailable("the Hub is unreachable");
    const age = now - st.lastOK;
    if (age > this.cfg.maxStaleMs) {
      throw unavailable(
        `the Hub has been unreachable for ${Math.round(age / 1000)}s and the cached configuration of ${project}/${env} is too stale to serve`,
      );
    }
    return st.entry;
  }

  /** spendLookup takes one Hub lookup from the budget, or throws the Bridge's 503. */
  private spendLookup(now: number): void {
    const r = this.lookups.allow("", now);
    if (r.ok) return;
    throw new ApiError("SERVICE_UNAVAILABLE", "too many lookups of unknown projects, envs or API keys right now: try again shortly", undefined, {
      "Retry-After": String(Math.floor(r.waitMs / 1000) + 1),
    });
  }

  private async load(st: State, project: string, env: string): Promise<void> {
    st.checkedAt = Date.now();
    try {
      await this.fetchBundle(st, project, env);
    } catch (e) {
      // Never the error's text: a bundle holds connection URLs.
      st.error = e instanceof ApiError ? e : unavailable("the Hub's answer could not be read");
    }
  }

  private async fetchBundle(st: State, project: string, env: string): Promise<void> {
    const res = await this.hub(
      `/internal/v1/envs/${encodeURIComponent(project)}/${encodeURIComponent(env)}/bundle`,
      st.entry && st.etag ? { "If-None-Match": st.etag } : {},
    );
    const now = Date.now();
    switch (res.status) {
      case 304:
        st.lastOK = now;
        return;
      case 404:
        await res.body?.cancel();
        this.replace(st, undefined, now);
        st.notFoundUntil = now + notFoundTTL;
        return;
      case 200:
        break;
      default:
        await res.body?.cancel();
        throw unavailable(`the Hub is unavailable (${res.status})`);
    }
    const text = await res.text();
    const b = JSON.parse(text) as {
      project: string;
      env: string;
      revision: number;
      connections: Connection[] | null;
      release: { auth?: AuthConfig | null } | null;
    };
    const c = this.planner.compile(text, this.cfg.limits);
    this.replace(
      st,
      {
        project: b.project,
        env: b.env,
        revision: b.revision,
        handle: c.env,
        hasRelease: c.hasRelease,
        connections: b.connections ?? [],
        auth: b.release?.auth ?? null,
      },
      now,
    );
    st.etag = res.headers.get("ETag") ?? undefined;
    st.lastOK = now;
    st.error = undefined;
  }

  private replace(st: State, e: Entry | undefined, now: number) {
    if (st.entry) this.retired.push({ handle: st.entry.handle, at: now });
    st.entry = e;
    this.retired = this.retired.filter((r) => {
      if (now - r.at < retireAfter) return true;
      this.planner.drop(r.handle);
      return false;
    });
  }

  /** fresh: every cached bundle is within max-stale (readiness while the Hub is down). */
  fresh(now: number): boolean {
    for (const st of this.envs.values()) {
      if (st.entry && now - st.lastOK > this.cfg.maxStaleMs) return false;
    }
    return true;
  }

  async pingHub(): Promise<boolean> {
    try {
      const res = await fetch(this.cfg.hubURL + "/healthz", { signal: AbortSignal.timeout(2000) });
      await res.body?.cancel();
      return res.status === 200;
    } catch {
      return false;
    }
  }
}
