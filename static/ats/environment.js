/* Paper/Live page: the sessions table and history refresh without reloading; telemetry lines stream in. */
(function () {
  "use strict";
  var env = JSON.parse(document.getElementById("ats-environment").textContent);
  var after = JSON.parse(document.getElementById("ats-last-event").textContent);
  var base = "/" + env + "/";

  function sessionLink(id) { return ATS.el("a", { href: base + "sessions/" + id + "/" }, String(id)); }
  var F = ATS.format;
  function pnlCell(s) { return ATS.el("span", { "class": s.pnl.total >= 0 ? "pos" : "neg" }, F.money(s.pnl.total, s.currency, true)); }

  function render(data) {
    var body = document.getElementById("sessions-body");
    body.textContent = "";
    if (!data.active.length) {
      var tr = ATS.el("tr", { "class": "empty" }); var td = ATS.el("td", { colspan: "8", "class": "muted" }, "No active " + env + " sessions.");
      tr.appendChild(td); body.appendChild(tr);
    }
    data.active.forEach(function (s) {
      var note = s.kill_requested ? "kill requested" : (s.stop_requested ? "stop requested" : "");
      var tr = ATS.row([sessionLink(s.id), ATS.statusBadge(s.status), s.account_id, s.sleeves.join("; "), pnlCell(s),
        s.started_by, s.heartbeat_age === null ? "" : F.duration(s.heartbeat_age), note], [4, 6]);
      tr.dataset.session = s.id; body.appendChild(tr);
    });
    var hist = document.getElementById("history-body");
    hist.textContent = "";
    if (!data.finished.length) {
      var tr2 = ATS.el("tr", { "class": "empty" }); tr2.appendChild(ATS.el("td", { colspan: "8", "class": "muted" }, "No finished sessions yet.")); hist.appendChild(tr2);
    }
    data.finished.forEach(function (s) {
      hist.appendChild(ATS.row([sessionLink(s.id), ATS.statusBadge(s.status), s.account_id, s.sleeves.join("; "), pnlCell(s),
        s.started_by, s.stopped_at ? F.when(s.stopped_at) : "", s.stop_reason], [4]));
    });
  }
  var pending = false;
  function refresh() {
    if (pending) return; pending = true;
    fetch(base + "sessions.json", { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) { pending = false; if (d) render(d); }).catch(function () { pending = false; });
  }
  setInterval(refresh, 2000);

  var log = document.getElementById("env-log");
  function line(e) {
    var text = ATS.eventText(e);
    return text === null ? null : F.clock(e.ts) + "  #" + e.session + "  " + text;
  }
  ATS.telemetry({
    environment: env, after: after, indicator: "conn",
    onEvents: function (events) {
      var statusSeen = false;
      events.forEach(function (e) {
        var l = line(e); if (l) { log.appendChild(document.createTextNode(l + "\n")); }
        if (e.kind === "status") statusSeen = true;
      });
      while (log.childNodes.length > 200) log.removeChild(log.firstChild);
      log.scrollTop = log.scrollHeight;
      if (statusSeen) refresh();
    }
  });

  /* One sleeve or a book: show the fields of the chosen mode. */
  function mode() {
    var m = document.querySelector("input[name=mode]:checked");
    var book = m && m.value === "book";
    var s = document.getElementById("sleeve-fields"), b = document.getElementById("book-fields");
    if (s) s.style.display = book ? "none" : ""; if (b) b.style.display = book ? "" : "none";
  }
  document.addEventListener("change", function (ev) { if (ev.target.name === "mode") mode(); });
  mode();
})();
