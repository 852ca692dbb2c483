/* A backtest run's charts from the page's JSON (trading.backtests.presenters.chart_data): equity with the buy-and-hold
   benchmark, the drawdown under it, and the price with the strategy's indicator lines and each trade's entry and exit
   markers. All three share the cursor and the x zoom. */
(function () {
  "use strict";
  var node = document.getElementById("backtest-charts");
  if (!node || typeof uPlot === "undefined") return;
  var d = JSON.parse(node.textContent), F = ATS.format, C = ATS.charts;
  var money = function (v) { return F.money(v, d.currency); };
  var price = function (v) { return F.num(v, d.pricePlaces); };
  var group = "backtest";

  var eq = d.equity;
  if (eq.t.length) {
    var series = [{ label: "equity", color: "equity", legend: money }];
    var data = [eq.t, eq.equity];
    if (eq.benchmark) {
      series.push({ label: "buy & hold " + d.instrument, color: "benchmark", width: 1, dash: [6, 4], legend: money });
      data.push(eq.benchmark);
    }
    C.create("equity-chart", { height: 260, daily: d.daily, group: group, series: series, axes: [{ format: "num" }] }, data);
    C.create("drawdown-chart", { height: 140, daily: d.daily, group: group,
      series: [{ label: "drawdown", color: "down", fill: "drawdownFill", width: 1, legend: function (v) { return F.pct(v); } }],
      axes: [{ format: "pct", range: function (u, min) { return [Math.min(min, -0.001), 0]; } }] }, [eq.t, eq.drawdown]);
  }

  var p = d.price, box = document.getElementById("price-chart");
  if (p && box) {
    var markers = p.markers;
    box.dataset.markers = String(markers.length);
    box.dataset.entries = String(markers.filter(function (m) { return m.kind === "entry"; }).length);
    box.dataset.exits = String(markers.filter(function (m) { return m.kind === "exit"; }).length);
    box.dataset.lines = String(p.lines.length);
    C.create("price-chart", { height: 320, daily: d.daily, group: group,
      series: [{ label: "close", color: "price", width: 1, legend: price }].concat(p.lines.map(function (l, i) {
        return { label: l.label, color: "lines." + i, width: 1.25, legend: price };
      })),
      axes: [{ format: "num" }], draw: C.markerHook(markers, box) },
      [p.t, p.close].concat(p.lines.map(function (l) { return l.values; })));
  }
})();
