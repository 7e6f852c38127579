// Compile-time tests of the typed client against db.fixture.ts: every
// // @ts-expect-error line must be an error, every other line must compile.
import { createClient, type SantokitError } from "../../src/index.js";
import type { DB } from "./db.fixture.js";

const stk = createClient<DB>({ url: "http://127.0.0.1:3000", apiKey: "stk_k_s" });
const todos = stk.db("main").table("todos");

export async function typed(): Promise<void> {
  // Rows are typed; a column list narrows them.
  const all = await todos.select({ where: { done: false }, orderBy: { id: "asc" }, limit: 10, count: true });
  const title: string = all.data[0]!.title;
  const owner: string | null = all.data[0]!.owner;
  const total: number | undefined = all.meta.total;
  const some = await todos.select({ select: ["id", "title"] });
  const id: number = some.data[0]!.id;
  // @ts-expect-error done was not selected
  some.data[0]!.done;

  // The full where grammar of SPEC §4.4.
  await todos.select({
    where: {
      owner: null,
      id: { $gte: 1, $lt: 100, $in: [1, 2], $nin: [3] },
      title: { $like: "a%", $ilike: "A%", $ne: "x" },
      $or: [{ done: true }, { title: { $eq: "x" } }],
      $and: [{ owner: { $isNull: false } }],
      $not: { id: 5 },
    },
    orderBy: [{ done: "desc" }, { id: "asc" }],
  });

  // @ts-expect-error unknown connection
  stk.db("other");
  // @ts-expect-error unknown table
  stk.db("main").table("nope");
  // @ts-expect-error unknown column in where
  await todos.select({ where: { nope: 1 } });
  // @ts-expect-error wrong value type for a column
  await todos.select({ where: { id: "one" } });
  // @ts-expect-error unknown operator
  await todos.select({ where: { id: { $regex: "1" } } });
  // @ts-expect-error $like on a number column
  await todos.select({ where: { id: { $like: "1%" } } });
  // @ts-expect-error $in takes a list of the column's type
  await todos.select({ where: { id: { $in: ["a"] } } });
  // @ts-expect-error unknown column in select
  await todos.select({ select: ["id", "nope"] });
  // @ts-expect-error unknown column in orderBy
  await todos.select({ orderBy: { nope: "asc" } });
  // @ts-expect-error sort direction is asc or desc
  await todos.select({ orderBy: { id: "up" } });
  // @ts-expect-error unknown param
  await todos.select({ limt: 10 });

  // Writes: Insert needs title; Update takes any subset; where is required.
  const ins = await todos.insert({ data: { title: "write docs" } });
  const newId: number = ins.data[0]!.id;
  await todos.insert({ data: [{ title: "a" }, { title: "b", done: true }], returning: false });
  await todos.insert({ data: { title: "c" }, returning: ["id"] });
  // @ts-expect-error title is required on insert
  await todos.insert({ data: { done: true } });
  // @ts-expect-error unknown column on insert
  await todos.insert({ data: { title: "x", nope: 1 } });
  await todos.update({ data: { done: true }, where: { id: newId } });
  // @ts-expect-error update needs where
  await todos.update({ data: { done: true } });
  // @ts-expect-error wrong type on update
  await todos.update({ data: { done: "yes" }, where: { id: 1 } });
  await todos.delete({ where: { id: newId }, returning: ["id"] });
  // @ts-expect-error delete needs where
  await todos.delete({});

  // json columns take any JSON value.
  await stk.db("main").table("users").insert({ data: { name: "Ada", meta: { tags: ["x"] } } });

  // Logic: params and result are typed; readonly only where the DB says so.
  const mine = await stk.logic("todos/mine", { limit: 5 }, { readonly: true });
  const mineTitle: string = mine.data[0]!.title;
  await stk.logic("todos/mine");
  await stk.logic("todos/add", { title: "x" });
  // @ts-expect-error a write logic cannot be marked readonly (it would be retried)
  await stk.logic("todos/add", { title: "x" }, { readonly: true });
  // @ts-expect-error required param missing
  await stk.logic("todos/add");
  // @ts-expect-error unknown param
  await stk.logic("todos/mine", { lim: 5 });
  // @ts-expect-error wrong param type
  await stk.logic("todos/add", { title: 1 });
  // @ts-expect-error unknown logic
  await stk.logic("todos/nope");

  void [title, owner, total, id, mineTitle];
}

// Client options: an API key or project/env with an access token (a string
// or a function, sync or async).
createClient({ url: "http://x", project: "p", env: "e", accessToken: "jwt" });
createClient({ url: "http://x", project: "p", env: "e", accessToken: async () => "jwt" });
createClient({ url: "http://x", project: "p", env: "e" });
createClient({ url: "http://x", apiKey: "k", timeout: 1000, headers: { "X-Request-Id": "r1" }, fetch: globalThis.fetch });
// @ts-expect-error apiKey and accessToken exclude each other
createClient({ url: "http://x", apiKey: "k", project: "p", env: "e", accessToken: "jwt" });
// @ts-expect-error an end user needs project and env
createClient({ url: "http://x", accessToken: "jwt" });

// The loose default: any table, any column, Record rows.
export async function loose(): Promise<void> {
  const any = createClient({ url: "http://x", apiKey: "k" });
  const r = await any.db("whatever").table("t").select({ where: { col: { $gt: 1 } }, select: ["a", "b"] });
  const v: unknown = r.data[0]!["a"];
  await any.logic("anything", { x: 1 }, { readonly: true });
  void v;
}

export function errors(e: SantokitError): string {
  return `${e.code} ${e.status} ${e.message} ${e.requestId ?? ""} ${JSON.stringify(e.details ?? {})}`;
}
