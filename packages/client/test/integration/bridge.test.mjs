// Integration tests of @santokit/client against live Bridges (real stk dev
// processes serving examples/todo-web on SQLite and on PostgreSQL). The Go
// harness tests/sdk starts them (and a standalone stk-bridge over the same
// PostgreSQL) and passes them in STK_SDK_TARGETS, a JSON
// list of {name, bridgeUrl, apiKey, project, env, tokens: {alice, bob}}.
// Run it through the harness: go test -tags sdk ./tests/sdk/
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createClient, SantokitError } from "../../dist/index.js";

const raw = process.env.STK_SDK_TARGETS;
if (!raw) {
  throw new Error("STK_SDK_TARGETS is not set: run these tests through `go test -tags sdk ./tests/sdk/` (make test-ts)");
}
const targets = JSON.parse(raw);
assert.ok(targets.length >= 1, "no target");

/** Awaits a call that must fail and returns its SantokitError. */
async function failure(p) {
  const e = await p.then(
    (v) => assert.fail(`expected an error, got ${JSON.stringify(v)}`),
    (e) => e,
  );
  assert.ok(e instanceof SantokitError, `not a SantokitError: ${e}`);
  assert.match(e.requestId ?? "", /^\S+$/, "requestId");
  return e;
}

for (const t of targets) {
  describe(t.name, () => {
    const key = createClient({ url: t.bridgeUrl, apiKey: t.apiKey });
    const todos = key.db("main").table("todos");
    // Letters, digits and dashes only: it goes into $like patterns and X-Request-Id.
    const tag = `${t.name.replace(/[^a-z0-9]+/gi, "-")}-${process.pid}`;

    test("insert, select with filters, update, delete (API key)", async () => {
      const one = await todos.insert({ data: { title: `${tag} one`, owner: "carol" } });
      assert.equal(one.meta.affected, 1);
      assert.equal(one.data.length, 1);
      assert.equal(one.data[0].title, `${tag} one`);
      assert.equal(one.data[0].done, false, "booleans come back as booleans");
      assert.equal(typeof one.data[0].id, "number");

      const batch = await todos.insert({
        data: [
          { title: `${tag} two`, owner: "carol", done: true },
          { title: `${tag} three`, owner: "dave", done: false },
        ],
        returning: ["id"],
      });
      assert.equal(batch.meta.affected, 2);
      assert.deepEqual(Object.keys(batch.data[0]), ["id"]);

      const none = await todos.insert({ data: { title: `${tag} four`, owner: "dave" }, returning: false });
      assert.deepEqual(none.data, []);
      assert.equal(none.meta.affected, 1);

      const mine = await todos.select({
        select: ["title", "owner", "done"],
        where: { title: { $like: `${tag} %` }, $or: [{ owner: "carol" }, { done: { $ne: true }, owner: { $in: ["dave"] } }] },
        orderBy: [{ owner: "asc" }, { title: "desc" }],
        limit: 3,
        count: true,
      });
      assert.equal(mine.meta.total, 4);
      assert.deepEqual(mine.data, [
        { title: `${tag} two`, owner: "carol", done: true },
        { title: `${tag} one`, owner: "carol", done: false },
        { title: `${tag} three`, owner: "dave", done: false },
      ]);

      const ci = await todos.select({ select: ["title"], where: { title: { $ilike: `${tag.toUpperCase()} T%` }, $not: { done: true } } });
      assert.deepEqual(ci.data, [{ title: `${tag} three` }]);

      const upd = await todos.update({ data: { done: true }, where: { owner: "dave", title: { $like: `${tag} %` } }, returning: ["title", "done"] });
      assert.equal(upd.meta.affected, 2);
      assert.ok(upd.data.every((r) => r.done === true));

      const del = await todos.delete({ where: { title: { $like: `${tag} %` } } });
      assert.equal(del.meta.affected, 4);
      const gone = await todos.select({ where: { title: { $like: `${tag} %` } }, count: true });
      assert.deepEqual(gone, { data: [], meta: { total: 0 } });
    });

    test("errors carry the §3 code, status, a message naming the culprit and the requestId", async () => {
      let e = await failure(key.db("main").table("nope").select());
      assert.equal(e.code, "NOT_FOUND");
      assert.equal(e.status, 404);
      assert.match(e.message, /nope/);

      e = await failure(todos.select({ where: { colour: "red" } }));
      assert.equal(e.code, "BAD_REQUEST");
      assert.equal(e.status, 400);
      assert.match(e.message, /colour/);

      e = await failure(todos.select({ where: { id: { $near: 1 } } }));
      assert.equal(e.code, "BAD_REQUEST");
      assert.match(e.message, /\$near/);

      e = await failure(todos.update({ data: { done: true }, where: {} }));
      assert.equal(e.code, "BAD_REQUEST");

      // A caller-chosen X-Request-Id comes back on the error.
      e = await failure(todos.select({ limit: -1 }, { headers: { "X-Request-Id": `req-${tag}` } }));
      assert.equal(e.code, "BAD_REQUEST");
      assert.equal(e.requestId, `req-${tag}`);

      const badKey = createClient({ url: t.bridgeUrl, apiKey: t.apiKey.slice(0, -4) + "AAAA" });
      e = await failure(badKey.db("main").table("todos").select());
      assert.equal(e.code, "UNAUTHORIZED");
      assert.equal(e.status, 401);
      assert.doesNotMatch(e.message, new RegExp(t.apiKey.slice(-20)));
    });

    test("end users: a token function per request, owner rows only", async () => {
      let calls = 0;
      const alice = createClient({
        url: t.bridgeUrl,
        project: t.project,
        env: t.env,
        accessToken: async () => {
          calls++;
          return t.tokens.alice;
        },
      });
      const bob = createClient({ url: t.bridgeUrl, project: t.project, env: t.env, accessToken: t.tokens.bob });
      const at = alice.db("main").table("todos");

      const added = await at.insert({ data: { title: `${tag} alice's` } });
      assert.equal(added.data[0].owner, "alice", "owner: insert sets the owner to the token's sub");
      const id = added.data[0].id;

      const own = await at.select({ select: ["owner"] });
      assert.ok(own.data.length >= 2);
      assert.ok(own.data.every((r) => r.owner === "alice"), JSON.stringify(own.data));

      const seenByBob = await bob.db("main").table("todos").select({ where: { id } });
      assert.deepEqual(seenByBob.data, []);
      const bobUpdate = await bob.db("main").table("todos").update({ data: { done: true }, where: { id } });
      assert.equal(bobUpdate.meta.affected, 0);

      const done = await at.update({ data: { done: true }, where: { id }, returning: ["done"] });
      assert.deepEqual(done.data, [{ done: true }]);

      let e = await failure(at.insert({ data: { title: "x", owner: "bob" } }));
      assert.equal(e.code, "FORBIDDEN");
      e = await failure(at.update({ data: { owner: "bob" }, where: { id } }));
      assert.equal(e.code, "FORBIDDEN");
      assert.match(e.message, /owner/);

      assert.equal((await at.delete({ where: { id } })).meta.affected, 1);
      assert.equal(calls, 6, "the token function runs once per request");

      const anon = createClient({ url: t.bridgeUrl, project: t.project, env: t.env });
      e = await failure(anon.db("main").table("todos").select());
      assert.equal(e.code, "UNAUTHORIZED");

      const forged = createClient({ url: t.bridgeUrl, project: t.project, env: t.env, accessToken: t.tokens.alice.slice(0, -6) + "AAAAAA" });
      e = await failure(forged.db("main").table("todos").select());
      assert.equal(e.code, "UNAUTHORIZED");
    });

    test("logic: a readonly logic with params, as an end user", async () => {
      const alice = createClient({ url: t.bridgeUrl, project: t.project, env: t.env, accessToken: () => t.tokens.alice });
      const all = await alice.logic("todos/mine", undefined, { readonly: true });
      assert.ok(all.data.length >= 2);
      assert.deepEqual(Object.keys(all.data[0]).sort(), ["done", "id", "title"]);
      const first = await alice.logic("todos/mine", { limit: 1 }, { readonly: true });
      assert.equal(first.data.length, 1);
      assert.equal(first.data[0].done, false, "open todos first");

      let e = await failure(alice.logic("todos/mine", { limit: "many" }));
      assert.equal(e.code, "BAD_REQUEST");
      assert.match(e.message, /limit/);
      e = await failure(alice.logic("todos/nope"));
      assert.equal(e.code, "NOT_FOUND");
    });

    test("timeout and abort against a live Bridge", async () => {
      const ctl = new AbortController();
      ctl.abort();
      const e = await todos.select(undefined, { signal: ctl.signal }).catch((x) => x);
      assert.equal(e.code, "ABORTED");
      // A generous timeout does not fire on a normal call.
      const r = await todos.select({ limit: 1 }, { timeout: 10_000 });
      assert.equal(r.data.length, 1);
    });
  });
}
