// Running a plan on PostgreSQL (SPEC §4.2 step 7, §4.5, §4.6) — the Worker's
// counterpart of packages/bridge/internal/execute. The connection goes
// through the Hyperdrive binding HYPERDRIVE_<CONNECTION> when the Worker
// has one, else straight over TCP (cloudflare:sockets) to the bundle's URL.
// Values are always bound (as PostgreSQL text, typed by the server from the
// statement); results are read as text and encoded by the plan's
// normalized column types, as the Bridge encodes them. Driver messages are
// never forwarded: errors are rebuilt from the server's structured fields.
//
// Hyperdrive pools connections in transaction mode and resets a connection
// when it returns to the pool, so session settings — startup parameters or
// SET — do not reach a later transaction (decision 0038). Every call is
// therefore one transaction that begins by setting, LOCAL to it, what the
// Bridge sets per connection: the statement timeout, the text formats the
// encoder reads, and READ ONLY unless the plan writes.

import postgres from "postgres";
import { ApiError, unavailable } from "./errors.js";
import type { Plan } from "./planner.js";

export interface ExecConfig {
  statementTimeoutMs: number;
  maxAffected: number;
}

type Sql = postgres.Sql<Record<string, never>>;

/** connect opens one request's connection (a Worker cannot share sockets across requests). */
export function connect(connectionString: string, cfg: ExecConfig): Sql {
  const sql = postgres(connectionString, {
    max: 1,
    fetch_types: false,
    prepare: false,
    idle_timeout: 5,
    connect_timeout: 5,
    onnotice: () => {},
    connection: { application_name: "santokit-worker" },
  }) as unknown as Sql;
  // Every value goes over as text, unparsed both ways: the planner already
  // rendered arguments in PostgreSQL's text format, and the encoder reads
  // results by the plan's column types.
  const opts = (sql as unknown as { options: { parsers: Record<string, unknown>; serializers: Record<string, unknown> } }).options;
  for (const k of Object.keys(opts.parsers)) delete opts.parsers[k];
  for (const k of Object.keys(opts.serializers)) delete opts.serializers[k];
  return sql;
}

interface Result {
  rows: (string | null)[][];
  columns: { name: string; type: number }[];
  count: number;
}

async function query(q: Sql | postgres.TransactionSql<Record<string, never>>, text: string, args: (string | null)[]): Promise<Result> {
  const r = await q.unsafe(text, args as never[]).values();
  const cols = ((r as unknown as { columns?: { name: string; type: number }[] }).columns ?? []).map((c) => ({ name: c.name, type: c.type }));
  return { rows: r as unknown as (string | null)[][], columns: cols, count: (r as unknown as { count: number }).count ?? 0 };
}

/**
 * settings are the Bridge's per-connection settings, LOCAL to one
 * transaction: the server cancels a slow statement itself (57014 → 504),
 * and the text output is the one the encoder below reads.
 */
function settings(cfg: ExecConfig): string {
  const set = (name: string, value: string) => `set_config('${name}', '${value}', true)`;
  return (
    "SELECT " +
    [
      set("statement_timeout", String(Math.floor(cfg.statementTimeoutMs))),
      set("DateStyle", "ISO, MDY"),
      set("TimeZone", "UTC"),
      set("IntervalStyle", "iso_8601"),
      set("bytea_output", "hex"),
      set("extra_float_digits", "1"),
    ].join(", ")
  );
}

/** run executes p and returns the /call response body. */
export async function run(sql: Sql, p: Plan, cfg: ExecConfig): Promise<string> {
  try {
    // The settings, the statement and the count are pipelined; each query
    // is sent when query() is called (postgres.js sends a query when it is
    // awaited), so they reach the server in this order.
    const mode = p.write ? "read write" : p.countSql ? "isolation level repeatable read read only" : "read only";
    return (await sql.begin(mode, async (tx) => {
      const [, res, count] = await Promise.all([
        query(tx, settings(cfg), []),
        query(tx, p.sql, p.args),
        p.countSql ? query(tx, p.countSql, p.countArgs ?? []) : undefined,
      ]);
      return encode(p, cfg, res, count ? Number(count.rows[0]?.[0] ?? 0) : undefined);
    })) as string;
  } catch (e) {
    if (p.readonly && e instanceof postgres.PostgresError && e.code === "25006") {
      // Decision 0024: the release's statement is at fault; the message names the logic, never the SQL.
      throw new ApiError("FORBIDDEN", `logic ${p.logic} is readonly: its statement may not write`);
    }
    throw mapError(e, cfg);
  }
}

function encode(p: Plan, cfg: ExecConfig, res: Result, total?: number): string {
  let cols = p.columns.map((c) => ({ name: c.Name, type: c.Type }));
  let fields = res.columns.length;
  if (p.check) {
    if (fields !== cols.length + 1) throw new ApiError("INTERNAL_ERROR", "internal error");
    fields--;
  } else if (cols.length === 0 && fields > 0) {
    cols = res.columns.map((c) => ({ name: c.name, type: oidType(c.type) }));
  } else if (cols.length !== fields && fields > 0) {
    throw new ApiError("INTERNAL_ERROR", "internal error");
  }
  const capped = !!p.capAffected && cfg.maxAffected > 0;
  const parts: string[] = [];
  let n = 0;
  for (const row of res.rows) {
    n++;
    if (capped && n > cfg.maxAffected) throw overCap(p, cfg);
    if (p.maxRows && p.maxRows > 0 && n > p.maxRows) {
      throw new ApiError(
        "BAD_REQUEST",
        `logic ${p.logic} returned more than ${p.maxRows} rows (the limit per call, STK_MAX_LIMIT); narrow it with its params or a LIMIT`,
        { maxRows: p.maxRows },
      );
    }
    let vals = row;
    if (p.check) {
      if (vals[vals.length - 1] !== "1") throw new ApiError("FORBIDDEN", p.checkMessage ?? "forbidden");
      vals = vals.slice(0, -1);
      if (vals.length === 0) continue;
    }
    let o = "{";
    for (let i = 0; i < vals.length; i++) {
      if (i > 0) o += ",";
      o += JSON.stringify(cols[i].name) + ":" + value(cols[i].type, vals[i]);
    }
    parts.push(o + "}");
  }
  const affected = res.count;
  if (capped && affected > cfg.maxAffected) throw overCap(p, cfg);
  const wantsAffected = p.logic ? fields === 0 : !!p.write || (fields === 0 && p.op !== "select");
  const meta: string[] = [];
  if (total !== undefined) meta.push(`"total":${total}`);
  if (wantsAffected) meta.push(`"affected":${affected}`);
  return `{"data":[${fields === 0 ? "" : parts.join(",")}],"meta":{${meta.join(",")}}}`;
}

function overCap(p: Plan, cfg: ExecConfig): ApiError {
  return new ApiError(
    "BAD_REQUEST",
    `the ${p.op} would touch more than ${cfg.maxAffected} rows (the limit per call); narrow the where filter`,
    { maxAffected: cfg.maxAffected },
  );
}

// ---- encoding (SPEC §4.5; packages/bridge/internal/execute/encode.go) ----

const maxSafe = 2n ** 53n - 1n;

function value(type: string, raw: string | null): string {
  if (raw === null) return "null";
  if (type.endsWith("[]")) {
    const arr = parseArray(raw);
    if (arr === undefined) return JSON.stringify(raw);
    return encodeArray(type.slice(0, -2), arr);
  }
  switch (type) {
    case "integer":
    case "bigint":
      if (/^-?\d+$/.test(raw)) {
        if (raw.length <= 15) return raw;
        const n = BigInt(raw);
        return n > maxSafe || n < -maxSafe ? JSON.stringify(String(n)) : String(n);
      }
      return JSON.stringify(raw);
    case "float":
      return /^-?\d/.test(raw) && isJSONNumber(raw) ? raw : JSON.stringify(raw);
    case "boolean":
      return raw === "t" ? "true" : raw === "f" ? "false" : JSON.stringify(raw);
    case "timestamptz": {
      if (raw.length >= 22 && raw[10] === " " && raw.endsWith("+00")) {
        return JSON.stringify(raw.slice(0, 10) + "T" + raw.slice(11, -3) + "Z");
      }
      const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)([+-]\d\d(?::?\d\d)?(?::?\d\d)?)$/.exec(raw);
      if (m) return JSON.stringify(toUTC(m[1], m[2], m[3]));
      return JSON.stringify(raw);
    }
    case "timestamp":
      if (raw.length >= 19 && raw[10] === " " && raw[4] === "-") return JSON.stringify(raw.slice(0, 10) + "T" + raw.slice(11));
      return JSON.stringify(raw);
    case "json":
    case "jsonb":
      return raw;
    case "bytea":
      return JSON.stringify(raw.startsWith("\\x") ? hexToBase64(raw.slice(2)) : btoa(raw));
    default:
      return JSON.stringify(raw);
  }
}

function isJSONNumber(s: string): boolean {
  return /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(s);
}

/** toUTC converts a wall time with an offset into RFC 3339 UTC, keeping the fraction's digits. */
function toUTC(date: string, time: string, off: string): string {
  const [hms, frac] = time.split(".");
  const sign = off[0] === "-" ? -1 : 1;
  const digits = off.slice(1).replace(/:/g, "");
  const offSec = sign * (Number(digits.slice(0, 2)) * 3600 + Number(digits.slice(2, 4) || "0") * 60 + Number(digits.slice(4, 6) || "0"));
  const ms = Date.parse(`${date}T${hms}Z`) - offSec * 1000;
  const iso = new Date(ms).toISOString().slice(0, 19);
  const f = frac ? "." + frac.replace(/0+$/, "") : "";
  return iso + (f === "." ? "" : f) + "Z";
}

function hexToBase64(hex: string): string {
  let s = "";
  for (let i = 0; i + 1 < hex.length; i += 2) s += String.fromCharCode(parseInt(hex.slice(i, i + 2), 16));
  return btoa(s);
}

type ArrayValue = (string | null | ArrayValue)[];

/** parseArray reads a PostgreSQL array literal ({1,2}, {"a b",NULL}, {{1},{2}}, [0:1]={1,2}). */
export function parseArray(raw: string): ArrayValue | undefined {
  let s = raw;
  if (s.startsWith("[")) {
    const i = s.indexOf("=");
    if (i < 0) return undefined;
    s = s.slice(i + 1);
  }
  let i = 0;
  const parse = (): ArrayValue | undefined => {
    if (s[i] !== "{") return undefined;
    i++;
    const out: ArrayValue = [];
    if (s[i] === "}") {
      i++;
      return out;
    }
    for (;;) {
      if (s[i] === "{") {
        const sub = parse();
        if (sub === undefined) return undefined;
        out.push(sub);
      } else if (s[i] === '"') {
        i++;
        let v = "";
        while (i < s.length && s[i] !== '"') {
          if (s[i] === "\\") i++;
          v += s[i++];
        }
        if (s[i] !== '"') return undefined;
        i++;
        out.push(v);
      } else {
        let j = i;
        while (j < s.length && s[j] !== "," && s[j] !== "}") j++;
        const v = s.slice(i, j).trim();
        i = j;
        out.push(v.toUpperCase() === "NULL" ? null : v);
      }
      if (s[i] === ",") {
        i++;
        continue;
      }
      if (s[i] === "}") {
        i++;
        return out;
      }
      return undefined;
    }
  };
  const v = parse();
  return v !== undefined && i === s.length ? v : undefined;
}

function encodeArray(elem: string, a: ArrayValue): string {
  return "[" + a.map((v) => (Array.isArray(v) ? encodeArray(elem, v) : value(elem, v))).join(",") + "]";
}

/** oidType normalizes the built-in types a logic's result may have (execute.pgOIDType). */
function oidType(oid: number): string {
  const t: Record<number, string> = {
    16: "boolean", 20: "bigint", 21: "integer", 23: "integer", 25: "text", 1043: "text", 1042: "text", 19: "text",
    700: "float", 701: "float", 1700: "numeric", 1184: "timestamptz", 1114: "timestamp", 1082: "date", 1083: "time",
    2950: "uuid", 114: "json", 3802: "jsonb", 17: "bytea",
    1000: "boolean[]", 1005: "integer[]", 1007: "integer[]", 1016: "bigint[]", 1009: "text[]", 1015: "text[]", 1014: "text[]",
    1021: "float[]", 1022: "float[]", 1231: "numeric[]", 1185: "timestamptz[]", 1115: "timestamp[]", 1182: "date[]",
    1183: "time[]", 2951: "uuid[]", 199: "json[]", 3807: "jsonb[]", 1001: "bytea[]",
  };
  return t[oid] ?? "other";
}

// ---- errors (SPEC §3; packages/bridge/internal/execute/errors.go) ----

interface PgError {
  code: string;
  table_name?: string;
  column_name?: string;
  constraint_name?: string;
  detail?: string;
}

function mapError(e: unknown, cfg: ExecConfig): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof postgres.PostgresError) return mapPG(e as unknown as PgError, cfg);
  // Connection-level failures: refused, reset, closed, timed out.
  console.error("database error:", (e as Error)?.name, (e as { code?: string })?.code);
  return unavailable("database unavailable");
}

function mapPG(e: PgError, cfg: ExecConfig): ApiError {
  const table = e.table_name ?? "";
  const col = e.column_name ?? "";
  const constraint = e.constraint_name ?? "";
  const withCol = col ? " " + col : "";
  switch (e.code) {
    case "23505": {
      const cols = detailColumns(e.detail);
      return conflict(`duplicate value for ${qualify(table, cols)} (unique constraint ${constraint})`, constraint, table, cols);
    }
    case "23503": {
      const cols = detailColumns(e.detail);
      return conflict(
        `foreign key constraint ${constraint} on ${qualify(table, cols)} violated: the referenced row does not exist, or rows still reference this one`,
        constraint, table, cols,
      );
    }
    case "23P01":
      return conflict(`exclusion constraint ${constraint} on ${table} violated`, constraint, table, undefined);
    case "23502":
      return new ApiError("BAD_REQUEST", `column ${qualify(table, [col])} must not be null`, { column: col, table });
    case "23514":
      return new ApiError("BAD_REQUEST", `check constraint ${constraint} on ${table} failed`, { constraint, table });
    case "57014":
      return new ApiError("TIMEOUT", `the statement ran past its time limit of ${formatDuration(cfg.statementTimeoutMs)}`);
    case "40001":
    case "40P01":
      return unavailable("the statement conflicted with a concurrent transaction; retry");
    case "42P01":
    case "42703":
      return new ApiError("SCHEMA_DRIFT", "the database no longer matches the release's schema snapshot (a table or column is missing)");
    case "428C9": {
      let c = col;
      if (!c && e.detail?.startsWith('Column "')) c = e.detail.slice(8).split('"')[0];
      return new ApiError("BAD_REQUEST", `column ${c || "(unknown)"} is generated by the database and cannot be written`, { column: c });
    }
    case "22001":
      return new ApiError("BAD_REQUEST", `a value is too long for its column${withCol}`);
    case "22003":
      return new ApiError("BAD_REQUEST", `a value is out of range for its column${withCol}`);
    case "25006":
      return unavailable("database unavailable: it is read-only");
  }
  if (["53300", "57P01", "57P02", "57P03", "3D000", "28000", "28P01"].includes(e.code)) return unavailable("database unavailable");
  if (e.code.startsWith("22")) return new ApiError("BAD_REQUEST", `a value is not valid for its column${withCol}`);
  if (e.code.startsWith("08") || e.code.startsWith("53") || e.code.startsWith("58")) return unavailable("database unavailable");
  console.error("database error", e.code);
  return new ApiError("INTERNAL_ERROR", "internal error");
}

/** formatDuration prints milliseconds as Go's time.Duration does for the usual values (1s, 1.5s, 250ms). */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${ms / 1000}s`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const sec = (ms % 60_000) / 1000;
  return (h > 0 ? `${h}h` : "") + `${m}m${sec}s`;
}

function conflict(msg: string, constraint: string, table: string, cols: string[] | undefined): ApiError {
  const d: Record<string, unknown> = { constraint, table };
  if (cols && cols.length > 0) d.columns = cols;
  return new ApiError("CONFLICT", msg, d);
}

function qualify(table: string, cols: string[] | undefined): string {
  const c = (cols ?? []).join(", ");
  if (!table) return c;
  if (!cols || cols.length === 0) return table;
  if (cols.length === 1) return `${table}.${c}`;
  return `${table} (${c})`;
}

/** detailColumns reads the column names of "Key (a, b)=(…)" — never the values. */
function detailColumns(detail: string | undefined): string[] | undefined {
  if (!detail?.startsWith("Key (")) return undefined;
  const rest = detail.slice(5);
  const i = rest.indexOf(")=(");
  if (i < 0) return undefined;
  const cols: string[] = [];
  for (let c of rest.slice(0, i).split(", ")) {
    c = c.trim().replace(/^"|"$/g, "");
    if (!c || /[()=]/.test(c)) return undefined;
    cols.push(c);
  }
  return cols;
}
