// createClient and the typed call builders of SPEC §13: db(conn).table(name)
// for Auto CRUD (§4.3) and logic(name, params) for custom SQL (§6).

import { type AccessToken, type CallOptions, type TransportConfig, send } from "./transport.js";
import type {
  AnyDB,
  ConnectionName,
  DBShape,
  DeleteParams,
  InsertParams,
  LogicArgs,
  LogicName,
  Result,
  SelectParams,
  Table,
  TableName,
  UpdateParams,
} from "./types.js";

/** Options shared by both kinds of caller. */
type CommonOptions = {
  /** The Bridge's base URL, e.g. https://bridge.example.com (POST /call is appended). */
  url: string;
  /** Milliseconds for each call, retries included (default 30000; 0: no limit). */
  timeout?: number;
  /** Aborts every call of this client. */
  signal?: AbortSignal;
  /** The fetch to use (default: the global fetch). */
  fetch?: typeof fetch;
  /** Headers sent with every call. */
  headers?: Record<string, string>;
};

/** A server or CI caller: an API key (SPEC §7.2). Never put one in a browser page. */
export type ApiKeyOptions = CommonOptions & {
  apiKey: string;
  /** Optional routing hints; the Bridge answers 403 if they differ from the key's binding. */
  project?: string;
  env?: string;
  accessToken?: never;
};

/**
 * An end user (SPEC §7.3): project and env route the call; accessToken is a
 * JWT or a function returning one, called before every request so any auth
 * library's refresh works. Without a token only `public` rules apply.
 */
export type AccessTokenOptions = CommonOptions & {
  project: string;
  env: string;
  accessToken?: AccessToken;
  apiKey?: never;
};

export type ClientOptions = ApiKeyOptions | AccessTokenOptions;

/** Options of a logic call: `readonly: true` lets a read-only logic be retried. */
export type LogicOptions<R extends boolean = boolean> = CallOptions & {
  /**
   * Say that the logic is declared `readonly: true` (SPEC §6): the call is
   * then retried on 503, 429 and network errors like a select. Typed clients
   * only accept it for logics their DB marks readonly.
   */
  readonly?: R extends true ? boolean : false;
};

/** The four Auto CRUD operations on one table. */
export type TableClient<T extends { Row: Record<string, unknown>; Insert: Record<string, unknown>; Update: Record<string, unknown> }> = {
  /** Reads rows (retried on 503, 429 and network errors). */
  select<K extends string & keyof T["Row"] = string & keyof T["Row"]>(
    params?: SelectParams<T["Row"], K>,
    options?: CallOptions,
  ): Promise<Result<Pick<T["Row"], K>>>;
  /** Inserts one row or a batch (never retried). */
  insert<K extends string & keyof T["Row"] = string & keyof T["Row"]>(
    params: InsertParams<T["Insert"], K>,
    options?: CallOptions,
  ): Promise<Result<Pick<T["Row"], K>>>;
  /** Updates the rows `where` matches (never retried). */
  update<K extends string & keyof T["Row"] = string & keyof T["Row"]>(
    params: UpdateParams<T["Row"], T["Update"], K>,
    options?: CallOptions,
  ): Promise<Result<Pick<T["Row"], K>>>;
  /** Deletes the rows `where` matches (never retried). */
  delete<K extends string & keyof T["Row"] = string & keyof T["Row"]>(
    params: DeleteParams<T["Row"], K>,
    options?: CallOptions,
  ): Promise<Result<Pick<T["Row"], K>>>;
};

/** The tables of one connection. */
export type ConnectionClient<DB extends DBShape, C extends ConnectionName<DB>> = {
  table<T extends TableName<DB, C>>(name: T): TableClient<Table<DB, C, T>>;
};

/** A Santokit client, typed by DB (see `stk gen types --lang ts`). */
export type Client<DB extends DBShape = AnyDB> = {
  db<C extends ConnectionName<DB>>(connection: C): ConnectionClient<DB, C>;
  logic<N extends LogicName<DB>>(
    name: N,
    ...args: LogicArgs<DB["logics"][N], LogicOptions<DB["logics"][N]["readonly"]>>
  ): Promise<Result<DB["logics"][N]["result"]>>;
};

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Creates a client for one Bridge. Throws TypeError on contradictory
 * options (both an API key and an access token, project without env, …):
 * those are programming errors, not call failures.
 */
export function createClient<DB extends DBShape = AnyDB>(options: ClientOptions): Client<DB> {
  const cfg = transportConfig(options);
  return {
    db(connection) {
      return {
        table(name) {
          const path = (op: string) => `db/${connection}/${name}/${op}`;
          return {
            select: (params, opts) => send(cfg, path("select"), params, true, opts) as never,
            insert: (params, opts) => send(cfg, path("insert"), params, false, opts) as never,
            update: (params, opts) => send(cfg, path("update"), params, false, opts) as never,
            delete: (params, opts) => send(cfg, path("delete"), params, false, opts) as never,
          };
        },
      };
    },
    logic(name, ...args) {
      const [params, opts] = args as [unknown, LogicOptions | undefined];
      const { readonly, ...callOpts } = opts ?? {};
      return send(cfg, `logics/${name}`, params, readonly === true, callOpts) as never;
    },
  };
}

function transportConfig(o: ClientOptions): TransportConfig {
  if (typeof o !== "object" || o === null) throw new TypeError("createClient: options are required ({url, apiKey} or {url, project, env, accessToken})");
  if (typeof o.url !== "string" || !/^https?:\/\//.test(o.url)) {
    throw new TypeError("createClient: url must be the Bridge's http(s):// base URL");
  }
  // fetch refuses a URL with user info, and its error quotes the URL,
  // password included; a query or fragment would swallow the /call
  // appended below. Neither is echoed: the URL may hold a secret.
  let parsed: URL;
  try {
    parsed = new URL(o.url);
  } catch {
    throw new TypeError("createClient: url must be the Bridge's http(s):// base URL");
  }
  if (parsed.username !== "" || parsed.password !== "") {
    throw new TypeError("createClient: url must not carry user info (user:password@): credentials go in apiKey or accessToken");
  }
  if (parsed.search !== "" || parsed.hash !== "" || /[?#]/.test(o.url)) {
    throw new TypeError("createClient: url must be a base URL without a query or fragment (POST /call is appended)");
  }
  if (o.apiKey !== undefined && o.accessToken !== undefined) {
    throw new TypeError("createClient: give either apiKey or accessToken, not both (SPEC §4.2)");
  }
  if (o.apiKey !== undefined && (typeof o.apiKey !== "string" || o.apiKey === "")) {
    throw new TypeError("createClient: apiKey must be a non-empty string");
  }
  if ((o.project === undefined) !== (o.env === undefined)) {
    throw new TypeError("createClient: give project and env together");
  }
  if (o.apiKey === undefined && o.project === undefined) {
    throw new TypeError("createClient: give apiKey, or project and env (with an accessToken for end users)");
  }
  if (typeof (o.fetch ?? globalThis.fetch) !== "function") throw new TypeError("createClient: no fetch in this runtime: pass options.fetch");
  const timeout = o.timeout ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeout) || timeout < 0) throw new TypeError("createClient: timeout must be a number of milliseconds ≥ 0");
  return {
    callUrl: o.url.replace(/\/+$/, "") + "/call",
    // A bare reference to the global fetch loses its `this` in some
    // browsers ("Illegal invocation"); the wrapper keeps it bound.
    fetch: o.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    apiKey: o.apiKey,
    accessToken: o.accessToken,
    project: o.project,
    env: o.env,
    headers: { ...o.headers },
    timeout,
    signal: o.signal,
    random: Math.random,
  };
}
