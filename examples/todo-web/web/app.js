// The todo-web example: a static page that talks to the Bridge directly with
// @santokit/client's browser build (./santokit.js, copied from
// packages/client/dist/santokit.browser.js by `make todo-web`). The user types
// a name, the page gets an end-user token for it from stk dev's development
// issuer (a dev-only loopback endpoint), and lists, adds and completes that
// user's own todos: permissions say owner: owner, so the Bridge adds
// owner = <name> to every query and sets it on insert. No API key is ever in
// the page.
//
// Where the servers are: `stk dev --web` serves /santokit-dev.json
// ({bridgeUrl, project, env, tokenUrl}, decision 0029), so the page works on
// whatever ports the stack runs.
import { createClient, SantokitError } from "./santokit.js";

const dev = await (await fetch("./santokit-dev.json")).json();

const $ = (id) => document.getElementById(id);
let token = null;

// The token function is called before every request, as a real auth
// library's getToken() would be (and could refresh there).
const stk = createClient({ url: dev.bridgeUrl, project: dev.project, env: dev.env, accessToken: () => token });
const todos = stk.db("main").table("todos");

function showError(e) {
  $("error").textContent =
    e instanceof SantokitError ? `${e.code}: ${e.message}${e.requestId ? ` (request ${e.requestId})` : ""}` : String(e);
}

async function signIn(name) {
  const res = await fetch(dev.tokenUrl, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ sub: name }),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok || typeof body.token !== "string") {
    throw new Error(body.error?.message ?? `token endpoint answered HTTP ${res.status}`);
  }
  token = body.token;
}

async function refresh() {
  const { data } = await todos.select({ select: ["id", "title", "done"], orderBy: [{ done: "asc" }, { id: "asc" }] });
  const list = $("todos");
  list.replaceChildren(
    ...data.map((t) => {
      const li = document.createElement("li");
      li.dataset.id = String(t.id);
      li.className = t.done ? "done" : "";
      const box = document.createElement("input");
      box.type = "checkbox";
      box.checked = t.done;
      box.addEventListener("change", () => run(() => complete(t.id, box.checked)));
      const span = document.createElement("span");
      span.textContent = " " + t.title;
      li.append(box, span);
      return li;
    }),
  );
  document.body.dataset.loaded = String(data.length);
}

async function complete(id, done) {
  await todos.update({ data: { done }, where: { id }, returning: false });
  await refresh();
}

async function run(fn) {
  $("error").textContent = "";
  try {
    await fn();
  } catch (e) {
    showError(e);
  }
}

$("signin").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const name = $("name").value.trim();
  run(async () => {
    await signIn(name);
    $("who").textContent = name;
    $("signin").hidden = true;
    $("app").hidden = false;
    await refresh();
  });
});

$("add").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const title = $("title").value.trim();
  run(async () => {
    await todos.insert({ data: { title }, returning: false });
    $("title").value = "";
    await refresh();
  });
});

document.body.dataset.ready = "true";
