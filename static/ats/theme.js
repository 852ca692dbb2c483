/* The colour theme: light, dark, or the system's (prefers-color-scheme), chosen in the top bar and remembered in
   localStorage. Loaded in <head> (not deferred, after the stylesheet) so <html data-theme> is set before the first
   paint; an external file because the Content-Security-Policy forbids inline scripts.

   Charts: ATS.theme.colors() gives the theme's colours (from the CSS custom properties); document hears
   `ats:themechange` (detail: {theme, colors}) when the theme changes. Every uPlot chart gets the theme's axis, tick
   and grid colours unless its options set their own, and is redrawn on a change. */
(function () {
  "use strict";
  var ATS = window.ATS = window.ATS || {};
  var KEY = "ats-theme", PREFS = ["system", "light", "dark"], root = document.documentElement;
  var media = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  var VARS = {
    bg: "--bg", surface: "--surface", ink: "--ink", muted: "--muted", line: "--line", link: "--link",
    ok: "--ok", bad: "--bad", warn: "--warn", realMoney: "--real-money",
    axis: "--chart-axis", grid: "--chart-grid", accent: "--chart-line", chartBad: "--chart-bad", chartOk: "--chart-ok"
  };
  var FALLBACK = { light: { ink: "#1d2330", axis: "#3a4150", grid: "rgba(0,0,0,.08)" },
                   dark: { ink: "#e3e7ee", axis: "#c3cad6", grid: "rgba(255,255,255,.09)" } };
  var cache = null, charts = [];

  function pref() {
    try { var v = localStorage.getItem(KEY); return PREFS.indexOf(v) > 0 ? v : "system"; } catch (e) { return "system"; }
  }
  function resolve(p) { return p === "system" ? (media && media.matches ? "dark" : "light") : p; }
  function apply() { var p = pref(); root.dataset.theme = resolve(p); root.dataset.themePref = p; }

  /* The current theme's colours, read from the stylesheet's custom properties. */
  function colors() {
    if (cache) return cache;
    var style = getComputedStyle(root), out = { theme: root.dataset.theme }, fallback = FALLBACK[root.dataset.theme] || FALLBACK.light;
    Object.keys(VARS).forEach(function (k) { out[k] = style.getPropertyValue(VARS[k]).trim() || fallback[k] || ""; });
    if (out.ink) cache = out;  // an unstyled page (stylesheet not in yet) is read again next time
    return out;
  }

  function changed() {
    var before = root.dataset.theme;
    apply();
    var select = document.getElementById("theme-select");
    if (select) select.value = root.dataset.themePref;
    if (root.dataset.theme === before) return;
    cache = null;
    charts = charts.filter(function (c) { return c.root && c.root.isConnected; });
    charts.forEach(function (c) { c.redraw(true, true); });
    document.dispatchEvent(new CustomEvent("ats:themechange", { detail: { theme: root.dataset.theme, colors: colors() } }));
  }

  /* Choose "light", "dark" or "system"; remembered for this browser. */
  function set(p) {
    if (PREFS.indexOf(p) < 0) p = "system";
    try { if (p === "system") localStorage.removeItem(KEY); else localStorage.setItem(KEY, p); } catch (e) { /* private mode */ }
    changed();
  }

  /* uPlot options with the theme's axis colours wherever the chart's own options leave them unset. Functions, so a
     redraw after a theme change picks up the new colours. */
  function axisColor() { return colors().axis; }
  function gridColor() { return colors().grid; }
  function themedOptions(opts) {
    var axes = opts.axes || [];
    opts.axes = [axes[0], axes[1]].concat(axes.slice(2)).map(function (a) {  // uPlot always has an x and a y axis
      a = Object.assign({}, a || {});
      if (a.stroke === undefined) a.stroke = axisColor;
      a.grid = Object.assign({ stroke: gridColor }, a.grid || {});
      a.ticks = Object.assign({ stroke: gridColor }, a.ticks || {});
      return a;
    });
    return opts;
  }
  function wrapUPlot(U) {
    if (typeof U !== "function" || U.atsThemed) return U;
    return new Proxy(U, {
      construct: function (target, args) {
        args = Array.prototype.slice.call(args);
        args[0] = themedOptions(Object.assign({}, args[0] || {}));
        var chart = Reflect.construct(target, args);
        if (charts.length > 64) charts = charts.filter(function (c) { return c.root && c.root.isConnected; });
        charts.push(chart);
        return chart;
      },
      get: function (target, key) { return key === "atsThemed" ? true : Reflect.get(target, key); }
    });
  }
  // The vendored uPlot (an IIFE: `var uPlot = ...`) loads later; its assignment to the global goes through here.
  if (!("uPlot" in window)) {
    var uPlotRef;
    Object.defineProperty(window, "uPlot", {
      configurable: true, enumerable: true,
      get: function () { return uPlotRef; },
      set: function (U) { uPlotRef = wrapUPlot(U); }
    });
  }

  ATS.theme = {
    pref: pref, current: function () { return root.dataset.theme; }, set: set, colors: colors,
    uplotOptions: themedOptions
  };

  apply();
  if (media) {
    var follow = function () { if (pref() === "system") changed(); };
    if (media.addEventListener) media.addEventListener("change", follow); else if (media.addListener) media.addListener(follow);
  }
  window.addEventListener("storage", function (ev) { if (ev.key === KEY || ev.key === null) changed(); });  // other tabs
  document.addEventListener("DOMContentLoaded", function () {
    var select = document.getElementById("theme-select");
    if (!select) return;
    select.value = root.dataset.themePref;
    select.addEventListener("change", function () { set(select.value); });
  });
})();
