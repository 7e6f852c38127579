// Security review of @santokit/client (issue #15 review, SPEC §13; decision
// 0028): no credential reaches an error message, a pre-aborted call leaves
// no listener behind on the client's signal, and the timeout bounds the
// whole call, the access-token function included.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { createClient, SantokitError } from "../../dist/index.js";

const ok = () => new Response(JSON.stringify({ data: [], meta: {} }), { status: 200 });

describe("the Bridge URL", () => {
  test("user info in url is refused at createClient, without echoing it", () => {
    for (const url of ["http://user:s3cret@bridge.test:3000", "https://s3cret@bridge.test"]) {
      assert.throws(
        () => createClient({ url, apiKey: "k", fetch: async () => ok() }),
        (e) => e instanceof TypeError && /user info/.test(e.message) && !e.message.includes("s3cret"),
        url,
      );
    }
  });

  test("a query or fragment in url is refused (it would swallow /call)", () => {
    for (const url of ["http://bridge.test:3000/?token=s3cret", "http://bridge.test:3000/#x"]) {
      assert.throws(
        () => createClient({ url, apiKey: "k", fetch: async () => ok() }),
        (e) => e instanceof TypeError && /query or fragment/.test(e.message) && !e.message.includes("s3cret"),
        url,
      );
    }
  });

  test("a base path is kept: url/prefix → url/prefix/call", async () => {
    const seen = [];
    const f = async (u) => {
      seen.push(u);
      return ok();
    };
    await createClient({ url: "https://edge.test/santokit/", apiKey: "k", fetch: f }).db("m").table("t").select();
    assert.deepEqual(seen, ["https://edge.test/santokit/call"]);
  });

  test("a network error's text carrying the URL with a credential is not echoed", async () => {
    // A fetch (or proxy library) whose error names the request URL.
    const f = async (u) => {
      throw new TypeError(`connect ECONNREFUSED while fetching ${u} with X-Santokit-Api-Key stk_live_s3cret`);
    };
    const err = await createClient({ url: "http://bridge.test:3000", apiKey: "stk_live_s3cret", fetch: f })
      .db("m")
      .table("t")
      .insert({ data: {} })
      .catch((e) => e);
    assert.ok(err instanceof SantokitError);
    assert.equal(err.code, "NETWORK_ERROR");
    assert.ok(!err.message.includes("s3cret"), err.message);
  });
});

describe("abort and timeout cleanup", () => {
  test("a call with a pre-aborted signal leaves no listener on the client's signal", async () => {
    const clientCtl = new AbortController();
    const stk = createClient({ url: "http://bridge.test:3000", apiKey: "k", fetch: async () => ok(), signal: clientCtl.signal });
    for (let i = 0; i < 5; i++) {
      const err = await stk.db("m").table("t").select(undefined, { signal: AbortSignal.abort() }).catch((e) => e);
      assert.equal(err.code, "ABORTED");
    }
    await stk.db("m").table("t").select();
    assert.equal(getEventListeners(clientCtl.signal, "abort").length, 0);
  });

  test("the timeout bounds an access-token function that never settles", async () => {
    let fetched = 0;
    const stk = createClient({
      url: "http://bridge.test:3000",
      project: "p",
      env: "e",
      accessToken: () => new Promise(() => {}),
      fetch: async () => {
        fetched++;
        return ok();
      },
      timeout: 50,
    });
    const started = Date.now();
    const err = await stk.db("m").table("t").select().catch((e) => e);
    assert.ok(err instanceof SantokitError, String(err));
    assert.equal(err.code, "TIMEOUT");
    assert.ok(Date.now() - started < 2000);
    assert.equal(fetched, 0);
  });

  test("an abort while the access-token function runs → ABORTED, nothing sent", async () => {
    const ctl = new AbortController();
    let fetched = 0;
    const stk = createClient({
      url: "http://bridge.test:3000",
      project: "p",
      env: "e",
      accessToken: () => new Promise(() => {}),
      fetch: async () => {
        fetched++;
        return ok();
      },
    });
    const p = stk.db("m").table("t").select(undefined, { signal: ctl.signal }).catch((e) => e);
    setTimeout(() => ctl.abort("left"), 10);
    const err = await p;
    assert.equal(err.code, "ABORTED");
    assert.equal(fetched, 0);
  });

  test("a per-call timeout that is not a number of ms ≥ 0 is refused", async () => {
    const stk = createClient({ url: "http://bridge.test:3000", apiKey: "k", fetch: async () => ok() });
    for (const timeout of [-1, Number.NaN, Infinity]) {
      await assert.rejects(stk.db("m").table("t").select(undefined, { timeout }), (e) => e instanceof TypeError && /timeout/.test(e.message));
    }
  });
});

describe("malformed credentials", () => {
  test("a credential that is no valid header value is refused without being echoed", async () => {
    const f = async () => ok();
    const key = createClient({ url: "http://bridge.test:3000", apiKey: "stk_k1_s3cret\u0000x", fetch: f });
    await assert.rejects(key.db("m").table("t").select(), (e) => e instanceof TypeError && /X-Santokit-Api-Key/.test(e.message) && !e.message.includes("s3cret"));
    const tok = createClient({ url: "http://bridge.test:3000", project: "p", env: "e", accessToken: async () => "eyJ.s3cret\nx", fetch: f });
    await assert.rejects(tok.db("m").table("t").select(), (e) => e instanceof TypeError && /Authorization/.test(e.message) && !e.message.includes("s3cret"));
  });
});
