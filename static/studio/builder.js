/* The Studio's forms: drawn from the spec object and writing every edit back into it. Structural edits (add,
   remove, rename, a new type or operator) redraw the forms; typing a value only updates the spec, so focus stays.
   The server validates: a form never refuses a value, it passes it on and the preview names the problem. */

import { el, option, number, isNumber, uniqueId, renameOperands, renameParam } from "./util.js";

const SERIES = /^([a-z][a-z0-9_]{0,39})(?:\.([a-z_]+))?(?:\[(\d{1,3})\])?$/;
const NUMBER = "#num";
const OP_LABELS = { crosses_above: "crosses ↑", crosses_below: "crosses ↓" };

export function createBuilder(meta, onChange) {
  let spec = {};
  const $ = (id) => document.getElementById(id);

  function changed(redraw) { if (redraw) render(spec); onChange(spec); }
  function asObject(value) { return value && typeof value === "object" && !Array.isArray(value) ? value : {}; }

  // -- data ---------------------------------------------------------------------------------------------------
  function renderData() {
    const catalog = meta.catalog, instruments = Object.keys(catalog);
    const inst = $("instrument"), bars = $("bar-spec"), dir = $("direction");
    inst.replaceChildren(...instruments.map((i) => option(i, i)));
    if (!instruments.includes(spec.instrument_id)) inst.append(option(spec.instrument_id || "", (spec.instrument_id || "none") + " (not in the catalog)"));
    inst.value = spec.instrument_id || "";
    const specs = catalog[spec.instrument_id] || [];
    bars.replaceChildren(...specs.map((s) => option(s, s)));
    if (!specs.includes(spec.bar_spec)) bars.append(option(spec.bar_spec || "", (spec.bar_spec || "none") + " (not in the catalog)"));
    bars.value = spec.bar_spec || "";
    dir.replaceChildren(...meta.directions.map((d) => option(d, d)));
    dir.value = spec.direction || "long";
  }

  // -- parameters ---------------------------------------------------------------------------------------------
  function renderParams() {
    const params = asObject(spec.params);
    $("params").replaceChildren(...Object.keys(params).map((name) => {
      const nameInput = el("input", { type: "text", class: "param-name", value: name, "aria-label": "Parameter name" });
      const valueInput = el("input", { type: "text", class: "param-value", value: String(params[name]), inputmode: "decimal", "aria-label": "Value of " + name });
      nameInput.addEventListener("change", () => {
        const fresh = nameInput.value.trim();
        if (!fresh || fresh === name || fresh in params) { nameInput.value = name; return; }
        spec.params = Object.fromEntries(Object.entries(params).map(([k, v]) => [k === name ? fresh : k, v]));
        renameParam(spec, name, fresh);
        changed(true);
      });
      valueInput.addEventListener("input", () => { params[name] = number(valueInput.value); changed(false); });
      const remove = el("button", { type: "button", class: "remove", title: "Remove " + name }, "×");
      remove.addEventListener("click", () => { delete params[name]; changed(true); });
      return el("div", { class: "row param-row", "data-param": name }, nameInput, valueInput, remove);
    }));
  }

  // -- indicators ---------------------------------------------------------------------------------------------
  function defaults(type) {
    const decl = { type: type };
    (meta.indicators[type] ? meta.indicators[type].args : []).forEach((a) => { if (a.default !== null && a.default !== undefined) decl[a.name] = a.default; });
    return decl;
  }

  function renderIndicators() {
    const indicators = asObject(spec.indicators);
    $("indicators").replaceChildren(...Object.keys(indicators).map((id) => {
      const decl = asObject(indicators[id]), kind = meta.indicators[decl.type];
      const idInput = el("input", { type: "text", class: "ind-id", name: "id", value: id, "aria-label": "Indicator id", title: "its name in the rules" });
      idInput.addEventListener("change", () => {
        const fresh = idInput.value.trim();
        if (!fresh || fresh === id || fresh in indicators) { idInput.value = id; return; }
        spec.indicators = Object.fromEntries(Object.entries(indicators).map(([k, v]) => [k === id ? fresh : k, v]));
        renameOperands(spec, id, fresh);
        changed(true);
      });
      const type = el("select", { class: "ind-type", name: "type", "aria-label": "Type of " + id });
      type.append(...Object.keys(meta.indicators).map((t) => option(t, t, meta.indicators[t].title)));
      if (!kind) type.append(option(String(decl.type), String(decl.type) + " (unknown)"));
      type.value = String(decl.type);
      type.addEventListener("change", () => { indicators[id] = defaults(type.value); changed(true); });
      const args = (kind ? kind.args : []).map((a) => {
        const input = el("input", { type: "text", name: "arg-" + a.name, inputmode: "decimal", value: decl[a.name] === undefined ? "" : String(decl[a.name]),
          placeholder: a.default === null || a.default === undefined ? "" : String(a.default), title: a.doc, "aria-label": id + " " + a.name });
        input.addEventListener("input", () => {
          const v = number(input.value);
          if (v === undefined) delete decl[a.name]; else decl[a.name] = v;
          changed(false);
        });
        return el("label", { class: "arg" }, a.name, input);
      });
      const remove = el("button", { type: "button", class: "remove", title: "Remove " + id }, "×");
      remove.addEventListener("click", () => { delete indicators[id]; changed(true); });
      return el("div", { class: "row indicator-row" + (kind ? "" : " unknown"), "data-id": id }, idInput, type, ...args, remove);
    }));
    const add = $("add-indicator-type");
    if (!add.options.length) add.append(...Object.keys(meta.indicators).map((t) => option(t, t + " — " + meta.indicators[t].title)));
  }

  // -- conditions ---------------------------------------------------------------------------------------------
  function group(key) {
    const cond = spec[key];
    if (!cond || typeof cond !== "object") return { mode: key === "exit" ? "any" : "all", items: [] };
    if (Array.isArray(cond.all)) return { mode: "all", items: cond.all };
    if (Array.isArray(cond.any)) return { mode: "any", items: cond.any };
    return { mode: key === "exit" ? "any" : "all", items: [cond] };
  }

  function setGroup(key, mode, items) {
    spec[key] = items.length || key === "entry" ? { [mode]: items } : null;
  }

  function seriesChoices() {
    const choices = [["Bar", meta.bar_fields.map((f) => [f, f])]];
    const indicators = asObject(spec.indicators), outputs = [];
    Object.keys(indicators).forEach((id) => {
      const kind = meta.indicators[asObject(indicators[id]).type];
      const outs = kind ? kind.outputs : ["value"];
      if (outs.length === 1) outputs.push([id, id]); else outs.forEach((o) => outputs.push([id + "." + o, id + "." + o]));
    });
    choices.push(["Indicators", outputs]);
    choices.push(["Parameters", Object.keys(asObject(spec.params)).map((p) => ["$" + p, "$" + p])]);
    return choices;
  }

  function operand(value, side, set) {
    const select = el("select", { class: "operand-select operand-" + side, "aria-label": side + " operand" });
    const known = new Set([NUMBER]);
    seriesChoices().forEach(([label, items]) => {
      if (!items.length) return;
      const g = el("optgroup", { label: label });
      items.forEach(([v, text]) => { known.add(v); g.append(option(v, text)); });
      select.append(g);
    });
    select.append(option(NUMBER, "number…"));
    const num = el("input", { type: "text", class: "operand-number number-" + side, inputmode: "decimal", "aria-label": side + " number" });
    const ago = el("input", { type: "number", class: "operand-ago ago-" + side, min: "0", max: String(meta.max_bars_ago), title: "bars ago (0: this bar)", "aria-label": side + " bars ago" });
    let base = NUMBER, back = 0;
    if (isNumber(value)) { num.value = String(value); }
    else if (typeof value === "string" && value.startsWith("$")) { base = value; }
    else if (typeof value === "string" && SERIES.test(value)) {
      const m = SERIES.exec(value); base = m[1] + (m[2] ? "." + m[2] : ""); back = Number(m[3] || 0);
    } else if (value !== undefined && value !== null) { base = String(value); }
    if (!known.has(base)) { select.append(option(base, base + " (unknown)")); select.classList.add("unknown"); }
    select.value = base; ago.value = back ? String(back) : "";
    ago.placeholder = "0";
    function show() {
      const isNumber = select.value === NUMBER, isParam = select.value.startsWith("$");
      num.hidden = !isNumber; ago.hidden = isNumber || isParam;
    }
    function commit() {
      const v = select.value;
      if (v === NUMBER) set(number(num.value) === undefined ? 0 : number(num.value));
      else if (v.startsWith("$")) set(v);
      else set(Number(ago.value) > 0 ? v + "[" + Number(ago.value) + "]" : v);
    }
    select.addEventListener("change", () => {
      ago.value = "";  // a new series starts at this bar
      if (select.value === NUMBER && num.value === "") num.value = "0";
      show(); commit(); changed(false);
    });
    num.addEventListener("input", () => { commit(); changed(false); });
    ago.addEventListener("input", () => { commit(); changed(false); });
    show();
    return el("span", { class: "operand" }, select, num, ago);
  }

  function conditionRow(key, items, index) {
    const cond = items[index];
    const remove = el("button", { type: "button", class: "remove", title: "Remove this condition" }, "×");
    remove.addEventListener("click", () => { items.splice(index, 1); setGroup(key, group(key).mode, items); changed(true); });
    if (!cond || typeof cond !== "object" || !("op" in cond)) {
      return el("div", { class: "row cond-row nested-row" }, el("span", { class: "nested" }, JSON.stringify(cond) + "  (a nested group: edit it in the JSON)"), remove);
    }
    const op = el("select", { class: "op", "aria-label": "operator" });
    op.append(...meta.operators.map((o) => option(o, OP_LABELS[o] || o, o)));
    if (!meta.operators.includes(cond.op)) op.append(option(String(cond.op), String(cond.op) + " (unknown)"));
    op.value = String(cond.op);
    op.addEventListener("change", () => {
      const between = op.value === "between", was = Array.isArray(cond.right);
      if (between && !was) cond.right = [isNumber(cond.right) ? cond.right : 0, 100];
      if (!between && was) cond.right = cond.right[0];
      cond.op = op.value;
      changed(true);
    });
    const parts = [operand(cond.left, "left", (v) => { cond.left = v; }), op];
    if (Array.isArray(cond.right)) {
      parts.push(operand(cond.right[0], "low", (v) => { cond.right[0] = v; }), el("span", { class: "muted" }, "and"),
        operand(cond.right[1], "high", (v) => { cond.right[1] = v; }));
    } else {
      parts.push(operand(cond.right, "right", (v) => { cond.right = v; }));
    }
    return el("div", { class: "row cond-row", "data-index": String(index) }, ...parts, remove);
  }

  function renderConditions(key) {
    const g = group(key);
    $(key + "-mode").value = g.mode;
    $(key).replaceChildren(...g.items.map((_, i) => conditionRow(key, g.items, i)));
    if (!g.items.length) $(key).append(el("p", { class: "muted small empty" }, key === "exit" ? "No exit condition: stops or max bars held close positions." : "No condition yet."));
  }

  function newCondition() {
    const indicators = Object.keys(asObject(spec.indicators));
    return { left: indicators.length ? seriesChoices()[1][1][0][0] : "close", op: ">", right: 0 };
  }

  // -- stops and sizing ---------------------------------------------------------------------------------------
  function renderStops() {
    const stops = asObject(spec.stops);
    const labels = { stop_loss_pct: "Stop loss %", take_profit_pct: "Take profit %", trailing_stop_pct: "Trailing stop %", max_bars_held: "Max bars held" };
    $("stops").replaceChildren(...meta.stops.flatMap((name) => {
      const input = el("input", { type: "text", id: "stop-" + name, inputmode: "decimal", value: stops[name] === undefined || stops[name] === null ? "" : String(stops[name]), placeholder: "none" });
      input.addEventListener("input", () => {
        if (!spec.stops || typeof spec.stops !== "object") spec.stops = {};
        const v = number(input.value);
        if (v === undefined) delete spec.stops[name]; else spec.stops[name] = v;
        changed(false);
      });
      return [el("label", { for: "stop-" + name }, labels[name] || name), input];
    }));
    const sizing = asObject(spec.sizing), kind = Object.keys(sizing)[0] || "notional";
    const select = $("sizing-kind");
    select.replaceChildren(...meta.sizings.map((s) => option(s, s.replace("_", " "))));
    select.value = kind;
    $("sizing-amount").value = sizing[kind] === undefined ? "" : String(sizing[kind]);
  }

  // -- wiring (once) ------------------------------------------------------------------------------------------
  function wire() {
    $("instrument").addEventListener("change", (ev) => {
      spec.instrument_id = ev.target.value;
      const specs = meta.catalog[spec.instrument_id] || [];
      if (!specs.includes(spec.bar_spec)) spec.bar_spec = specs.find((s) => s.includes("-DAY-")) || specs[0] || spec.bar_spec;
      changed(true);
    });
    $("bar-spec").addEventListener("change", (ev) => { spec.bar_spec = ev.target.value; changed(false); });
    $("direction").addEventListener("change", (ev) => { spec.direction = ev.target.value; changed(false); });
    $("add-param").addEventListener("click", () => {
      if (!spec.params || typeof spec.params !== "object") spec.params = {};
      spec.params[uniqueId("p", spec.params, true)] = 0;
      changed(true);
    });
    $("add-indicator").addEventListener("click", () => {
      const type = $("add-indicator-type").value;
      if (!spec.indicators || typeof spec.indicators !== "object") spec.indicators = {};
      spec.indicators[uniqueId(type, spec.indicators, false)] = defaults(type);
      changed(true);
    });
    ["entry", "exit"].forEach((key) => {
      $(key + "-add").addEventListener("click", () => {
        const g = group(key); g.items.push(newCondition()); setGroup(key, g.mode, g.items); changed(true);
      });
      $(key + "-mode").addEventListener("change", (ev) => { const g = group(key); setGroup(key, ev.target.value, g.items); changed(true); });
    });
    const sizingChanged = () => {
      spec.sizing = { [$("sizing-kind").value]: number($("sizing-amount").value) === undefined ? 0 : number($("sizing-amount").value) };
      changed(false);
    };
    $("sizing-kind").addEventListener("change", sizingChanged);
    $("sizing-amount").addEventListener("input", sizingChanged);
  }

  function render(next) {
    spec = next;
    renderData(); renderIndicators(); renderConditions("entry"); renderConditions("exit"); renderStops(); renderParams();
  }

  wire();
  return { render: render };
}
