/* Small helpers of the Studio's modules: elements, numbers as typed, ids, renames across a spec. */

export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([k, v]) => {
    if (v === undefined || v === null) return;
    if (k === "value") e.value = v; else e.setAttribute(k, v);
  });
  children.forEach((c) => { if (c !== undefined && c !== null) e.append(c instanceof Node ? c : document.createTextNode(String(c))); });
  return e;
}

export function option(value, text, title) {
  const o = document.createElement("option");
  o.value = value; o.textContent = text;
  if (title) o.title = title;
  return o;
}

/* A typed value as the spec holds it: a number, a "$param", nothing (empty), or the text as typed (the server
   then says what is wrong with it, naming the field). */
export function number(text) {
  const t = String(text).trim();
  if (t === "") return undefined;
  if (t.startsWith("$")) return t;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}

export function uniqueId(base, taken, numbered) {
  if (!numbered && !(base in taken)) return base;
  for (let i = numbered ? 1 : 2; ; i++) if (!((base + i) in taken)) return base + i;
}

const OPERAND = /^([a-z][a-z0-9_]{0,39})((?:\.[a-z_]+)?(?:\[\d{1,3}\])?)$/;

function walkConditions(cond, visit) {
  if (!cond || typeof cond !== "object") return;
  ["all", "any"].forEach((k) => { if (Array.isArray(cond[k])) cond[k].forEach((c) => walkConditions(c, visit)); });
  if ("op" in cond) visit(cond);
}

/* An indicator renamed: every operand reading it follows (sma -> trend: "sma[1]" becomes "trend[1]"). */
export function renameOperands(spec, old, fresh) {
  const rename = (v) => {
    if (typeof v !== "string") return v;
    const m = OPERAND.exec(v);
    return m && m[1] === old ? fresh + m[2] : v;
  };
  ["entry", "exit"].forEach((key) => walkConditions(spec[key], (c) => {
    c.left = rename(c.left);
    c.right = Array.isArray(c.right) ? c.right.map(rename) : rename(c.right);
  }));
}

/* A parameter renamed: every "$old" in indicators, rules and stops follows. */
export function renameParam(spec, old, fresh) {
  const walk = (node) => {
    if (Array.isArray(node)) return node.map(walk);
    if (node && typeof node === "object") { Object.keys(node).forEach((k) => { node[k] = walk(node[k]); }); return node; }
    return node === "$" + old ? "$" + fresh : node;
  };
  ["indicators", "entry", "exit", "stops"].forEach((key) => { if (spec[key]) spec[key] = walk(spec[key]); });
}

export function pct(v, digits) { return v === null || v === undefined ? "—" : (v * 100).toFixed(digits === undefined ? 1 : digits) + "%"; }
export function fixed(v, digits) { return v === null || v === undefined ? "—" : Number(v).toFixed(digits); }
