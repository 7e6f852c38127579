// CORS for POST /call (SPEC §4.6, STK_CORS_ORIGINS), the rules of the
// Bridge's packages/core/cors: a preflight (OPTIONS with
// Access-Control-Request-Method and an Origin) is answered before any
// bundle or credential work, 204 for an allowed origin and 403 for another;
// every other /call response to an allowed origin carries Allow-Origin,
// Expose-Headers and Vary, errors included. CORS is not authorization: a
// request from another origin is served without CORS headers. Credentials
// are headers, never cookies, so Allow-Credentials is never sent.

import { ApiError } from "./errors.js";

export const allowMethods = "POST";
export const allowHeaders = "Authorization, Content-Type, X-Request-Id, X-Santokit-Api-Key, X-Santokit-Env, X-Santokit-Project";

/** Policy is a parsed STK_CORS_ORIGINS; null allows no origin and adds no header. */
export interface Policy {
  any: boolean;
  origins: Set<string>;
}

/** parsePolicy reads STK_CORS_ORIGINS as the Bridge does, refusing an entry a browser could never send. */
export function parsePolicy(s: string | undefined): Policy | null {
  if (!s || s.trim() === "") return null;
  const p: Policy = { any: false, origins: new Set() };
  for (const raw of s.split(",")) {
    const e = raw.trim();
    if (e === "*") {
      p.any = true;
      continue;
    }
    p.origins.add(origin(e));
  }
  if (p.any && p.origins.size > 0) throw new Error("STK_CORS_ORIGINS: `*` allows every origin; list origins or give `*` alone");
  return p;
}

function origin(e: string): string {
  const bad = (why: string) => new Error(`STK_CORS_ORIGINS entry ${JSON.stringify(e.replace(/\/\/[^@/]*@/, "//…@"))}: ${why}`);
  if (e === "") throw bad("empty entry (a stray comma?)");
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)$/.exec(e);
  if (!m) throw bad("want http(s)://host[:port] with no path, query or fragment (not even a trailing /)");
  const scheme = m[1].toLowerCase();
  if (scheme !== "http" && scheme !== "https") throw bad("want an http:// or https:// origin");
  const hostPort = m[2];
  if (hostPort.includes("@")) throw bad("an origin has no user info");
  const hp = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+)(?::(\d+))?$/.exec(hostPort);
  if (!hp || hp[1].includes("*")) throw bad("want one exact host (wildcards are not supported; use `*` alone to allow every origin)");
  if (hp[2] !== undefined) {
    const n = Number(hp[2]);
    if (!(n >= 1 && n <= 65535)) throw bad("port must be 1-65535");
    if ((scheme === "http" && n === 80) || (scheme === "https" && n === 443)) throw bad(`drop the default port :${n}: browsers never send it in Origin`);
  }
  return `${scheme}://${hostPort.toLowerCase()}`;
}

/** allowed is the Access-Control-Allow-Origin value for origin, or "" when it is not allowed. */
function allowed(p: Policy, o: string): string {
  if (p.any) return "*";
  return p.origins.has(o.toLowerCase()) ? o : "";
}

/**
 * apply handles CORS for one /call request: it returns the preflight's
 * answer (or throws its 403), or null after adding the response headers
 * for an allowed origin.
 */
export function apply(p: Policy | null, request: Request, headers: Headers): Response | null {
  const o = request.headers.get("Origin") ?? "";
  if (!p || o === "") return null;
  const allow = allowed(p, o);
  if (request.method === "OPTIONS" && (request.headers.get("Access-Control-Request-Method") ?? "") !== "") {
    if (!allow) {
      const q = JSON.stringify(o.length > 200 ? o.slice(0, 200) + "…" : o);
      throw new ApiError("FORBIDDEN", `origin ${q} is not allowed to call /call from a browser (STK_CORS_ORIGINS)`);
    }
    headers.set("Access-Control-Allow-Origin", allow);
    headers.set("Access-Control-Allow-Methods", allowMethods);
    headers.set("Access-Control-Allow-Headers", allowHeaders);
    headers.set("Access-Control-Max-Age", "600");
    headers.set("Vary", "Origin");
    return new Response(null, { status: 204, headers });
  }
  if (allow) {
    headers.set("Access-Control-Allow-Origin", allow);
    headers.set("Access-Control-Expose-Headers", "X-Request-Id, Retry-After");
    headers.set("Vary", "Origin");
  }
  return null;
}
