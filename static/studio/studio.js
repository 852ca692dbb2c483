/* The Studio page: the spec lives in one object; the forms and the JSON text edit it, each redrawing the other;
   every change is previewed (debounced) on the catalog's bars by the server's real interpreter and engine, and
   drawn. Saving posts the spec to the audited save service. Errors are one line, shown above the results. */

import { createBuilder } from "./builder.js";
import { createCharts } from "./charts.js";
import { el, number, isNumber, parseSpec, stringifySpec } from "./util.js";

const F = window.ATS.format;  // the console's formatting rules (static/ats/format.js)
const DEBOUNCE_MS = 120;  // typing "70" is one change; the preview itself takes about a second
const meta = JSON.parse(document.getElementById("studio-meta").textContent);
const $ = (id) => document.getElementById(id);
const root = $("studio"), results = $("results"), jsonBox = $("spec-json"), errorBox = $("studio-error");
const csrf = root.querySelector("input[name=csrfmiddlewaretoken]").value;

let spec = parseSpec(meta.initial.spec_text);  // 70.0 stays a decimal: see util.Decimal
let parent = meta.initial.parent || "";
let saved = meta.initial.strategy ? { strategy: meta.initial.strategy, hash: meta.initial.spec_hash, links: meta.initial.links } : null;
let bars = null, lastResult = null;
let changeSeq = 0, changedAt = 0, timer = null, busy = false, again = false;

const charts = createCharts(window.uPlot, { price: $("price-chart"), panes: $("panes"), equity: $("equity-chart"), drawdown: $("drawdown-chart") });
const builder = createBuilder(meta, (next) => { spec = next; showJson(); schedule(); });

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = !message;
  results.classList.toggle("stale", Boolean(message));
}

function showJson() { jsonBox.value = stringifySpec(spec, 2); jsonBox.classList.remove("invalid"); }

function schedule() {
  changeSeq += 1;
  changedAt = performance.now();
  results.dataset.changeSeq = String(changeSeq);
  results.dataset.state = "pending";
  clearTimeout(timer);
  timer = setTimeout(runPreview, DEBOUNCE_MS);
}

function post(url, body) {
  return fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
    body: stringifySpec(body),
  }).then((r) => r.json().catch(() => ({ error: "the server answered " + r.status })).then((data) => ({ ok: r.ok, data: data })));
}

/* One preview in flight per page: a change made meanwhile is sent when it returns (the server runs one engine at a
   time, and an aborted fetch would not stop it), and only the latest change's result is drawn. */
function runPreview() {
  if (busy) { again = true; return; }
  busy = true; again = false;
  const seq = changeSeq, started = changedAt, sent = performance.now();
  results.dataset.state = "running";
  $("preview-status").textContent = "running on the catalog's bars…";
  const done = () => {
    const latest = seq === changeSeq && !again;
    busy = false;
    if (again) runPreview();
    return latest;
  };
  post(root.dataset.previewUrl, { spec: spec, have_bars: bars ? bars.key : "" })
    .then(({ ok, data }) => {
      if (!done()) return;  // a newer change is on its way
      if (!ok) {
        showError(data.error || "preview refused");
        results.dataset.state = "error";
        $("preview-status").textContent = "not run: fix the spec";
        results.dataset.renderedSeq = String(seq);
        return;
      }
      if (data.bars) bars = data.bars;
      const received = performance.now();
      showError("");
      lastResult = data;
      charts.render(data, bars);
      results.dataset.fetchMs = String(Math.round(received - sent));  // the request, the server's run, the JSON
      results.dataset.drawMs = String(Math.round(performance.now() - received));
      showMetrics(data);
      showTrades(data);
      showSaved();
      const ms = Math.round(performance.now() - started);
      results.dataset.renderMs = String(ms);
      results.dataset.specHash = data.spec_hash;
      results.dataset.renderedSeq = String(seq);
      results.dataset.state = "ready";
      $("preview-status").textContent = (bars.total > bars.count ? "the last " + F.num(bars.count, 0) + " of " + F.num(bars.total, 0) : F.num(bars.count, 0)) + " bars " + F.day(data.first_bar) + " → " + F.day(data.last_bar) + " · fills at the next open · warm-up " +
        F.num(data.warmup, 0) + " bars · engine " + F.duration(data.timing_ms.engine / 1000) + ", shown in " + F.duration(ms / 1000) + (bars.aggregated ? " · " + F.num(bars.shown, 0) + " candles drawn" : "");
    })
    .catch((err) => {
      if (!done()) return;
      showError("preview failed: " + err.message);
      results.dataset.state = "error";
      results.dataset.renderedSeq = String(seq);
    });
}

const TILES = [
  ["total_return", "Total return", (v) => F.pct(v, 1)], ["cagr", "CAGR", (v) => F.pct(v, 2)], ["sharpe", "Sharpe", (v) => F.num(v, 2)],
  ["max_drawdown", "Max drawdown", (v) => F.pct(v, 1)], ["trades", "Trades", (v) => F.num(v, 0)], ["win_rate", "Win rate", (v) => F.pct(v, 0, false)],
  ["exposure", "Exposure", (v) => F.pct(v, 0, false)], ["end_equity", "End equity", (v) => F.money(v)],
];

function showMetrics(data) {
  const m = data.metrics;
  $("metrics").replaceChildren(...TILES.map(([key, label, fmt]) => {
    const v = m[key], sign = typeof v === "number" && key !== "trades" && key !== "end_equity" && key !== "exposure" && key !== "win_rate" ? (v < 0 ? " neg" : v > 0 ? " pos" : "") : "";
    return el("div", { class: "tile" + sign, "data-metric": key, "data-value": v === null ? "" : String(v) }, el("span", { class: "label" }, label), el("b", null, fmt(v)));
  }));
  const entries = $("price-chart").dataset.entries, exits = $("price-chart").dataset.exits;
  $("marker-summary").textContent = "▲ " + F.num(entries, 0) + " entries, ▼ " + F.num(exits, 0) + " exits · " + F.num(m.trades, 0) + " trades" + (m.open_position ? " (one still open)" : "");
}

function showTrades(data) {
  $("trades-count").textContent = "(last " + F.num(data.trades.length, 0) + " of " + F.num(data.metrics.trades, 0) + ")";
  $("trades-body").replaceChildren(...data.trades.slice().reverse().map((t) => el("tr", null,
    el("td", null, F.day(t.entry_time)), el("td", null, F.day(t.exit_time)), el("td", { class: "num" }, F.num(t.entry_price)),
    el("td", { class: "num" }, F.num(t.exit_price)), el("td", { class: "num" }, F.pct(t.return)), el("td", { class: "num" }, F.money(t.pnl, null, true)))));
}

// -- saving and what comes next --------------------------------------------------------------------------------
function showSaved() {
  const links = saved ? saved.links : null;
  [["sweep", "link-sweep"], ["gauntlet", "link-gauntlet"], ["paper", "link-paper"], ["ladder", "link-ladder"]].forEach(([key, id]) => {
    const a = $(id);
    if (!links) { a.removeAttribute("href"); a.classList.add("disabled"); a.setAttribute("aria-disabled", "true"); return; }
    let href = links[key];
    const grid = sweepGrid();
    if (grid && (key === "sweep" || key === "gauntlet")) href = href.replace("#", "&grid=" + encodeURIComponent(JSON.stringify(grid)) + "#");
    a.href = href; a.classList.remove("disabled"); a.removeAttribute("aria-disabled");
  });
  $("links-for").textContent = saved ? saved.strategy : "save a version first";
  $("unsaved").hidden = !saved || !lastResult || lastResult.spec_hash === saved.hash;
  renderSweepFields();
}

function renderSweepFields() {
  const params = saved && spec.params && typeof spec.params === "object" ? spec.params : {};
  const body = $("sweep-fields").tBodies[0];
  const existing = new Set(Array.from(body.querySelectorAll("tr")).map((tr) => tr.dataset.param));
  const names = Object.keys(params);
  if (names.length === existing.size && names.every((n) => existing.has(n))) return;
  body.replaceChildren(...names.map((name) => {
    const v = params[name];
    const values = isNumber(v) ? [v * 0.5, v * 1, v * 1.5].map((x) => (Number.isInteger(v) ? Math.max(1, Math.round(x)) : +x.toFixed(4))) : [v];
    const box = el("input", { type: "checkbox", class: "sweep-pick", "aria-label": "Vary " + name });
    const text = el("input", { type: "text", class: "sweep-values", value: Array.from(new Set(values)).join(", "), "aria-label": "Values of " + name });
    box.addEventListener("change", showSaved); text.addEventListener("input", showSaved);
    return el("tr", { "data-param": name }, el("td", null, box), el("td", null, name), el("td", null, text));
  }));
}

function sweepGrid() {
  const grid = {};
  $("sweep-fields").querySelectorAll("tr").forEach((tr) => {
    if (!tr.querySelector(".sweep-pick").checked) return;
    const values = tr.querySelector(".sweep-values").value.split(",").map((s) => number(s)).filter((v) => v !== undefined);
    if (values.length) grid[tr.dataset.param] = values;
  });
  return Object.keys(grid).length ? grid : null;
}

function renderVersions(rows, highlight) {
  const body = $("versions-body");
  if (!rows.length) return;
  body.replaceChildren(...rows.map((v) => el("tr", { class: "version-row" + (v.strategy === highlight ? " saved" : ""), "data-strategy": v.strategy },
    el("td", null, el("a", { href: v.url }, v.strategy)), el("td", { class: "num" }, String(v.version)), el("td", null, v.author),
    el("td", null, v.created), el("td", null, v.parent || "—"), el("td", null, el("code", null, v.spec_hash)), el("td", null, v.note))));
}

$("save-button").addEventListener("click", () => {
  const result = $("save-result"), button = $("save-button");
  if (jsonBox.classList.contains("invalid")) { result.className = "refusal"; result.textContent = "fix the JSON first: nothing saved"; return; }
  button.disabled = true;
  result.className = ""; result.textContent = "saving…";
  post(root.dataset.saveUrl, { name: $("save-name").value.trim(), note: $("save-note").value, spec: spec, parent: parent })
    .then(({ ok, data }) => {
      if (!ok) { result.className = "refusal"; result.textContent = data.error || "refused"; return; }
      result.className = "ok"; result.textContent = data.message;
      saved = { strategy: data.strategy, hash: data.spec_hash, links: data.links };
      parent = data.strategy;
      renderVersions(data.versions, data.strategy);
      showSaved();
    })
    .catch((err) => { result.className = "refusal"; result.textContent = "save failed: " + err.message; })
    .finally(() => { button.disabled = !meta.may_save; });
});

// -- the JSON text --------------------------------------------------------------------------------------------
jsonBox.addEventListener("input", () => {
  let parsed;
  let problem = "";
  try { parsed = parseSpec(jsonBox.value); } catch (err) { problem = "JSON: " + String(err.message).split("\n")[0]; }
  if (!problem && (!parsed || typeof parsed !== "object" || Array.isArray(parsed))) problem = "JSON: a spec is an object, like {\"entry\": {...}}";
  if (problem) {  // the forms keep the last good spec; nothing is run or saved until the text parses
    jsonBox.classList.add("invalid");
    showError(problem);
    changeSeq += 1; results.dataset.changeSeq = String(changeSeq); results.dataset.renderedSeq = String(changeSeq);
    results.dataset.state = "error";
    $("preview-status").textContent = "not run: fix the JSON";
    clearTimeout(timer);
    return;
  }
  jsonBox.classList.remove("invalid");
  spec = parsed;
  builder.render(spec);
  schedule();
});

$("save-name").value = meta.initial.name || "";
builder.render(spec);
showJson();
showSaved();
schedule();
