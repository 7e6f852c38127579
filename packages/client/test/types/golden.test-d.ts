// The client against the real output of `stk gen types --lang ts`: the gen
// tests' golden file (packages/cli/internal/gentypes/testdata/db.ts, kept
// equal to the generator's output by its Go test). Typed calls compile;
// what the release does not expose is a compile error.
import { createClient } from "../../src/index.js";
import type { DB } from "../../../cli/internal/gentypes/testdata/db.js";

const stk = createClient<DB>({ url: "http://127.0.0.1:3000", project: "shop", env: "dev", accessToken: async () => "jwt" });
const todos = stk.db("main").table("todos");

export async function golden(): Promise<void> {
  const r = await todos.select({ select: ["id", "title", "owner"], where: { done: false, owner: { $isNull: false } }, orderBy: { id: "desc" } });
  const id: number = r.data[0]!.id;
  const owner: string | null = r.data[0]!.owner;
  await todos.insert({ data: { title: "x", id: "9007199254740993" } });
  await todos.update({ data: { done: true }, where: { id } });
  await todos.delete({ where: { id: { $in: [1, 2] } } });
  await stk.db("analytics").table("events").select({ where: { name: { $like: "sign%" } } });
  const kinds = await stk.db("main").table("kinds").select({ where: { "first name": "Ada", doc: { $eq: { a: 1 } } } });
  const price: string | null = kinds.data[0]!.price;

  const mine = await stk.logic("todos/mine", { status: "open" }, { readonly: true });
  const t: string | null = mine.data[0]!.title;
  await stk.logic("reports/bulk-close", { ids: [1, "2"], ratio: 0.5 });

  // @ts-expect-error the connection is not in the release
  stk.db("billing");
  // @ts-expect-error no rule exposes this table
  stk.db("main").table("users");
  // @ts-expect-error secret columns stay out of Insert (only the insert rule's columns)
  await todos.insert({ data: { title: "x", secret: "s" } });
  // @ts-expect-error owner is not in the update rule's columns
  await todos.update({ data: { owner: "bob" }, where: { id: 1 } });
  // @ts-expect-error unknown column in where
  await todos.select({ where: { nope: 1 } });
  // @ts-expect-error $gt on a boolean
  await todos.select({ where: { done: { $gt: true } } });
  // @ts-expect-error events are not updatable: Update is Record<string, never>
  await stk.db("analytics").table("events").update({ data: { name: "x" }, where: { id: 1 } });
  // @ts-expect-error ratio is required
  await stk.logic("reports/bulk-close", { ids: [1] });
  // @ts-expect-error a write logic is never retried
  await stk.logic("reports/bulk-close", { ids: [1], ratio: 1 }, { readonly: true });
  // @ts-expect-error unknown param
  await stk.logic("todos/mine", { state: "open" });

  void [owner, price, t];
}
