/* ATS.format: the console's one set of formatting rules, the same as console/formatting.py (server side).
   Halves round away from zero on the shortest decimal of the double (Intl.NumberFormat's rule, and the server's), no negative
   zero, commas between thousands, times in the operator's zone (<html data-tz>) followed by its UTC offset. */
(function () {
  "use strict";
  var ATS = window.ATS = window.ATS || {};
  var DASH = "\u2014", cache = {};

  function toNumber(v) {
    if (v === null || v === undefined || typeof v === "boolean") return null;
    if (typeof v === "string") { var first = v.trim().split(/\s+/)[0]; if (!first) return null; v = first.replace(/,/g, ""); }
    var n = Number(v);
    return isFinite(n) ? n : null;
  }
  function formatter(places) {
    var key = "n" + places;
    if (!cache[key]) cache[key] = new Intl.NumberFormat("en-US", { minimumFractionDigits: places, maximumFractionDigits: places, roundingMode: "halfExpand" });
    return cache[key];
  }
  function fixed(n, places, signed) {
    var text = formatter(places).format(n);
    if (/^-?[0,.]+$/.test(text) && !/[1-9]/.test(text)) text = text.replace("-", "");  // no negative zero
    return signed && text.charAt(0) !== "-" && /[1-9]/.test(text) ? "+" + text : text;
  }
  function num(v, places, signed) { var n = toNumber(v); return n === null ? DASH : fixed(n, places === undefined ? 2 : places, !!signed); }
  function money(v, currency, signed) {
    var n = toNumber(v); if (n === null) return DASH;
    var parts = typeof v === "string" ? v.trim().split(/\s+/) : [];
    return fixed(n, 2, !!signed) + " " + (currency || (parts.length > 1 ? parts[1] : "USD"));
  }
  function pct(v, places, signed) {
    var n = toNumber(v); if (n === null) return DASH;
    return fixed(n * 100, places === undefined ? 2 : places, signed === undefined ? true : signed) + "%";
  }
  function qty(v) {
    var n = toNumber(v); if (n === null) return DASH;
    return trimmed(fixed(n, 8));
  }
  function trimmed(text) { return text.indexOf(".") >= 0 ? text.replace(/0+$/, "").replace(/\.$/, "") : text; }
  function sig(v, digits) {
    var n = toNumber(v); if (n === null) return DASH;
    if (n === 0) return "0";
    digits = digits === undefined ? 4 : digits;
    var shortest = n.toExponential().split("e"), exponent = Number(shortest[1]);
    if (exponent < -4) return trimmed(fixed(Number(shortest[0]), digits - 1)) + "e" + exponent;
    return trimmed(fixed(n, Math.max(0, digits - 1 - exponent)));
  }
  function zone() { return document.documentElement.getAttribute("data-tz") || "UTC"; }
  function toDate(v) {
    if (v instanceof Date) return isNaN(v.getTime()) ? null : v;
    if (typeof v === "number") return isFinite(v) ? new Date(v) : null;
    if (typeof v !== "string" || !v.trim()) return null;
    var s = v.trim();
    // A stamp without a zone is UTC (as on the server); JavaScript would read it as local time.
    if (/T\d\d:\d\d/.test(s) && !/(Z|[+-]\d\d:?\d\d)$/.test(s)) s += "Z";
    var d = new Date(s.replace(/(\.\d{3})\d+/, "$1"));
    return isNaN(d.getTime()) ? null : d;
  }
  function parts(d, tz) {
    var key = "d" + tz;
    if (!cache[key]) cache[key] = new Intl.DateTimeFormat("en-US", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZoneName: "longOffset" });
    var out = {};
    cache[key].formatToParts(d).forEach(function (p) { out[p.type] = p.value; });
    var m = /GMT([+-])(\d\d):(\d\d)/.exec(out.timeZoneName || "");
    out.offset = m && (m[2] !== "00" || m[3] !== "00") ? "UTC" + m[1] + Number(m[2]) + (m[3] !== "00" ? ":" + m[3] : "") : "UTC";
    return out;
  }
  function when(v, seconds) {
    var d = toDate(v); if (!d) return DASH;
    var p = parts(d, zone());
    return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute + (seconds === false ? "" : ":" + p.second) + " " + p.offset;
  }
  function clock(v) {
    var d = toDate(v); if (!d) return DASH;
    var p = parts(d, zone());
    return p.hour + ":" + p.minute + ":" + p.second + " " + p.offset;
  }
  function day(v) { var d = toDate(v); return d ? d.toISOString().slice(0, 10) : DASH; }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function duration(v) {
    var s = toNumber(v); if (s === null) return DASH;
    var sign = s < 0 ? "-" : ""; s = Math.abs(s);
    if (s < 1) return sign + fixed(s * 1000, 0) + " ms";
    if (s < 10) return sign + fixed(s, 1) + " s";
    var w = Math.floor(s);
    if (w < 60) return sign + w + " s";
    if (w < 3600) return sign + Math.floor(w / 60) + "m " + pad(w % 60) + "s";
    if (w < 86400) return sign + Math.floor(w / 3600) + "h " + pad(Math.floor(w % 3600 / 60)) + "m";
    return sign + Math.floor(w / 86400) + "d " + pad(Math.floor(w % 86400 / 3600)) + "h";
  }
  /* The server writes pages in the operator's saved zone, else the browser's: tell it the browser's (cookie ats_tz,
     checked against the zone names it knows) when it does not have it yet or the browser has moved. */
  try {
    var own = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    var sent = /(?:^|;\s*)ats_tz=([^;]*)/.exec(document.cookie);
    if (/^[A-Za-z0-9_+\/-]+$/.test(own) && (!sent || sent[1] !== own))  // zone names need no cookie escaping
      document.cookie = "ats_tz=" + own + "; path=/; max-age=31536000; SameSite=Lax";
  } catch (e) { /* no cookies here (a test page): the server uses UTC */ }
  ATS.format = { DASH: DASH, toNumber: toNumber, num: num, money: money, pct: pct, qty: qty, sig: sig, when: when, clock: clock,
                 day: day, duration: duration, zone: zone };
})();
