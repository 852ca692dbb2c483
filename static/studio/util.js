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

/* A whole number written as a decimal (70.0): JavaScript numbers cannot tell it from 70, but the spec can — a
   parameter's type follows how its default is written (70: whole, 70.0: decimal), and the saved text is hashed. */
export class Decimal {
  constructor(value) { this.value = value; }
  valueOf() { return this.value; }
  toString() { return Number.isInteger(this.value) ? this.value.toFixed(1) : String(this.value); }
}

export function isNumber(v) { return typeof v === "number" || v instanceof Decimal; }

const MARK = "\u0000decimal";  // a key and a text no spec holds (JSON writes the NUL as \u0000)

/* JSON.parse, except that a whole number written with a fraction or an exponent stays a Decimal. */
export function parseSpec(text) {
  JSON.parse(text);  // the browser's own message (and position) for text that is not JSON
  const token = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  let out = "", i = 0, inString = false;
  while (i < text.length) {
    const ch = text[i];
    if (inString) {
      if (ch === "\\") { out += text.slice(i, i + 2); i += 2; continue; }
      if (ch === '"') inString = false;
      out += ch; i++; continue;
    }
    if (ch === '"') { inString = true; out += ch; i++; continue; }
    if (ch === "-" || (ch >= "0" && ch <= "9")) {
      token.lastIndex = i;
      const m = token.exec(text), t = m[0];
      out += /[.eE]/.test(t) && Number.isInteger(Number(t)) ? '{"\\u0000decimal":' + t + "}" : t;
      i += t.length; continue;
    }
    out += ch; i++;
  }
  return JSON.parse(out, (k, v) => (v && typeof v === "object" && !Array.isArray(v) && MARK in v ? new Decimal(v[MARK]) : v));
}

/* JSON.stringify that writes a Decimal as 70.0. */
export function stringifySpec(value, indent) {
  const text = JSON.stringify(value, (k, v) => (v instanceof Decimal ? MARK + String(v) + MARK : v), indent);
  return text.replace(/"\\u0000decimal([^"\\]*)\\u0000decimal"/g, "$1");
}

/* A typed value as the spec holds it: a number (70.0 a Decimal), a "$param", nothing (empty), or the text as typed
   (the server then says what is wrong with it, naming the field). */
export function number(text) {
  const t = String(text).trim();
  if (t === "") return undefined;
  if (t.startsWith("$")) return t;
  const n = Number(t);
  if (!Number.isFinite(n)) return t;
  return /[.eE]/.test(t) && Number.isInteger(n) ? new Decimal(n) : n;
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
