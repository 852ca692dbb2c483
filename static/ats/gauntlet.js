/* A gauntlet report: the chosen point's equity and drawdown charts, and, while it runs, its progress polled
   every second from progress.json (counts, job statuses, then the rung rows) until it has finished. */
(function () {
  "use strict";
  var box = document.getElementById("report");
  if (!box) return;

  /* The chosen point's equity and its drawdown, on ATS.charts: axes sized to their labels, the drawdown in signed
     percentages, the theme's colours, one cursor and zoom for both. */
  function drawCharts() {
    var data = document.getElementById("equity-data");
    if (!data || !document.getElementById("equity-chart") || typeof uPlot === "undefined" || !ATS.charts) return;
    var points = JSON.parse(data.textContent) || [];
    if (!points.length) return;
    var xs = [], equity = [], drawdown = [], peak = -Infinity, F = ATS.format;
    points.forEach(function (p) {
      xs.push(p[0] / 1000); equity.push(p[1]);
      peak = Math.max(peak, p[1]);
      drawdown.push(peak > 0 ? p[1] / peak - 1 : 0);
    });
    var daily = xs.length > 1 && xs[1] - xs[0] >= 86400 / 2;
    ATS.charts.create("equity-chart", { height: 240, daily: daily, group: "gauntlet", axes: [{ format: "num" }],
      series: [{ label: "equity", color: "equity", legend: function (v) { return F.money(v); } }] }, [xs, equity]);
    ATS.charts.create("drawdown-chart", { height: 200, daily: daily, group: "gauntlet",
      series: [{ label: "drawdown", color: "down", fill: "drawdownFill", width: 1, legend: function (v) { return F.pct(v); } }],
      axes: [{ format: "pct", range: function (u, min) { return [Math.min(min, -0.001), 0]; } }] }, [xs, drawdown]);
  }

  function text(id, value) { var el = document.getElementById(id); if (el) el.textContent = value; }

  function kv(name, value, changed, fallback) {
    var span = ATS.el("span", { "class": "kv" + (changed ? " changed" : "") });
    if (changed) span.setAttribute("title", "default " + fallback);
    span.appendChild(document.createTextNode(name + " "));
    span.appendChild(ATS.el("b", null, value));
    if (changed) span.appendChild(document.createTextNode(" (default " + fallback + ")"));
    return span;
  }

  function rungRows(rungs) {
    var body = document.getElementById("rung-body");
    if (!body || !rungs.length || body.querySelectorAll("tr.rung-row").length === rungs.length) return;
    body.textContent = "";
    rungs.forEach(function (r) {
      var tr = ATS.el("tr", { "class": "rung-row rung-" + r.verdict, "data-rung": r.rung });
      var numbers = ATS.el("td", { "class": "small" }), limits = ATS.el("td", { "class": "small" });
      r.numbers.forEach(function (n) { numbers.appendChild(kv(n[0], n[1])); numbers.appendChild(document.createTextNode(" ")); });
      r.thresholds.forEach(function (t) { limits.appendChild(kv(t.name, t.value, t.changed, t.default)); limits.appendChild(document.createTextNode(" ")); });
      var verdict = ATS.el("td"); verdict.appendChild(ATS.el("span", { "class": "verdict verdict-" + r.verdict }, r.verdict));
      [ATS.el("td", null, r.rung), verdict, ATS.el("td", null, r.reason), numbers, limits].forEach(function (td) { tr.appendChild(td); });
      body.appendChild(tr);
    });
  }

  function jobRows(jobs) {
    jobs.forEach(function (j) {
      var tr = document.querySelector('#jobs-body tr[data-job="' + j.index + '"]');
      if (!tr) return;
      var status = tr.querySelector(".job-status");
      if (status.textContent.trim() !== j.status) { status.textContent = ""; status.appendChild(ATS.statusBadge(j.status)); }
      tr.querySelector(".job-sharpe").textContent = ATS.format.num(j.sharpe, 2);
      tr.querySelector(".job-error").textContent = j.error || "";
    });
  }

  function poll() {
    fetch(box.dataset.progressUrl, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { setTimeout(poll, 1000); return; }
        text("progress-done", data.tasks_done); text("progress-total", data.tasks_total);
        var status = document.getElementById("report-status");
        status.textContent = data.status; status.className = "status status-" + data.status;
        var verdict = document.getElementById("report-verdict");
        verdict.textContent = data.verdict || "pending"; verdict.className = "verdict verdict-" + (data.verdict || "pending");
        text("report-reason", data.reason || "");
        jobRows(data.jobs); rungRows(data.rungs);
        box.dataset.status = data.status;
        if (data.status === "running") { setTimeout(poll, 1000); return; }
        document.getElementById("finished-note").hidden = false;  // the charts need the finished report's data
      })
      .catch(function () { setTimeout(poll, 1000); });
  }

  drawCharts();
  if (box.dataset.status === "running" && box.dataset.progressUrl) setTimeout(poll, 1000);
})();
