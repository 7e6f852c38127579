// Unit tests of @santokit/client (built dist/) with an injected fetch and
// node:test's fake timers: request shapes, the SPEC §3 error mapping, the
// retry rules of SPEC §13 / decision 0028, abort and timeout.
import { test, describe, beforeEach, afterEach, mock } from "node:test";
import assert from "node:assert/strict";
import { createClient, SantokitError } from "../../dist/index.js";

const URL_ = "http://bridge.test:3000";

/** A fetch that records its calls and answers from a script of responders. */
function fakeFetch(...script) {
  const calls = [];
  const fn = async (url, init) => {
    calls.push({ url, init, body: JSON.parse(init.body), headers: Object.fromEntries(init.headers) });
    const next = script.length > 1 ? script.shift() : script[0];
    return typeof next === "function" ? next(init) : next.clone();
  };
  fn.calls = calls;
  return fn;
}

const json = (status, body, headers = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
const ok = (data = [], meta = {}) => json(200, { data, meta }, { "X-Request-Id": "req_ok" });
const envelope = (status, code, extra = {}) =>
  json(status, { error: { code, message: `${code} message`, requestId: `req_${status}`, ...extra } });
const hang = (init) =>
  new Promise((_, reject) => {
    init.signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
  });
const netFail = () => Promise.reject(new TypeError("fetch failed"));

/** Lets pending promise callbacks run (setImmediate is not faked). */
const flush = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};
/** Waits until the fake fetch has been called n times. */
async function calledTimes(f, n) {
  for (let i = 0; i < 200 && f.calls.length < n; i++) await flush(1);
  assert.equal(f.calls.length, n, `fetch calls`);
}

describe("request shapes", () => {
  test("select with an API key: POST url/call, JSON body, headers", async () => {
    const f = fakeFetch(ok([{ id: 1 }], { total: 1 }));
    const stk = createClient({ url: URL_ + "/", apiKey: "stk_k1_secret", fetch: f, headers: { "X-Request-Id": "req_mine" } });
    const res = await stk.db("main").table("todos").select({ where: { done: false }, limit: 10, count: true });
    assert.deepEqual(res, { data: [{ id: 1 }], meta: { total: 1 } });
    assert.equal(f.calls.length, 1);
    const c = f.calls[0];
    assert.equal(c.url, URL_ + "/call");
    assert.equal(c.init.method, "POST");
    assert.deepEqual(c.body, { path: "db/main/todos/select", params: { where: { done: false }, limit: 10, count: true } });
    assert.deepEqual(c.headers, { "x-request-id": "req_mine", "content-type": "application/json", "x-santokit-api-key": "stk_k1_secret" });
  });

  test("insert, update, delete paths and params", async () => {
    const f = fakeFetch(ok());
    const t = createClient({ url: URL_, apiKey: "k", fetch: f }).db("crm").table("users");
    await t.insert({ data: [{ name: "Ada" }], returning: ["id"] });
    await t.update({ data: { name: "Bo" }, where: { id: 1 } });
    await t.delete({ where: { id: { $in: [1, 2] } }, returning: false });
    assert.deepEqual(
      f.calls.map((c) => c.body),
      [
        { path: "db/crm/users/insert", params: { data: [{ name: "Ada" }], returning: ["id"] } },
        { path: "db/crm/users/update", params: { data: { name: "Bo" }, where: { id: 1 } } },
        { path: "db/crm/users/delete", params: { where: { id: { $in: [1, 2] } }, returning: false } },
      ],
    );
  });

  test("logic: logics/<name>, params only when given; readonly is not sent", async () => {
    const f = fakeFetch(ok([{ n: 1 }]));
    const stk = createClient({ url: URL_, apiKey: "k", fetch: f });
    assert.deepEqual((await stk.logic("todos/stats")).data, [{ n: 1 }]);
    await stk.logic("posts/mine", { status: "draft" }, { readonly: true, headers: { "X-Request-Id": "r2" } });
    assert.deepEqual(f.calls[0].body, { path: "logics/todos/stats" });
    assert.deepEqual(f.calls[1].body, { path: "logics/posts/mine", params: { status: "draft" } });
    assert.equal(f.calls[1].headers["x-request-id"], "r2");
  });

  test("end user: project/env hints and a Bearer token from an async function, called per request", async () => {
    const f = fakeFetch(ok());
    let n = 0;
    const stk = createClient({ url: URL_, project: "shop", env: "prod", accessToken: async () => `jwt${++n}`, fetch: f });
    await stk.db("main").table("t").select();
    await stk.db("main").table("t").select();
    assert.deepEqual(f.calls[0].headers, {
      "content-type": "application/json",
      authorization: "Bearer jwt1",
      "x-santokit-project": "shop",
      "x-santokit-env": "prod",
    });
    assert.equal(f.calls[1].headers.authorization, "Bearer jwt2");
    assert.deepEqual(f.calls[0].body, { path: "db/main/t/select" });
  });

  test("no token (anonymous public call): no Authorization header; headers options cannot replace credentials, in any case", async () => {
    const f = fakeFetch(ok());
    const stk = createClient({
      url: URL_,
      project: "p",
      env: "e",
      accessToken: () => null,
      fetch: f,
      headers: { "x-santokit-project": "evil", "Content-Type": "text/plain", authorization: "Bearer forged", "X-Trace": "t1" },
    });
    await stk.db("main").table("t").select(undefined, { headers: { "X-SANTOKIT-ENV": "evil", "X-Santokit-Api-Key": "stk_x_y" } });
    assert.deepEqual(f.calls[0].headers, {
      "x-trace": "t1",
      "content-type": "application/json",
      "x-santokit-project": "p",
      "x-santokit-env": "e",
    });
  });

  test("a missing meta becomes {}", async () => {
    const f = fakeFetch(json(200, { data: [] }));
    const res = await createClient({ url: URL_, apiKey: "k", fetch: f }).db("m").table("t").select();
    assert.deepEqual(res, { data: [], meta: {} });
  });

  test("createClient rejects contradictory options", () => {
    const f = fakeFetch(ok());
    for (const [opts, re] of [
      [{ apiKey: "k", fetch: f }, /url/],
      [{ url: "bridge:3000", apiKey: "k", fetch: f }, /url/],
      [{ url: URL_, apiKey: "k", accessToken: "t", project: "p", env: "e", fetch: f }, /either apiKey or accessToken/],
      [{ url: URL_, project: "p", accessToken: "t", fetch: f }, /project and env together/],
      [{ url: URL_, fetch: f }, /give apiKey, or project and env/],
      [{ url: URL_, apiKey: "", fetch: f }, /apiKey/],
      [{ url: URL_, apiKey: "k", timeout: -1, fetch: f }, /timeout/],
    ]) {
      assert.throws(() => createClient(opts), (e) => e instanceof TypeError && re.test(e.message), JSON.stringify(opts));
    }
  });
});

describe("error mapping", () => {
  const codes = [
    [400, "BAD_REQUEST"],
    [400, "SCHEMA_VALIDATION_FAILED"],
    [401, "UNAUTHORIZED"],
    [403, "FORBIDDEN"],
    [404, "NOT_FOUND"],
    [405, "METHOD_NOT_ALLOWED"],
    [409, "CONFLICT"],
    [409, "SCHEMA_DRIFT"],
    [413, "PAYLOAD_TOO_LARGE"],
    [429, "TOO_MANY_REQUESTS"],
    [500, "INTERNAL_ERROR"],
    [503, "SERVICE_UNAVAILABLE"],
    [504, "TIMEOUT"],
  ];
  for (const [status, code] of codes) {
    test(`${status} ${code} envelope → SantokitError`, async () => {
      const details = { problems: [{ path: "params.where.x", message: "unknown column x" }] };
      // insert: never retried, so 429/503 surface at once.
      const f = fakeFetch(envelope(status, code, { details }));
      const err = await createClient({ url: URL_, apiKey: "k", fetch: f })
        .db("main")
        .table("t")
        .insert({ data: {} })
        .then(() => assert.fail("resolved"), (e) => e);
      assert.ok(err instanceof SantokitError);
      assert.ok(err instanceof Error);
      assert.equal(err.name, "SantokitError");
      assert.equal(err.code, code);
      assert.equal(err.status, status);
      assert.equal(err.message, `${code} message`);
      assert.equal(err.requestId, `req_${status}`);
      assert.deepEqual(err.details, details);
      assert.equal(f.calls.length, 1);
    });
  }

  test("requestId falls back to the X-Request-Id header; details absent → undefined", async () => {
    const f = fakeFetch(json(403, { error: { code: "FORBIDDEN", message: "no" } }, { "X-Request-Id": "req_hdr" }));
    const err = await createClient({ url: URL_, apiKey: "k", fetch: f }).db("m").table("t").delete({ where: { id: 1 } }).catch((e) => e);
    assert.equal(err.requestId, "req_hdr");
    assert.equal(err.details, undefined);
  });

  for (const [status, code] of [
    [502, "INTERNAL_ERROR"],
    [404, "NOT_FOUND"],
    [418, "BAD_RESPONSE"],
  ]) {
    test(`${status} without an envelope (a proxy's page) → ${code}`, async () => {
      const f = fakeFetch(new Response("<html>Bad Gateway</html>", { status, headers: { "X-Request-Id": "req_p" } }));
      const err = await createClient({ url: URL_, apiKey: "k", fetch: f }).db("m").table("t").insert({ data: {} }).catch((e) => e);
      assert.equal(err.code, code);
      assert.equal(err.status, status);
      assert.equal(err.requestId, "req_p");
      assert.match(err.message, new RegExp(`HTTP ${status}`));
    });
  }

  test("a 200 that is not {data, meta} → BAD_RESPONSE", async () => {
    const f = fakeFetch(new Response("OK", { status: 200 }));
    const err = await createClient({ url: URL_, apiKey: "k", fetch: f }).db("m").table("t").insert({ data: {} }).catch((e) => e);
    assert.equal(err.code, "BAD_RESPONSE");
    assert.equal(err.status, 200);
  });

  test("network error → NETWORK_ERROR, status 0, no credential in the message", async () => {
    const f = fakeFetch(netFail);
    const stk = createClient({ url: URL_, apiKey: "stk_k_topsecret", fetch: f });
    const err = await stk.db("m").table("t").insert({ data: {} }).catch((e) => e);
    assert.equal(err.code, "NETWORK_ERROR");
    assert.equal(err.status, 0);
    assert.ok(err.cause instanceof TypeError);
    assert.match(err.message, /cannot reach http:\/\/bridge\.test:3000: fetch failed/);
    assert.doesNotMatch(err.message, /s3cret|topsecret/);
  });

  test("an accessToken function's own error propagates unchanged, nothing is sent", async () => {
    const f = fakeFetch(ok());
    const boom = new Error("refresh failed");
    const stk = createClient({ url: URL_, project: "p", env: "e", accessToken: async () => { throw boom; }, fetch: f });
    await assert.rejects(stk.db("m").table("t").select(), (e) => e === boom);
    assert.equal(f.calls.length, 0);
  });
});

describe("retries (fake timers)", () => {
  beforeEach(() => {
    mock.timers.enable({ apis: ["setTimeout"] });
    mock.method(Math, "random", () => 1); // jitter at its top: delay = the ceiling
  });
  afterEach(() => {
    mock.timers.reset();
    mock.restoreAll();
  });

  test("select: 503, 503, then 200 → three tries after 200 ms and 400 ms", async () => {
    const f = fakeFetch(envelope(503, "SERVICE_UNAVAILABLE"), envelope(503, "SERVICE_UNAVAILABLE"), ok([{ id: 1 }]));
    const p = createClient({ url: URL_, apiKey: "k", fetch: f }).db("m").table("t").select();
    await calledTimes(f, 1);
    mock.timers.tick(199);
    await calledTimes(f, 1);
    mock.timers.tick(1);
    await calledTimes(f, 2);
    mock.timers.tick(399);
    await calledTimes(f, 2);
    mock.timers.tick(1);
    await calledTimes(f, 3);
    assert.deepEqual((await p).data, [{ id: 1 }]);
  });

  test("jitter: the delay is 50–100 % of the ceiling", async () => {
    mock.method(Math, "random", () => 0);
    const f = fakeFetch(envelope(503, "SERVICE_UNAVAILABLE"), ok());
    const p = createClient({ url: URL_, apiKey: "k", fetch: f }).db("m").table("t").select();
    await calledTimes(f, 1);
    mock.timers.tick(99);
    await calledTimes(f, 1);
    mock.timers.tick(1);
    await calledTimes(f, 2);
    await p;
  });

  test("select: at most 3 tries, then the last 503 is thrown", async () => {
    const f = fakeFetch(envelope(503, "SERVICE_UNAVAILABLE"));
    const p = createClient({ url: URL_, apiKey: "k", fetch: f }).db("m").table("t").select().catch((e) => e);
    await calledTimes(f, 1);
    mock.timers.tick(200);
    await calledTimes(f, 2);
    mock.timers.tick(400);
    await calledTimes(f, 3);
    mock.timers.tick(10_000);
    const err = await p;
    assert.equal(err.code, "SERVICE_UNAVAILABLE");
    assert.equal(f.calls.length, 3);
  });

  test("select: network errors are retried", async () => {
    const f = fakeFetch(netFail, ok([{ id: 2 }]));
    const p = createClient({ url: URL_, apiKey: "k", fetch: f }).db("m").table("t").select();
    await calledTimes(f, 1);
    mock.timers.tick(200);
    await calledTimes(f, 2);
    assert.deepEqual((await p).data, [{ id: 2 }]);
  });

  test("readonly logic is retried; other logic is not", async () => {
    const f = fakeFetch(envelope(503, "SERVICE_UNAVAILABLE"), ok([{ n: 1 }]));
    const stk = createClient({ url: URL_, apiKey: "k", fetch: f });
    const p = stk.logic("todos/stats", undefined, { readonly: true });
    await calledTimes(f, 1);
    mock.timers.tick(200);
    await calledTimes(f, 2);
    assert.deepEqual((await p).data, [{ n: 1 }]);

    const g = fakeFetch(envelope(503, "SERVICE_UNAVAILABLE"), ok());
    const err = await createClient({ url: URL_, apiKey: "k", fetch: g }).logic("notes/add", { body: "x" }).catch((e) => e);
    assert.equal(err.code, "SERVICE_UNAVAILABLE");
    assert.equal(g.calls.length, 1);
  });

  for (const op of ["insert", "update", "delete"]) {
    for (const [name, responder] of [
      ["503", envelope(503, "SERVICE_UNAVAILABLE")],
      ["429", envelope(429, "TOO_MANY_REQUESTS", {})],
      ["a network error", netFail],
    ]) {
      test(`${op} is never retried (${name})`, async () => {
        const f = fakeFetch(responder, ok());
        const p = createClient({ url: URL_, apiKey: "k", fetch: f })
          .db("m")
          .table("t")
          [op]({ data: { a: 1 }, where: { id: 1 } })
          .catch((e) => e);
        await calledTimes(f, 1);
        mock.timers.tick(60_000);
        await flush();
        const err = await p;
        assert.ok(err instanceof SantokitError);
        assert.equal(f.calls.length, 1);
      });
    }
  }

  test("select: 429 waits exactly Retry-After seconds", async () => {
    const f = fakeFetch(json(429, { error: { code: "TOO_MANY_REQUESTS", message: "slow down" } }, { "Retry-After": "2" }), ok());
    const p = createClient({ url: URL_, apiKey: "k", fetch: f }).db("m").table("t").select();
    await calledTimes(f, 1);
    mock.timers.tick(1999);
    await calledTimes(f, 1);
    mock.timers.tick(1);
    await calledTimes(f, 2);
    await p;
  });

  test("select: 429 whose Retry-After is over 30 s is thrown at once", async () => {
    const f = fakeFetch(json(429, { error: { code: "TOO_MANY_REQUESTS", message: "slow down" } }, { "Retry-After": "120" }), ok());
    const err = await createClient({ url: URL_, apiKey: "k", fetch: f }).db("m").table("t").select().catch((e) => e);
    assert.equal(err.code, "TOO_MANY_REQUESTS");
    assert.equal(f.calls.length, 1);
  });

  for (const [status, code] of [
    [400, "BAD_REQUEST"],
    [401, "UNAUTHORIZED"],
    [500, "INTERNAL_ERROR"],
    [504, "TIMEOUT"],
  ]) {
    test(`select: ${status} is not retried`, async () => {
      const f = fakeFetch(envelope(status, code), ok());
      const err = await createClient({ url: URL_, apiKey: "k", fetch: f }).db("m").table("t").select().catch((e) => e);
      assert.equal(err.code, code);
      assert.equal(f.calls.length, 1);
    });
  }

  test("timeout: no answer within `timeout` → TIMEOUT, status 0", async () => {
    const f = fakeFetch(hang);
    const p = createClient({ url: URL_, apiKey: "k", fetch: f, timeout: 1000 }).db("m").table("t").select().catch((e) => e);
    await calledTimes(f, 1);
    mock.timers.tick(999);
    await flush();
    assert.equal(f.calls[0].init.signal.aborted, false);
    mock.timers.tick(1);
    const err = await p;
    assert.equal(err.code, "TIMEOUT");
    assert.equal(err.status, 0);
    assert.match(err.message, /within 1000 ms/);
    assert.equal(f.calls[0].init.signal.aborted, true);
  });

  test("timeout covers the retries: a backoff cut short by the deadline → TIMEOUT, no further try", async () => {
    const f = fakeFetch(envelope(503, "SERVICE_UNAVAILABLE"), ok());
    const p = createClient({ url: URL_, apiKey: "k", fetch: f }).db("m").table("t").select(undefined, { timeout: 150 }).catch((e) => e);
    await calledTimes(f, 1);
    mock.timers.tick(150);
    const err = await p;
    assert.equal(err.code, "TIMEOUT");
    mock.timers.tick(1000);
    await flush();
    assert.equal(f.calls.length, 1);
  });

  test("abort: a signal fired mid-call → ABORTED with the reason as cause", async () => {
    const f = fakeFetch(hang);
    const ctl = new AbortController();
    const p = createClient({ url: URL_, apiKey: "k", fetch: f }).db("m").table("t").select(undefined, { signal: ctl.signal }).catch((e) => e);
    await calledTimes(f, 1);
    ctl.abort("user left");
    const err = await p;
    assert.equal(err.code, "ABORTED");
    assert.equal(err.status, 0);
    assert.equal(err.cause, "user left");
  });

  test("abort: during a backoff → ABORTED, no further try", async () => {
    const f = fakeFetch(envelope(503, "SERVICE_UNAVAILABLE"), ok());
    const ctl = new AbortController();
    const p = createClient({ url: URL_, apiKey: "k", fetch: f, signal: ctl.signal }).db("m").table("t").select().catch((e) => e);
    await calledTimes(f, 1);
    ctl.abort();
    const err = await p;
    assert.equal(err.code, "ABORTED");
    mock.timers.tick(1000);
    await flush();
    assert.equal(f.calls.length, 1);
  });

  test("abort: an already aborted signal sends nothing", async () => {
    const f = fakeFetch(ok());
    const err = await createClient({ url: URL_, apiKey: "k", fetch: f })
      .db("m")
      .table("t")
      .select(undefined, { signal: AbortSignal.abort() })
      .catch((e) => e);
    assert.equal(err.code, "ABORTED");
    assert.equal(f.calls.length, 0);
  });
});
