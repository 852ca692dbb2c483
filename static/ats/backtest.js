(function () {
  "use strict";
  var points = JSON.parse(document.getElementById("equity-data").textContent) || [];
  var el = document.getElementById("equity-chart");
  var xs = points.map(function (p) { return p[0] / 1000; }), ys = points.map(function (p) { return p[1]; });
  new uPlot({ width: Math.max(320, el.clientWidth || 600), height: 260, series: [{}, { label: "equity", stroke: "#1f5fbf", width: 1.5 }],
    scales: { x: { time: true } } }, [xs, ys], el);
})();
