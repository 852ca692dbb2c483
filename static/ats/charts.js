/* ATS.charts: the console's uPlot charts (static/vendor/uplot) with y axes sized to their widest tick label, ticks
   and legends written by ATS.format, colours from one function (the theme's when it has one), cursors and zoom shared
   by the charts of one group, and a redraw when the window is resized or the theme changes. */
(function () {
  "use strict";
  var ATS = window.ATS = window.ATS || {};
  var F = ATS.format;
  var DEFAULTS = {
    ink: "#1d2330", muted: "#667", grid: "#dde", up: "#1a7f37", down: "#c0151b", equity: "#1f5fbf", benchmark: "#8a8f99",
    price: "#1d2330", pnl: "#6b3fbf", position: "#b26b00", drawdownFill: "rgba(192,21,27,0.15)", background: "#fff",
    lines: ["#e07b00", "#7a3fbf", "#1a9e8f", "#2d7dd2", "#b8860b", "#8c564b", "#d6336c"]
  };
  var CSS_VARS = { ink: "--ink", muted: "--muted", grid: "--line", up: "--ok", down: "--bad" };
  var instances = {};
  var measure = document.createElement("canvas").getContext("2d");

  /* The charts' colours: ATS.theme.colors() (the dark theme) where it exists, else the page's CSS variables, else
     the defaults above; a key the theme does not name keeps its default. */
  function colors() {
    var out = Object.assign({}, DEFAULTS), css = getComputedStyle(document.documentElement);
    Object.keys(CSS_VARS).forEach(function (k) { var v = css.getPropertyValue(CSS_VARS[k]).trim(); if (v) out[k] = v; });
    if (ATS.theme && typeof ATS.theme.colors === "function") {
      var t = ATS.theme.colors() || {};
      // The theme names its colours by role; the charts by series.
      var map = { ink: t.ink, price: t.ink, muted: t.muted, grid: t.grid, equity: t.accent, up: t.chartOk,
                  down: t.chartBad, background: t.surface };
      Object.keys(map).forEach(function (k) { if (map[k]) out[k] = map[k]; });
    }
    return out;
  }

  /* The width in CSS pixels of a tick label drawn in an axis's font (uPlot keeps the font scaled by pxRatio). */
  function labelWidth(u, axisIdx, text) {
    measure.font = u.axes[axisIdx].font[0];
    return measure.measureText(String(text)).width / uPlot.pxRatio;
  }

  /* uPlot axes[].size: room for the tick marks, the gap and the widest formatted label, so 110,000 is never cut. */
  function axisSize(u, values, axisIdx, cycleNum) {
    var axis = u.axes[axisIdx];
    if (cycleNum > 1 && axis._size) return axis._size;  // uPlot asks again until the layout settles: keep the answer
    var widest = 0;
    (values || []).forEach(function (v) { if (v !== null && v !== undefined) widest = Math.max(widest, labelWidth(u, axisIdx, v)); });
    return Math.ceil(axis.ticks.size + axis.gap + widest + 4);
  }

  /* One group's charts line their plots up under each other (a cursor at one time is at one x in all of them): the
     left y axes take the widest of their sizes, and a chart without a right axis is padded by the widest right one. */
  var groupWidth = {}, groupRight = {};
  function groupAxisSize(group) {
    return function (u, values, axisIdx, cycleNum) {
      var own = axisSize(u, values, axisIdx, cycleNum), side = u.axes[axisIdx].side;
      var widths = side === 1 ? groupRight : groupWidth;
      if (!group || (side !== 1 && side !== 3)) return own;
      if (own > (widths[group] || 0)) {
        widths[group] = own;
        requestAnimationFrame(function () { align(group); });  // the others follow (new data, a zoom)
      }
      return side === 3 ? widths[group] : own;
    };
  }
  function rightPadding(group) {
    return function (u, side, sidesWithAxes) { return sidesWithAxes[1] ? 0 : groupRight[group] || 25; };  // 25: uPlot's own
  }
  function misaligned(u, group) {
    var left = u.axes[1], hasRight = u.axes.some(function (a) { return a.side === 1 && a.show !== false; });
    return (left && left._size < (groupWidth[group] || 0)) || (!hasRight && u._padding[1] < (groupRight[group] || 0));
  }
  function align(group) {
    Object.keys(instances).forEach(function (id) {
      var u = instances[id];
      if (u.ats.group === group && misaligned(u, group)) u.setSize({ width: u.width, height: u.height });
    });
  }

  /* Decimal places that show a tick step exactly (a step of 0.25 needs 2), at most max. */
  function places(step, max) {
    for (var p = 0; p < max; p++) {
      var scaled = Math.abs(step) * Math.pow(10, p);
      if (Math.abs(scaled - Math.round(scaled)) < 1e-6 * Math.max(1, scaled)) return p;
    }
    return max;
  }
  var TICKS = {
    num: function (u, splits, i, space, step) { var p = places(step, 6); return splits.map(function (v) { return F.num(v, p); }); },
    pct: function (u, splits, i, space, step) { var p = places(step * 100, 4); return splits.map(function (v) { return F.pct(v, p); }); },
    qty: function (u, splits) { return splits.map(function (v) { return F.qty(v); }); }
  };

  /* A colour by its key ("equity", "lines.2": the third indicator colour) or as given. */
  function pick(c, key) {
    if (!key) return c.ink;
    var m = /^lines\.(\d+)$/.exec(key);
    return m ? c.lines[Number(m[1]) % c.lines.length] : c[key] || key;
  }

  /* Time ticks as the console writes times: daily bars by UTC date (2018, 2018-03, 2018-03-05); intraday in the
     operator's zone, 24-hour, with the date under the first tick of each day. */
  function timeTicks(daily) {
    return function (u, splits, axisIdx, space, step) {
      var lastDate = null;
      return splits.map(function (v) {
        if (v === null || v === undefined) return null;
        var ms = v * 1000;
        if (daily || step >= 86400) {
          var date = daily ? F.day(ms) : F.when(ms).slice(0, 10);
          return step >= 365 * 86400 - 3600 ? date.slice(0, 4) : step >= 28 * 86400 ? date.slice(0, 7) : date;
        }
        var text = F.when(ms), day = text.slice(0, 10), time = text.slice(11, step < 60 ? 19 : 16);
        var label = day !== lastDate ? time + "\n" + day : time;
        lastDate = day;
        return label;
      });
    };
  }

  function xValue(daily) {
    return function (u, v) { return v === null || v === undefined ? "—" : daily ? F.day(v * 1000) : F.when(v * 1000); };
  }
  function width(el) { return Math.max(280, Math.floor(el.clientWidth || (el.parentNode && el.parentNode.clientWidth) || 600)); }

  /* x zoom shared by a group: zoom one (drag) and the others follow. */
  var syncing = false;
  function followScale(u, key) {
    if (key !== "x" || syncing || !u.ats.group) return;
    var min = u.scales.x.min, max = u.scales.x.max;
    syncing = true;
    Object.keys(instances).forEach(function (id) {
      var other = instances[id];
      if (other !== u && other.ats.group === u.ats.group && other.data[0].length) other.setScale("x", { min: min, max: max });
    });
    syncing = false;
  }

  /* Build one chart from a spec: {height, daily, group, series: [{label, color key or value, scale, width, fill,
     format, points, paths}], axes: [{scale, format: num|pct|qty, side}], draw(u, colors)}; data as uPlot takes it. */
  function build(el, spec, data) {
    var c = colors();
    var series = [{ value: xValue(spec.daily) }].concat(spec.series.map(function (s) {
      var stroke = pick(c, s.color);
      var out = { label: s.label, stroke: stroke, width: s.width || 1.5, scale: s.scale || "y",
        value: s.value || function (u, v) { return v === null || v === undefined ? "—" : s.legend ? s.legend(v) : F.num(v); } };
      if (s.fill) out.fill = pick(c, s.fill);
      if (s.dash) out.dash = s.dash;
      if (s.paths) out.paths = s.paths;
      out.points = s.points ? Object.assign({}, s.points, { fill: stroke, stroke: stroke }) : { show: false };
      if (s.show === false) out.show = false;
      return out;
    }));
    var axis = { stroke: c.ink, grid: { stroke: c.grid, width: 1 }, ticks: { stroke: c.grid, width: 1 } };
    var axes = [Object.assign({}, axis, { values: timeTicks(spec.daily) })].concat((spec.axes || [{ scale: "y", format: "num" }]).map(function (a) {
      return Object.assign({}, axis, { scale: a.scale || "y", side: a.side === undefined ? 3 : a.side, size: groupAxisSize(spec.group),
        values: TICKS[a.format || "num"], grid: a.side === 1 ? { show: false } : axis.grid });
    }));
    var scales = { x: { time: true } };
    (spec.axes || []).forEach(function (a) { if (a.range) scales[a.scale || "y"] = { range: a.range }; });
    var zone = spec.daily ? "Etc/UTC" : F.zone();
    var opts = {
      width: width(el), height: spec.height || 240, series: series, axes: axes, scales: scales,
      padding: spec.group ? [null, rightPadding(spec.group), null, null] : undefined,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), zone); },
      cursor: { sync: { key: spec.group || el.id }, drag: { x: true, y: false } },
      legend: { live: true },
      hooks: { setScale: [followScale], draw: spec.draw ? [function (u) { spec.draw(u, c); }] : [] }
    };
    el.textContent = "";
    var u = new uPlot(opts, data, el);
    u.ats = { group: spec.group, spec: spec, el: el };
    return u;
  }

  /* Make (or remake) the chart in element `id`; the page keeps calling setData on what this returns. */
  function create(id, spec, data) {
    var el = document.getElementById(id);
    if (!el) return null;
    if (instances[id]) instances[id].destroy();
    instances[id] = build(el, spec, data || spec.series.map(function () { return []; }).concat([[]]));
    if (spec.group) align(spec.group);
    return instances[id];
  }
  function get(id) { return instances[id] || null; }
  /* New data for the chart in `id` (whichever instance holds it now: a theme change rebuilds them). */
  function setData(id, data) { if (instances[id]) instances[id].setData(data); }

  function rebuildAll() {
    Object.keys(instances).forEach(function (id) {
      var u = instances[id], data = u.data, x = u.scales.x;
      var zoomed = data[0].length && (x.min > data[0][0] || x.max < data[0][data[0].length - 1]);
      var range = { min: x.min, max: x.max };
      u.destroy();
      instances[id] = build(u.ats.el, u.ats.spec, data);
      if (zoomed) instances[id].setScale("x", range);
    });
    Object.keys(groupWidth).concat(Object.keys(groupRight)).forEach(align);
  }
  document.addEventListener("ats:themechange", rebuildAll);
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      Object.keys(instances).forEach(function (id) { var u = instances[id]; u.setSize({ width: width(u.ats.el), height: u.height }); });
    }, 150);
  });

  /* Draw inside the plot area only. */
  function clipped(u, paint) {
    var ctx = u.ctx;
    ctx.save();
    ctx.beginPath(); ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height); ctx.clip();
    paint(ctx);
    ctx.restore();
  }

  /* A draw hook marking fills: ▲ buy below its price, ▼ sell above it, entries solid and exits hollow. Markers
     are {t (epoch s), price, side: buy|sell, kind: entry|exit}; the element gets data-drawn (markers in view). */
  function markerHook(markers, el) {
    return function (u, c) {
      var min = u.scales.x.min, max = u.scales.x.max, size = 4.5 * uPlot.pxRatio, gap = 2 * uPlot.pxRatio, drawn = 0;
      clipped(u, function (ctx) {
        ctx.lineWidth = 1.5 * uPlot.pxRatio;
        markers.forEach(function (m) {
          if (m.t < min || m.t > max) return;
          var x = u.valToPos(m.t, "x", true), y = u.valToPos(m.price, "y", true), up = m.side === "buy";
          var tip = up ? y + gap : y - gap, base = up ? tip + 1.8 * size : tip - 1.8 * size, color = up ? c.up : c.down;
          ctx.beginPath(); ctx.moveTo(x, tip); ctx.lineTo(x - size, base); ctx.lineTo(x + size, base); ctx.closePath();
          if (m.kind === "exit") { ctx.fillStyle = c.background; ctx.fill(); ctx.strokeStyle = color; ctx.stroke(); }
          else { ctx.fillStyle = color; ctx.fill(); }
          drawn++;
        });
      });
      el.dataset.drawn = String(drawn);
    };
  }

  ATS.charts = { colors: colors, axisSize: axisSize, labelWidth: labelWidth, places: places, create: create, get: get, setData: setData,
                 markerHook: markerHook, rebuild: rebuildAll, all: function () { return Object.keys(instances); } };
})();
