/* The Studio's charts (vendored uPlot): price with indicator overlays and entry/exit markers, one pane per
   oscillator with the levels its rules compare against, equity and drawdown. One x range for all: zoom one (drag)
   and the others follow; double-click resets. A zoom is kept across previews, so a rule can be tuned on one year. */

import { el } from "./util.js";

const COLORS = ["#e07b00", "#7a3fbf", "#1a9e8f", "#2d7dd2", "#b8860b", "#8c564b", "#d6336c"];
const AXIS = 70;  // the same y-axis width everywhere keeps the charts' x positions aligned

export function createCharts(uPlot, boxes) {
  let charts = [], xRange = null, syncing = false;
  const width = (box) => Math.max(280, Math.floor(box.clientWidth || 600));

  function onScale(u, key) {
    if (key !== "x" || syncing) return;
    const { min, max } = u.scales.x, xs = u.data[0];
    if (!xs.length) return;
    xRange = min <= xs[0] && max >= xs[xs.length - 1] ? null : { min: min, max: max };
    syncing = true;
    charts.forEach((c) => { if (c !== u && c.data[0].length) c.setScale("x", { min: min, max: max }); });
    syncing = false;
  }

  function make(box, height, series, data, draw) {
    const opts = {
      width: width(box), height: height, series: series,
      scales: { x: { time: true } },
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
      axes: [{}, { size: AXIS }],
      cursor: { sync: { key: "studio" }, drag: { x: true, y: false } },
      hooks: { setScale: [onScale], draw: draw ? [draw] : [] },
    };
    const chart = new uPlot(opts, data, box);
    chart.box = box;
    charts.push(chart);
    return chart;
  }

  function clipped(u, paint) {
    const ctx = u.ctx;
    ctx.save();
    ctx.beginPath(); ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height); ctx.clip();
    paint(ctx);
    ctx.restore();
  }

  function markerHook(markers, box) {
    return (u) => {
      const { min, max } = u.scales.x, size = 4 * uPlot.pxRatio;
      let drawn = 0;
      clipped(u, (ctx) => markers.forEach((m) => {
        if (m.t < min || m.t > max) return;
        const x = u.valToPos(m.t, "x", true), y = u.valToPos(m.price, "y", true);
        const up = m.side === "buy", gap = 3 * uPlot.pxRatio, tip = up ? y + gap : y - gap, base = up ? tip + 1.7 * size : tip - 1.7 * size;
        ctx.fillStyle = m.kind === "entry" ? "#1a7f37" : "#c0151b";
        ctx.beginPath(); ctx.moveTo(x, tip); ctx.lineTo(x - size, base); ctx.lineTo(x + size, base); ctx.closePath(); ctx.fill();
        drawn++;
      }));
      box.dataset.drawn = String(drawn);
    };
  }

  function levelHook(levels) {
    return (u) => clipped(u, (ctx) => levels.forEach((level) => {
      const y = u.valToPos(level, "y", true);
      ctx.strokeStyle = "#888"; ctx.lineWidth = uPlot.pxRatio; ctx.setLineDash([4 * uPlot.pxRatio, 4 * uPlot.pxRatio]);
      ctx.beginPath(); ctx.moveTo(u.bbox.left, y); ctx.lineTo(u.bbox.left + u.bbox.width, y); ctx.stroke();
    }));
  }

  function destroy() {
    charts.forEach((c) => c.destroy());
    charts = [];
    boxes.panes.replaceChildren();
  }

  function render(result, bars) {
    destroy();
    const xs = bars.t, markers = result.markers;
    const overlays = result.lines.filter((l) => l.pane === "price");
    const price = boxes.price;
    price.dataset.entries = String(markers.filter((m) => m.kind === "entry").length);
    price.dataset.exits = String(markers.filter((m) => m.kind === "exit").length);
    price.dataset.markers = String(markers.length);
    make(price, 300,
      [{}, { label: "close", stroke: () => window.ATS.theme.colors().ink, width: 1 }].concat(overlays.map((l, i) => ({ label: l.label, stroke: COLORS[i % COLORS.length], width: 1 }))),
      [xs, bars.c].concat(overlays.map((l) => l.values)), markerHook(markers, price));
    result.panes.forEach((pane) => {
      const lines = result.lines.filter((l) => l.pane === pane.id);
      const box = el("div", { class: "pane", id: "pane-" + pane.id, "data-levels": pane.levels.join(",") });
      boxes.panes.append(el("p", { class: "pane-title" }, pane.title + (pane.levels.length ? " · levels " + pane.levels.join(", ") : "")), box);
      make(box, 130, [{}].concat(lines.map((l, i) => ({ label: l.label, stroke: COLORS[i % COLORS.length], width: 1 }))),
        [xs].concat(lines.map((l) => l.values)), levelHook(pane.levels));
    });
    make(boxes.equity, 200, [{}, { label: "equity", stroke: "#1f5fbf", width: 1.5 }], [xs, result.equity]);
    make(boxes.drawdown, 120, [{}, { label: "drawdown", stroke: "#c0151b", fill: "rgba(192,21,27,0.15)", width: 1 }],
      [xs, result.drawdown]);
    if (xRange && xs.length && xRange.max > xs[0] && xRange.min < xs[xs.length - 1]) charts[0].setScale("x", xRange);
    else xRange = null;
  }

  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => charts.forEach((c) => c.setSize({ width: width(c.box), height: c.height })), 150);
  });

  return { render: render, count: () => charts.length };
}
