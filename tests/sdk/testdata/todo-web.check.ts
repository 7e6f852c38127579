// Compiled by tests/sdk against what `stk gen types --lang ts` writes for
// examples/todo-web (as ./db.ts) and @santokit/client's published types: the
// typed calls of the example compile, and what the release does not expose
// is a compile error (every // @ts-expect-error line must be one).
import { createClient } from "@santokit/client";
import type { DB } from "./db.js";

const stk = createClient<DB>({ url: "http://127.0.0.1:3000", project: "dev", env: "dev", accessToken: async () => "jwt" });
const todos = stk.db("main").table("todos");

export async function check(): Promise<void> {
  const { data } = await todos.select({
    select: ["id", "title", "done"],
    where: { done: false, owner: { $isNull: false }, title: { $ilike: "%milk%" } },
    orderBy: [{ done: "asc" }, { id: "asc" }],
  });
  const id: number = data[0]!.id;
  const title: string = data[0]!.title;
  const done: boolean = data[0]!.done;
  await todos.insert({ data: { title: "x" }, returning: false });
  await todos.update({ data: { done: true }, where: { id }, returning: ["done"] });
  await todos.delete({ where: { id: { $in: [id] } } });
  const mine = await stk.logic("todos/mine", { limit: 5 }, { readonly: true });
  const mineTitle: string | null = mine.data[0]!.title;

  // @ts-expect-error no such table in the release
  stk.db("main").table("users");
  // @ts-expect-error no such connection
  stk.db("analytics");
  // @ts-expect-error no such column
  await todos.select({ where: { colour: "red" } });
  // @ts-expect-error title is required on insert
  await todos.insert({ data: { done: true } });
  // @ts-expect-error done is a boolean
  await todos.update({ data: { done: "yes" }, where: { id } });
  // @ts-expect-error $like on a boolean column
  await todos.select({ where: { done: { $like: "t%" } } });
  // @ts-expect-error unknown logic param
  await stk.logic("todos/mine", { lim: 1 });
  // @ts-expect-error no such logic
  await stk.logic("todos/add");

  void [title, done, mineTitle];
}
