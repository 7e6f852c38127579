// End-user JWT verification with WebCrypto (SPEC §7.3), the Worker's
// counterpart of packages/bridge/internal/enduser with the same rules: the
// token's iss picks a trusted issuer of the env's released auth config; its
// JWKS (from OIDC discovery or jwksUrl) is cached per isolate for the
// Cache-Control max-age within [1 min, 24 h] (default 10 min), refetched
// on an unknown kid at most every 30 s, and kept while the issuer is down;
// algorithms RS256, PS256, ES256 and EdDSA only (never none, never HMAC);
// exp required, exp/nbf with 60 s skew, aud when configured, sub required.
// Token values are never logged nor put in messages.

import type { AuthConfig } from "./bundles.js";

export class TokenError extends Error {
  constructor(message: string, readonly unavailable = false) {
    super(message);
  }
}

export interface Identity {
  subject: string;
  roles: string[];
  /** The payload's JSON text and the claims that are not request.auth.claims. */
  claimsJSON: string;
  dropClaims: string[];
  /** The name of the env's issuer that signed it (rate limits count by env, issuer and sub). */
  issuer: string;
}

type Issuer = NonNullable<AuthConfig["issuers"]>[number];

const maxTokenBytes = 8 << 10;
const skew = 60;
const algorithms = ["RS256", "PS256", "ES256", "EdDSA"];
const minRSABits = 2048;
const defaultMaxAge = 600_000;
const minMaxAge = 60_000;
const maxMaxAge = 86_400_000;
const refreshInterval = 30_000;
const retryFirstLoad = 1_000;
const fetchTimeout = 5_000;

interface Key {
  kid: string;
  alg: string;
  kty: string;
  crv: string;
  bits: number;
  jwk: JsonWebKey;
  imported: Map<string, Promise<CryptoKey>>;
}

interface KeySet {
  keys: Key[];
  loaded: boolean;
  expires: number;
  lastFetch: number;
  jwksURI: string;
  inflight?: Promise<void>;
}

const b64url = (s: string): Uint8Array => {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) throw new TokenError("the token is malformed");
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
};

function isLoopback(host: string): boolean {
  return host.toLowerCase() === "localhost" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function allowedURL(raw: string): boolean {
  try {
    const u = new URL(raw);
    return u.protocol === "https:" || (u.protocol === "http:" && isLoopback(u.hostname));
  } catch {
    return false;
  }
}

async function getJSON(url: string): Promise<{ body: any; headers: Headers }> {
  if (!allowedURL(url)) throw new Error("only https:// (or http:// on loopback) is fetched");
  const res = await fetch(url, { headers: { Accept: "application/json" }, signal: AbortSignal.timeout(fetchTimeout) });
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new Error(`answered ${res.status}`);
  }
  return { body: JSON.parse(await res.text()), headers: res.headers };
}

function maxAge(cc: string | null): number {
  let age = defaultMaxAge;
  for (let d of (cc ?? "").split(",")) {
    d = d.trim().toLowerCase();
    if (d === "no-store" || d === "no-cache") return minMaxAge;
    if (d.startsWith("max-age=")) {
      const n = Number(d.slice(8).replace(/"/g, ""));
      if (Number.isInteger(n) && n >= 0) age = Math.min(n * 1000, maxMaxAge);
    }
  }
  return Math.min(Math.max(age, minMaxAge), maxMaxAge);
}

function parseJWK(j: any): Key | undefined {
  if (!j || typeof j !== "object" || (j.use && j.use !== "sig")) return undefined;
  if (j.alg && !algorithms.includes(j.alg)) return undefined;
  const k: Key = { kid: j.kid ?? "", alg: j.alg ?? "", kty: j.kty, crv: j.crv ?? "", bits: 0, jwk: { kty: "" }, imported: new Map() };
  try {
    switch (j.kty) {
      case "RSA": {
        const n = b64url(j.n);
        const e = b64url(j.e);
        let i = 0;
        while (i < n.length && n[i] === 0) i++;
        k.bits = (n.length - i) * 8 - (n[i] ? Math.clz32(n[i]) - 24 : 0);
        const exp = e.reduce((v, b) => v * 256 + b, 0);
        if (e.length === 0 || e.length > 4 || k.bits < minRSABits || exp < 3 || exp % 2 === 0) return undefined;
        k.jwk = { kty: "RSA", n: j.n, e: j.e };
        return k;
      }
      case "EC":
        if (j.crv !== "P-256" || b64url(j.x).length !== 32 || b64url(j.y).length !== 32) return undefined;
        k.jwk = { kty: "EC", crv: "P-256", x: j.x, y: j.y };
        return k;
      case "OKP":
        if (j.crv !== "Ed25519" || b64url(j.x).length !== 32) return undefined;
        k.jwk = { kty: "OKP", crv: "Ed25519", x: j.x };
        return k;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

function compatible(k: Key, alg: string): boolean {
  if (k.alg && k.alg !== alg) return false;
  switch (k.kty) {
    case "RSA":
      return alg === "RS256" || alg === "PS256";
    case "EC":
      return alg === "ES256" && k.crv === "P-256";
    case "OKP":
      return alg === "EdDSA";
  }
  return false;
}

const params: Record<string, { imp: any; verify: any }> = {
  RS256: { imp: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, verify: { name: "RSASSA-PKCS1-v1_5" } },
  PS256: { imp: { name: "RSA-PSS", hash: "SHA-256" }, verify: { name: "RSA-PSS", saltLength: 32 } },
  ES256: { imp: { name: "ECDSA", namedCurve: "P-256" }, verify: { name: "ECDSA", hash: "SHA-256" } },
  EdDSA: { imp: { name: "Ed25519" }, verify: { name: "Ed25519" } },
};

async function verifies(k: Key, alg: string, data: Uint8Array, sig: Uint8Array): Promise<boolean> {
  let p = k.imported.get(alg);
  if (!p) {
    p = crypto.subtle.importKey("jwk", k.jwk, params[alg].imp, false, ["verify"]);
    k.imported.set(alg, p);
  }
  try {
    return await crypto.subtle.verify(params[alg].verify, await p, sig, data);
  } catch {
    return false;
  }
}

/** Verifier verifies tokens for every env of an isolate; it caches JWKS per issuer. */
export class Verifier {
  private readonly sets = new Map<string, KeySet>();

  async verify(auth: AuthConfig | null, token: string, now: number): Promise<Identity> {
    if (token.length > maxTokenBytes) throw new TokenError(`the token is larger than ${maxTokenBytes} bytes`);
    const issuers = auth?.issuers ?? [];
    if (issuers.length === 0) throw new TokenError("this env's release trusts no token issuer (stk auth apply, then a release)");
    const parts = token.split(".");
    if (parts.length !== 3) throw new TokenError("the token is malformed");
    let header: any, payloadText: string, claims: any, sig: Uint8Array;
    try {
      const dec = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
      header = JSON.parse(dec.decode(b64url(parts[0])));
      payloadText = dec.decode(b64url(parts[1]));
      claims = JSON.parse(payloadText);
      sig = b64url(parts[2]);
    } catch {
      throw new TokenError("the token is malformed");
    }
    if (!header || typeof header !== "object" || !claims || typeof claims !== "object" || Array.isArray(claims)) {
      throw new TokenError("the token is malformed");
    }
    const alg = header.alg;
    if (typeof alg !== "string" || !algorithms.includes(alg)) {
      throw new TokenError("the token's signature does not verify or its algorithm is not accepted (RS256, PS256, ES256, EdDSA)");
    }
    const iss = typeof claims.iss === "string" ? claims.iss : "";
    const matched = iss ? issuers.find((i) => i.issuer === iss) : undefined;
    if (!matched) throw new TokenError("the token's issuer is not trusted by this env");
    const kid = typeof header.kid === "string" ? header.kid : "";
    const keys = await this.lookup(matched, kid, alg, now);
    const data = new TextEncoder().encode(parts[0] + "." + parts[1]);
    let ok = false;
    for (const k of keys) {
      if (await verifies(k, alg, data, sig)) {
        ok = true;
        break;
      }
    }
    if (!ok) throw new TokenError("the token's signature does not verify or its algorithm is not accepted (RS256, PS256, ES256, EdDSA)");

    // Claims, as golang-jwt validates them: exp required, then exp, nbf.
    const t = now / 1000;
    if (claims.exp === undefined) throw new TokenError("the token has no exp");
    if (typeof claims.exp !== "number") throw new TokenError("the token is malformed");
    if (t > claims.exp + skew) throw new TokenError("the token has expired");
    if (claims.nbf !== undefined) {
      if (typeof claims.nbf !== "number") throw new TokenError("the token is malformed");
      if (t < claims.nbf - skew) throw new TokenError("the token is not valid yet");
    }
    if (matched.audience) {
      const aud = typeof claims.aud === "string" ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
      if (!aud.includes(matched.audience)) throw new TokenError(`the token's audience does not include ${matched.audience}`);
    }
    if (typeof claims.sub !== "string" || claims.sub === "") throw new TokenError("the token has no sub (subject) string");

    let rolesClaim = matched.rolesClaim || "roles";
    if (!matched.rolesClaim && !("roles" in claims)) rolesClaim = "role";
    const r = claims[rolesClaim];
    const roles: string[] = typeof r === "string" ? [r] : Array.isArray(r) ? r.filter((x) => typeof x === "string") : [];
    if (!roles.includes("authenticated")) roles.push("authenticated");
    return { subject: claims.sub, roles, claimsJSON: payloadText, dropClaims: ["sub", rolesClaim], issuer: matched.name };
  }

  private async lookup(iss: Issuer, kid: string, alg: string, now: number): Promise<Key[]> {
    const id = `${iss.issuer}\n${iss.jwksUrl ?? ""}`;
    let ks = this.sets.get(id);
    if (!ks) {
      ks = { keys: [], loaded: false, expires: 0, lastFetch: 0, jwksURI: iss.jwksUrl ?? "" };
      this.sets.set(id, ks);
    }
    const match = () => ks!.keys.filter((k) => (kid === "" || k.kid === kid) && compatible(k, alg));
    let found = match();
    const due = !ks.loaded
      ? ks.lastFetch === 0 || now - ks.lastFetch >= retryFirstLoad
      : (found.length === 0 || now >= ks.expires) && now - ks.lastFetch >= refreshInterval;
    if (ks.inflight && found.length === 0) {
      await ks.inflight;
      found = match();
    } else if (!ks.inflight && due) {
      ks.lastFetch = now;
      ks.inflight = this.refresh(ks, iss).finally(() => {
        ks!.inflight = undefined;
      });
      await ks.inflight;
      found = match();
    }
    if (found.length > 0) return found;
    if (!ks.loaded) throw new TokenError(`the keys of token issuer ${iss.name} cannot be fetched`, true);
    if (kid) throw new TokenError(`the token's signing key is not among issuer ${iss.name}'s keys`);
    throw new TokenError(`issuer ${iss.name} has no ${alg} key`);
  }

  private async refresh(ks: KeySet, iss: Issuer): Promise<void> {
    try {
      let jwksURI = ks.jwksURI;
      if (!jwksURI) {
        const disc = (await getJSON(iss.issuer.replace(/\/$/, "") + "/.well-known/openid-configuration")).body;
        // OpenID Connect Discovery §4.3: the document names the issuer it was fetched for.
        if (disc?.issuer !== iss.issuer || !disc?.jwks_uri) throw new Error("discovery");
        jwksURI = disc.jwks_uri;
      }
      const { body, headers } = await getJSON(jwksURI);
      const keys: Key[] = [];
      for (const raw of Array.isArray(body?.keys) ? body.keys : []) {
        const k = parseJWK(raw);
        if (k) keys.push(k);
      }
      ks.keys = keys;
      ks.loaded = true;
      ks.jwksURI = jwksURI;
      ks.expires = Date.now() + maxAge(headers.get("Cache-Control"));
    } catch {
      if (!iss.jwksUrl) ks.jwksURI = "";
      console.warn("token issuer keys unavailable:", iss.name);
    }
  }
}
