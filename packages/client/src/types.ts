// The compile-time contract of /call (SPEC §4.3, §4.4, §4.5) expressed over a
// database description DB — the type `stk gen types --lang ts` writes. With
// no DB given the client is loose (any table, any column, Record rows); with
// one, unknown connections, tables, columns, operators and logic params are
// compile errors. Nothing here exists at run time.

/** A JSON value: what json/jsonb columns and json logic params hold. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** One table's shapes: the selectable row, what insert and update accept. */
export type TableShape = {
  Row: Record<string, unknown>;
  Insert: Record<string, unknown>;
  Update: Record<string, unknown>;
};

/** One logic's shapes (SPEC §6): params, one result row, readonly flag. */
export type LogicShape = {
  params: Record<string, unknown>;
  result: Record<string, unknown>;
  readonly: boolean;
};

/** The shape every generated DB type has (and the loose default fills). */
export type DBShape = {
  connections: Record<string, { tables: Record<string, TableShape> }>;
  logics: Record<string, LogicShape>;
};

/** The default DB: any connection, table, column and logic. */
export type AnyDB = {
  connections: {
    [connection: string]: {
      tables: {
        [table: string]: {
          Row: Record<string, unknown>;
          Insert: Record<string, unknown>;
          Update: Record<string, unknown>;
        };
      };
    };
  };
  logics: {
    [name: string]: { params: Record<string, unknown>; result: Record<string, unknown>; readonly: boolean };
  };
};

type Str<K> = K & string;

/** Connections of DB. */
export type ConnectionName<DB extends DBShape> = Str<keyof DB["connections"]>;
/** Tables of one connection. */
export type TableName<DB extends DBShape, C extends ConnectionName<DB>> = Str<keyof DB["connections"][C]["tables"]>;
/** The shapes of one table. */
export type Table<DB extends DBShape, C extends ConnectionName<DB>, T extends TableName<DB, C>> =
  DB["connections"][C]["tables"][T];
/** Logic names of DB. */
export type LogicName<DB extends DBShape> = Str<keyof DB["logics"]>;

/**
 * Column operators of SPEC §4.4 for a column holding V. Ordering operators
 * are offered on numbers and strings (dates and timestamps are strings),
 * `$like`/`$ilike` only on strings; `$in`/`$nin` take a list of V.
 */
export type ColumnOps<V> = {
  $eq?: V | null;
  $ne?: V | null;
  $gt?: Orderable<V>;
  $gte?: Orderable<V>;
  $lt?: Orderable<V>;
  $lte?: Orderable<V>;
  $in?: readonly NonNullable<V>[];
  $nin?: readonly NonNullable<V>[];
  $like?: Likeable<V>;
  $ilike?: Likeable<V>;
  $isNull?: boolean;
};

type Orderable<V> = unknown extends V ? unknown : NonNullable<V> extends number | string ? NonNullable<V> : never;
type Likeable<V> = unknown extends V ? string : NonNullable<V> extends string ? string : never;

/**
 * A filter (SPEC §4.4): an AND of `column: value` (equality; null is IS
 * NULL) and `column: {operators}` entries, plus `$and`, `$or` and `$not`.
 */
export type Where<Row> = {
  [K in keyof Row]?: Row[K] | null | ColumnOps<Row[K]>;
} & {
  $and?: readonly Where<Row>[];
  $or?: readonly Where<Row>[];
  $not?: Where<Row>;
};

/** Sort order: one `{column: "asc" | "desc"}` or a list of them, in priority order. */
export type OrderBy<Row> = { [K in keyof Row]?: "asc" | "desc" } | readonly { [K in keyof Row]?: "asc" | "desc" }[];

/** A column list, or "*" for every column the caller's rule allows. */
export type Columns<K extends string> = "*" | readonly K[];

/** `select` params (SPEC §4.3). */
export type SelectParams<Row, K extends string> = {
  select?: Columns<K>;
  where?: Where<Row>;
  orderBy?: OrderBy<Row>;
  /** 0 … the Bridge's maxLimit (default 100). */
  limit?: number;
  offset?: number;
  /** true: meta.total holds the number of matching rows. */
  count?: boolean;
};

/** `insert` params: one row or 1 … 1000 rows in one all-or-nothing statement. */
export type InsertParams<Ins, K extends string> = {
  data: Ins | readonly Ins[];
  returning?: Columns<K> | false;
};

/** `update` params: where is required and non-empty. */
export type UpdateParams<Row, Upd, K extends string> = {
  data: Upd;
  where: Where<Row>;
  returning?: Columns<K> | false;
};

/** `delete` params: where is required and non-empty. */
export type DeleteParams<Row, K extends string> = {
  where: Where<Row>;
  returning?: Columns<K> | false;
};

/** `meta` of a response (SPEC §4.5); always an object. */
export type Meta = {
  /** select with count: true: the number of matching rows. */
  total?: number;
  /** insert, update, delete and row-less logic: rows written. */
  affected?: number;
  [key: string]: unknown;
};

/** The body of a successful /call. */
export type Result<Row> = { data: Row[]; meta: Meta };

/** Keys of T that must be given. */
type RequiredKeys<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? never : K }[keyof T];

/** The params argument of logic(): optional when no param is required. */
export type LogicArgs<L extends LogicShape, O> = [RequiredKeys<L["params"]>] extends [never]
  ? [params?: L["params"], options?: O]
  : [params: L["params"], options?: O];
