// mathmind review: one item at a time. Everything from the records goes in as text (textContent), never as
// HTML; KaTeX then renders the math it finds in those text nodes.
"use strict";

const token = new URLSearchParams(location.search).get("token") || "";
const $ = (id) => document.getElementById(id);
let index = [];            // [{id, group, u: machine undecided, r: machine rejected}]
let mine = {};             // id -> accept | reject | skip (the last verdict, from every tab)
let seq = 0;               // how many verdict events this tab has seen
let view = [];             // positions in `index` shown with the current filters
let at = 0;                // place in `view`
const cache = new Map();

async function api(path, body) {
  const response = await fetch(path, {
    method: body ? "POST" : "GET",
    headers: { "X-Review-Token": token, "Content-Type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${(await response.json()).error || ""}`);
  return response.json();
}

function applyEvents(events, newSeq) {
  for (const e of events) mine[e.id] = e.verdict;
  seq = Math.max(seq, newSeq);
}

function wanted(entry) {
  const filter = $("filter").value, group = $("group").value;
  if (group && entry.group !== group) return false;
  if (filter === "undecided") return entry.u;
  if (filter === "rejected") return entry.r || mine[entry.id] === "reject";
  return true;
}

function buildView(keepId) {
  view = [];
  index.forEach((entry, i) => { if (wanted(entry)) view.push(i); });
  const keep = view.findIndex((i) => index[i].id === keepId);
  at = keep >= 0 ? keep : Math.max(0, view.findIndex((i) => !mine[index[i].id]));
  return show();
}

function progress() {
  const done = view.filter((i) => mine[index[i].id]).length;
  $("progress").textContent = `${done} of ${view.length} reviewed`;
}

// `$...$` is math in MATH and R1 answers but money in GSM8K ("$5 and $10"): single dollars count only where no
// dollar sign is followed by a digit.
function renderMath(element) {
  if (!window.renderMathInElement) return;
  const delimiters = [
    { left: "$$", right: "$$", display: true }, { left: "\\[", right: "\\]", display: true },
    { left: "\\(", right: "\\)", display: false },
  ];
  if (!/\$\s?\d/.test(element.textContent)) delimiters.push({ left: "$", right: "$", display: false });
  renderMathInElement(element, { delimiters, throwOnError: false, trust: false });
}

function setText(element, text) {
  element.textContent = text == null || text === "" ? "—" : String(text);
  renderMath(element);
}

function setResponse(text, highlight) {
  const element = $("response");
  element.textContent = "";
  if (!highlight) return setText(element, text);
  const mark = document.createElement("mark");
  mark.textContent = text.slice(highlight[0], highlight[1]);
  element.append(text.slice(0, highlight[0]), mark, text.slice(highlight[1]));
  renderMath(element);
}

async function item(i) {
  if (!cache.has(i)) cache.set(i, api(`/api/item/${i}`));
  return cache.get(i);
}

async function show() {
  progress();
  if (!view.length) {
    $("item").hidden = true;
    $("message").textContent = "Nothing to review with these filters.";
    return;
  }
  const i = view[at];
  const it = await item(i);
  if (view[at] !== i) return;                 // moved on while loading
  $("message").textContent = "";
  $("item").hidden = false;
  $("position").textContent = `${at + 1} / ${view.length}`;
  $("item-id").textContent = it.id;
  $("item-group").textContent = it.group;
  $("machine").textContent = `machine: ${it.machine}`;
  const verdict = mine[it.id] || "";
  $("mine").textContent = verdict ? `your verdict: ${verdict}` : "";
  $("mine").className = `badge ${verdict}`;
  setText($("question"), it.question);
  setText($("gold"), it.gold_value != null && String(it.gold_value) !== String(it.gold) ? `${it.gold}\n→ ${it.gold_value}` : it.gold);
  setText($("extracted"), it.extracted);
  $("why").textContent = it.why ? `${it.undecided ? "why" : "reason"}: ${it.why}` : "";
  setResponse(it.response || "", it.highlight);
  $("reasoning-box").hidden = !it.reasoning;
  $("reasoning-box").open = false;
  $("reasoning-summary").textContent = `reasoning (${(it.reasoning || "").length} characters)`;
  $("reasoning").textContent = "";
  history.replaceState(null, "", `${location.search}#${encodeURIComponent(it.id)}`);
  if (at + 1 < view.length) item(view[at + 1]);   // prefetch
}

$("reasoning-box").addEventListener("toggle", async () => {
  if ($("reasoning-box").open && !$("reasoning").textContent) setText($("reasoning"), (await item(view[at])).reasoning);
});

function move(step) {
  if (!view.length) return;
  at = Math.min(view.length - 1, Math.max(0, at + step));
  show();
}

async function give(verdict) {
  if (!view.length) return;
  const id = index[view[at]].id;
  mine[id] = verdict;
  $("saved").textContent = "saving…";
  try {
    const answer = await api("/api/verdict", { id, verdict, since: seq });
    applyEvents(answer.events, answer.seq);
    $("saved").textContent = `saved: ${id} ${verdict}`;
  } catch (error) {
    delete mine[id];
    $("saved").textContent = `NOT saved: ${error.message}`;
    return show();
  }
  const next = view.findIndex((i, k) => k > at && !mine[index[i].id]);
  if (next >= 0) at = next;
  else if (at + 1 < view.length) at += 1;
  show();
}

async function poll() {
  try {
    const answer = await api(`/api/verdicts?since=${seq}`);
    if (answer.events.length) {
      applyEvents(answer.events, answer.seq);
      progress();
      const verdict = view.length ? mine[index[view[at]].id] || "" : "";
      $("mine").textContent = verdict ? `your verdict: ${verdict}` : "";
      $("mine").className = `badge ${verdict}`;
    }
  } catch (error) { $("saved").textContent = `server unreachable: ${error.message}`; }
}

const KEYS = { a: () => give("accept"), r: () => give("reject"), s: () => give("skip"),
  j: () => move(1), ArrowRight: () => move(1), k: () => move(-1), ArrowLeft: () => move(-1) };

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || event.target.tagName === "SELECT") return;
  const action = KEYS[event.key.length === 1 ? event.key.toLowerCase() : event.key];
  if (action) { event.preventDefault(); action(); }
});
for (const [button, action] of [["accept", "a"], ["reject", "r"], ["skip", "s"], ["next", "j"], ["prev", "k"]]) {
  $(button).addEventListener("click", KEYS[action]);
}
for (const select of ["filter", "group"]) {
  $(select).addEventListener("change", () => { $(select).blur(); buildView(view.length ? index[view[at]].id : null); });
}

async function start() {
  try {
    const data = await api("/api/index");
    index = data.items;
    applyEvents(data.events, data.seq);
    const name = (path) => path.split(/[\\/]/).pop();
    $("source").textContent = `${name(data.source)} → ${name(data.verdict_file)}`;
    $("source").title = `${data.source} → ${data.verdict_file}`;
    $("group-label").textContent = data.kind === "eval" ? "task" : "language";
    for (const group of [...new Set(index.map((e) => e.group))].sort()) {
      const option = document.createElement("option");
      option.value = option.textContent = group;
      $("group").append(option);
    }
    if (!index.some((e) => e.u)) $("filter").value = "all";
    await buildView(decodeURIComponent(location.hash.slice(1)) || null);
    setInterval(poll, 3000);
    document.addEventListener("visibilitychange", () => { if (!document.hidden) poll(); });
  } catch (error) {
    $("message").textContent = `Cannot load: ${error.message}`;
  }
}

start();
