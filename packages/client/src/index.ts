// @santokit/client: the TypeScript client of the Santokit Bridge (SPEC §13).
//
//   const stk = createClient<DB>({ url, apiKey });
//   const { data } = await stk.db("main").table("todos").select({ where: { done: false } });
//
// Zero runtime dependencies; fetch only (Node >= 18, browsers, edge runtimes).

export { createClient } from "./client.js";
export type {
  AccessTokenOptions,
  ApiKeyOptions,
  Client,
  ClientOptions,
  ConnectionClient,
  LogicOptions,
  TableClient,
} from "./client.js";
export { SantokitError } from "./errors.js";
export type { BridgeErrorCode, ClientErrorCode, ErrorCode } from "./errors.js";
export type { AccessToken, CallOptions } from "./transport.js";
export type {
  AnyDB,
  ColumnOps,
  Columns,
  DBShape,
  DeleteParams,
  InsertParams,
  Json,
  LogicShape,
  Meta,
  OrderBy,
  Result,
  SelectParams,
  TableShape,
  UpdateParams,
  Where,
} from "./types.js";
