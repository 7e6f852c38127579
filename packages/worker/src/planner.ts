// The Go planner (packages/core/plan) compiled to wasip1, behind a small
// host shim (SPEC §16, docs/decisions/0030). Everything about the /call
// contract — body syntax, API-key form and secret, permissions, params and
// SQL — is answered by the module; this file only moves JSON in and out.

import { ApiError, type ErrorBody } from "./errors.js";

/** A plan as the module hands it over (packages/worker/planwasm). */
export interface Plan {
  connection: string;
  engine: string;
  op?: string;
  sql: string;
  args: (string | null)[];
  countSql?: string;
  countArgs?: (string | null)[];
  columns: { Name: string; Type: string }[];
  write?: boolean;
  capAffected?: boolean;
  check?: boolean;
  checkMessage?: string;
  logic?: string;
  readonly?: boolean;
  maxRows?: number;
}

/** plan.Caller on the wire. */
export interface Caller {
  anonymous?: boolean;
  keyId?: string;
  roles?: string[];
  endUser?: boolean;
  subject?: string;
  /** A verified token's payload: the planner decodes its claims, numbers exact. */
  claimsJSON?: string;
  /** Claims that are not request.auth.claims (sub, the roles claim). */
  dropClaims?: string[];
}

export interface Limits {
  DefaultLimit?: number;
  MaxLimit: number;
  MaxBatch: number;
}

const enum Op {
  Compile = 1,
  Drop = 2,
  Decode = 3,
  KeyID = 4,
  Authenticate = 5,
  Plan = 6,
}

interface Exports {
  memory: WebAssembly.Memory;
  _initialize(): void;
  stk_buffer(n: number): number;
  stk_invoke(op: number, n: number): bigint;
}

const ENOSYS = 52;
const EBADF = 8;

/** Planner is one instance of the module, shared by an isolate's requests. */
export class Planner {
  private readonly x: Exports;
  private readonly enc = new TextEncoder();
  private readonly dec = new TextDecoder();

  constructor(module: WebAssembly.Module) {
    let mem: WebAssembly.Memory | undefined;
    const view = () => new DataView(mem!.buffer);
    // The module runs no files, no arguments, no environment: every WASI
    // call the Go runtime makes gets the smallest honest answer.
    const wasi: Record<string, (...a: any[]) => number> = {
      args_sizes_get: (argc: number, size: number) => (view().setUint32(argc, 0, true), view().setUint32(size, 0, true), 0),
      environ_sizes_get: (n: number, size: number) => (view().setUint32(n, 0, true), view().setUint32(size, 0, true), 0),
      args_get: () => 0,
      environ_get: () => 0,
      clock_time_get: (_id: number, _prec: bigint, out: number) => {
        view().setBigUint64(out, BigInt(Date.now()) * 1_000_000n, true);
        return 0;
      },
      random_get: (p: number, n: number) => {
        crypto.getRandomValues(new Uint8Array(mem!.buffer, p, n));
        return 0;
      },
      fd_write: (fd: number, iovs: number, n: number, written: number) => {
        // Go writes panics to stderr; keep them for the Worker's log.
        let total = 0;
        let text = "";
        for (let i = 0; i < n; i++) {
          const p = view().getUint32(iovs + i * 8, true);
          const l = view().getUint32(iovs + i * 8 + 4, true);
          text += this.dec.decode(new Uint8Array(mem!.buffer, p, l));
          total += l;
        }
        if (fd === 2 || fd === 1) console.error("planner:", text);
        view().setUint32(written, total, true);
        return 0;
      },
      fd_prestat_get: () => EBADF,
      sched_yield: () => 0,
      proc_exit: (code: number) => {
        throw new Error(`planner exited with ${code}`);
      },
    };
    const imports: WebAssembly.Imports = {};
    for (const imp of WebAssembly.Module.imports(module)) {
      const ns = (imports[imp.module] ??= {});
      ns[imp.name] = (imp.module === "wasi_snapshot_preview1" && wasi[imp.name]) || (() => ENOSYS);
    }
    const inst = new WebAssembly.Instance(module, imports);
    this.x = inst.exports as unknown as Exports;
    mem = this.x.memory;
    this.x._initialize();
  }

  private invoke(op: Op, input: Uint8Array): any {
    const p = this.x.stk_buffer(input.length);
    if (input.length > 0) new Uint8Array(this.x.memory.buffer, p, input.length).set(input);
    const r = this.x.stk_invoke(op, input.length);
    const ptr = Number(r >> 32n);
    const len = Number(r & 0xffffffffn);
    const answer = JSON.parse(this.dec.decode(new Uint8Array(this.x.memory.buffer, ptr, len)));
    if ("error" in answer) {
      const e = (answer.error as ErrorBody).error;
      throw new ApiError(e.code, e.message, e.details, answer.headers);
    }
    return answer.ok;
  }

  private call(op: Op, req: unknown): any {
    return this.invoke(op, this.enc.encode(JSON.stringify(req)));
  }

  /** compile turns a bundle (its JSON text) into a planner env handle. */
  compile(bundleJSON: string, limits: Limits): { env: number; hasRelease: boolean } {
    return this.invoke(Op.Compile, this.enc.encode(`{"limits":${JSON.stringify(limits)},"bundle":${bundleJSON}}`));
  }

  drop(env: number): void {
    this.call(Op.Drop, { env });
  }

  /** decode is §4.2 step 1 on the raw body; it throws the 400 or returns. */
  decode(body: Uint8Array): void {
    this.invoke(Op.Decode, body);
  }

  keyId(key: string): string {
    return this.call(Op.KeyID, { key }).keyId;
  }

  /**
   * authenticate checks an API key (SPEC §4.2 step 3, §7.2): the secret's
   * SHA-256 is computed here with WebCrypto and compared by the planner in
   * constant time with the bundle's hash. keyId is what keyId(key) returned.
   */
  async authenticate(env: number, keyId: string, key: string, now: number): Promise<Caller> {
    // key is "stk_" + keyId + "_" + secret (apikey.Parse checked it).
    const head = `stk_${keyId}_`;
    if (!key.startsWith(head)) throw new Error("planner: authenticate needs the keyId of its key");
    const secret = key.slice(head.length);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", this.enc.encode(secret)));
    let hex = "";
    for (const b of digest) hex += (b < 16 ? "0" : "") + b.toString(16);
    const r = this.call(Op.Authenticate, { env, keyId, digest: hex, now });
    return { keyId: r.keyId, roles: r.roles ?? [] };
  }

  /**
   * plan runs steps 5–6 for a body that decode accepted. The request is the
   * env and caller's JSON, a newline (JSON.stringify writes none), then the
   * body's own bytes, which the planner reads as the Bridge does.
   */
  plan(env: number, caller: Caller, body: Uint8Array): Plan {
    const head = this.enc.encode(`{"env":${env},"caller":${JSON.stringify(caller)}}\n`);
    const buf = new Uint8Array(head.length + body.length);
    buf.set(head);
    buf.set(body, head.length);
    return this.invoke(Op.Plan, buf);
  }
}
