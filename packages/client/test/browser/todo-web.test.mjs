// examples/todo-web in headless Chromium (Debian's chromium, driven by
// puppeteer-core): the page signs a typed-in user in through stk dev's token
// endpoint, lists their todos, adds and completes one through the SDK's
// browser build; and CORS (SPEC §4.6, decision 0029) lets the page's origin
// call the Bridge and refuses another origin, in the browser and in a
// preflight. The Go harness tests/sdk starts `stk dev --web` and passes
// STK_WEB_URL, STK_WEB_BRIDGE_URL, STK_WEB_USER and STK_WEB_TITLE; it then
// checks that the added row is in the database.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import puppeteer from "puppeteer-core";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set: run through \`go test -tags sdk ./tests/sdk/\` (make test-ts)`);
  return v;
};
const webUrl = env("STK_WEB_URL");
const bridgeUrl = env("STK_WEB_BRIDGE_URL");
const user = env("STK_WEB_USER");
const title = env("STK_WEB_TITLE");
const webOrigin = new URL(webUrl).origin;

let browser;
let other; // a server on another origin, whose page must not reach the Bridge
before(async () => {
  browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM ?? "chromium",
    headless: true,
    // --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
    timeout: 60_000,
  });
  other = createServer((_, res) => res.end("<!doctype html><title>elsewhere</title>"));
  await new Promise((r) => other.listen(0, "127.0.0.1", r));
});
after(async () => {
  await browser?.close();
  other?.close();
});

/** A page that records console errors and failed page errors. */
async function openPage(url) {
  const page = await browser.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
  await page.goto(url, { waitUntil: "load" });
  return { page, problems };
}

const items = (page) => page.$$eval("#todos li", (lis) => lis.map((li) => ({ title: li.textContent.trim(), done: li.className === "done" })));

test("the page signs a user in, lists, adds and completes their own todos", async () => {
  const { page, problems } = await openPage(webUrl);
  await page.waitForSelector("body[data-ready=true]", { timeout: 15_000 });
  await page.type("#name", user);
  await page.click("#signin button");
  await page.waitForSelector("body[data-loaded]", { timeout: 15_000 });
  assert.equal(await page.$eval("#error", (e) => e.textContent), "");
  assert.equal(await page.$eval("#who", (e) => e.textContent), user);
  // schema.sql's rows for alice (open first), none of bob's.
  assert.deepEqual(await items(page), [
    { title: "Buy milk", done: false },
    { title: "Call Bob back", done: true },
  ]);

  await page.type("#title", title);
  await page.click("#add button");
  await page.waitForFunction((t) => [...document.querySelectorAll("#todos li")].some((li) => li.textContent.includes(t)), { timeout: 15_000 }, title);
  assert.deepEqual(await items(page), [
    { title: "Buy milk", done: false },
    { title, done: false },
    { title: "Call Bob back", done: true },
  ]);

  // Complete it: the checkbox updates the row, the list re-sorts.
  await page.$$eval("#todos li", (lis, t) => lis.find((li) => li.textContent.includes(t)).querySelector("input").click(), title);
  await page.waitForFunction((t) => [...document.querySelectorAll("#todos li.done")].some((li) => li.textContent.includes(t)), { timeout: 15_000 }, title);
  assert.deepEqual(await items(page), [
    { title: "Buy milk", done: false },
    { title: "Call Bob back", done: true },
    { title, done: true },
  ]);
  assert.equal(await page.$eval("#error", (e) => e.textContent), "");
  assert.deepEqual(problems, []);
  await page.close();
});

test("CORS in the browser: the page's origin reads X-Request-Id; another origin is refused", async () => {
  const call = (url) =>
    fetch(url + "/call", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Santokit-Project": "dev", "X-Santokit-Env": "dev" },
      body: JSON.stringify({ path: "db/main/todos/select" }),
    }).then(
      async (r) => ({ status: r.status, requestId: r.headers.get("X-Request-Id"), code: (await r.json()).error?.code }),
      (e) => ({ failed: String(e) }),
    );

  const mine = await openPage(webUrl);
  const ok = await mine.page.evaluate(call, bridgeUrl);
  // Anonymous: 401, but readable by the page, X-Request-Id exposed.
  assert.equal(ok.status, 401);
  assert.equal(ok.code, "UNAUTHORIZED");
  assert.match(ok.requestId ?? "", /\S/);
  await mine.page.close();

  const elsewhere = await browser.newPage();
  await elsewhere.goto(`http://127.0.0.1:${other.address().port}/`);
  const refused = await elsewhere.evaluate(call, bridgeUrl);
  assert.match(refused.failed ?? "", /TypeError/, JSON.stringify(refused));
  await elsewhere.close();
});

test("preflight: the page's origin gets 204 with the allow lists; another origin a 403 without CORS headers", async () => {
  const preflight = (origin) =>
    fetch(bridgeUrl + "/call", {
      method: "OPTIONS",
      headers: { Origin: origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type" },
    });
  const ok = await preflight(webOrigin);
  assert.equal(ok.status, 204);
  assert.equal(ok.headers.get("access-control-allow-origin"), webOrigin);
  assert.equal(ok.headers.get("access-control-allow-methods"), "POST");
  assert.match(ok.headers.get("access-control-allow-headers") ?? "", /Authorization/);
  assert.match(ok.headers.get("access-control-allow-headers") ?? "", /X-Santokit-Project/);

  const evil = "http://evil.example";
  const no = await preflight(evil);
  assert.equal(no.status, 403);
  assert.equal(no.headers.get("access-control-allow-origin"), null);
  const body = await no.json();
  assert.equal(body.error.code, "FORBIDDEN");
  assert.match(body.error.message, /evil\.example/);
});
