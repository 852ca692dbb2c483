/* ATS console: the telemetry socket (lossless resync by last event id), gateway badges, kill dialogs. */
(function () {
  "use strict";
  var ATS = window.ATS = window.ATS || {};

  /* Follow an environment's (or one session's) telemetry. The server sends every row after `after`, then new
     rows; after a drop we reconnect with the last id we saw, so nothing is lost or shown twice. */
  ATS.telemetry = function (opts) {
    var lastId = opts.after || 0, seen = new Set(), ws = null, delay = 500, closed = false;
    var indicator = opts.indicator ? document.getElementById(opts.indicator) : null;
    // The socket that carries telemetry, named as such: "live" beside "Paper trading" read like live trading.
    function state(text, ok) {
      if (!indicator) return;
      indicator.textContent = "telemetry: " + text; indicator.className = "conn " + (ok ? "ok" : "bad");
      indicator.title = ok ? "The page receives this environment's telemetry as it happens."
        : "The page is not receiving telemetry right now; it catches up without loss when it reconnects.";
    }
    function connect() {
      var proto = location.protocol === "https:" ? "wss://" : "ws://";
      var url = proto + location.host + "/ws/" + opts.environment + "/telemetry/?after=" + lastId +
        (opts.session ? "&session=" + opts.session : "");
      ws = new WebSocket(url);
      ws.onopen = function () { delay = 500; state("connected", true); };
      ws.onmessage = function (msg) {
        var data = JSON.parse(msg.data);
        if (data.type === "events") {
          var fresh = data.events.filter(function (e) { if (seen.has(e.id)) return false; seen.add(e.id); return true; });
          fresh.forEach(function (e) { if (e.id > lastId) lastId = e.id; });
          if (fresh.length && opts.onEvents) opts.onEvents(fresh);
        } else if (data.type === "synced" && opts.onSynced) { opts.onSynced(data.last_id); }
      };
      ws.onclose = function (ev) {
        if (closed) return;
        if (ev.code === 4401 || ev.code === 4403 || ev.code === 4404) { state("not allowed (" + ev.code + ")", false); return; }
        state("reconnecting…", false);
        setTimeout(connect, delay); delay = Math.min(delay * 2, 5000);
      };
    }
    connect();
    return { close: function () { closed = true; if (ws) ws.close(); }, lastId: function () { return lastId; },
             drop: function () { if (ws) ws.close(); } };
  };

  /* A page that comes back with a refused form marks its error summary data-focus-on-load: bring it into view and
     focus it, so the error is where the eye (and a screen reader) is, not below the fold. */
  function focusOnLoad() {
    var target = document.querySelector("[data-focus-on-load]");
    if (!target) return;
    if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
    target.scrollIntoView({ block: "center" });
    target.focus({ preventScroll: true });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", focusOnLoad); else focusOnLoad();

  // An amount as a number ("-1.00 USD" -> -1, nothing -> 0); ATS.format writes numbers for the page.
  ATS.money = function (v) { var n = ATS.format.toNumber(v); return n === null ? 0 : n; };
  /* One telemetry row as a log line's text (no time), numbers in ATS.format's rules; null for the rows the charts
     and tables show instead (bars, account, snapshots, P&L). Shared by the environment and session logs. */
  ATS.eventText = function (e) {
    var F = ATS.format, p = e.payload || {};
    function pairs(o) {
      return Object.keys(o).map(function (k) {
        var v = o[k];
        return k + "=" + (v !== null && typeof v === "object" ? JSON.stringify(v) : (F.toNumber(v) !== null && /^-?[\d.]+$/.test(String(v)) ? F.qty(v) : v));
      }).join(", ");
    }
    switch (e.kind) {
      case "bar": case "account": case "snapshot": case "pnl": return null;
      case "fill":
        return "FILL " + (p.order_side || "") + " " + F.qty(p.last_qty) + " " + (p.instrument_id || "") + " @ " + F.num(p.last_px) +
          (p.commission ? " (commission " + F.money(p.commission) + ")" : "") + (p.inferred ? " INFERRED by reconciliation, not an execution seen" : "");
      case "order": return (p.event || "order") + " " + (p.client_order_id || "") + (p.reason ? " — " + p.reason : "");
      case "status": return "STATUS " + p.status + (p.reason ? " — " + p.reason : (p.message ? " — " + p.message : ""));
      case "position":
        return (p.event || "position") + " " + p.instrument_id + " qty " + F.qty(p.signed_qty) +
          (p.realized_pnl !== undefined ? " realized " + F.money(p.realized_pnl, null, true) : "");
      case "health": return "GATEWAY " + (p.connected ? "connected" : "NOT connected") + " (" + p.code + ") " + (p.message || "");
      case "risk":
        if (p.reason) return "RISK " + p.reason;
        if (p.positions) return "RISK flatten incomplete: " + pairs(p.positions);
        return "RISK " + pairs(p);
      default: return e.kind + " " + pairs(p);
    }
  };
  ATS.el = function (tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  };
  ATS.row = function (cells, numeric) {
    var tr = document.createElement("tr");
    cells.forEach(function (c, i) {
      var td = ATS.el("td", numeric && numeric.indexOf(i) >= 0 ? { "class": "num" } : null);
      if (c instanceof Node) td.appendChild(c); else td.textContent = c === null || c === undefined ? "" : c;
      tr.appendChild(td);
    });
    return tr;
  };
  ATS.statusBadge = function (status) { return ATS.el("span", { "class": "status status-" + status }, status); };

  /* Gateway health badges in the header, refreshed without reloading. */
  function refreshGateways() {
    var box = document.getElementById("gateway-badges");
    if (!box || !box.dataset.url) return;
    fetch(box.dataset.url, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        box.textContent = "";
        if (!data.gateways.length) { box.appendChild(ATS.el("span", { "class": "gw-badge unknown" }, "gateways: not monitored")); }
        data.gateways.forEach(function (g) {
          var unknown = g.healthy === null || g.healthy === undefined;
          var cls = unknown ? "unknown" : (g.stale ? "stale" : (g.healthy ? "ok" : "down"));
          var a = ATS.el("a", { href: "/gateways/", id: "gw-" + g.environment, "class": "gw-badge " + cls, title: g.message || "" },
            g.environment + " gateway: " + (unknown ? "unknown" : (g.healthy ? "up" : "DOWN")) + (g.stale && !unknown ? " (stale)" : ""));
          box.appendChild(a);
          if (g.needs_ack && !document.getElementById("gateway-alert-" + g.environment)) {
            var banner = ATS.el("div", { id: "gateway-alert-" + g.environment, "class": "banner danger" });
            banner.appendChild(ATS.el("strong", null, g.environment.toUpperCase() + " GATEWAY " + (g.healthy ? "RECOVERED (was broken)" : "BROKEN")));
            banner.appendChild(document.createTextNode(" — " + (g.message || "") + " "));
            banner.appendChild(ATS.el("a", { href: "/gateways/" }, "acknowledge on the Gateways page"));
            document.querySelector("header.topbar").after(banner);
          }
        });
      }).catch(function () {});
  }
  setInterval(refreshGateways, 5000);

  /* Kill dialogs: the confirmation names what will happen (halt only, or halt and flatten). */
  function describe(dialog) {
    var flatten = dialog.querySelector("input[name=flatten]:checked");
    var target = dialog.dataset.target;
    var what = dialog.querySelector(".what");
    if (!what) return;
    what.textContent = (flatten && flatten.value === "1")
      ? "This will HALT " + target + ", cancel every working order at the broker, and FLATTEN: close every position at market."
      : "This will HALT " + target + " (no new orders) and cancel every working order at the broker. Positions are kept.";
  }
  document.addEventListener("click", function (ev) {
    var opener = ev.target.closest("[data-open-dialog]");
    if (opener) { var d = document.getElementById(opener.dataset.openDialog); describe(d); d.showModal(); ev.preventDefault(); }
    var closer = ev.target.closest("[data-close-dialog]");
    if (closer) { closer.closest("dialog").close(); ev.preventDefault(); }
  });
  document.addEventListener("change", function (ev) {
    var d = ev.target.closest("dialog"); if (d && ev.target.name === "flatten") describe(d);
  });
  // A form marked data-submit-once sends once: its buttons disable as it submits (the server also ignores a
  // repeated start token, for a retried POST or a back-and-resubmit).
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.hasAttribute || !form.hasAttribute("data-submit-once")) return;
    if (form.dataset.submitted) { ev.preventDefault(); return; }
    form.dataset.submitted = "1";
    setTimeout(function () {
      form.querySelectorAll("button[type=submit], input[type=submit]").forEach(function (b) { b.disabled = true; });
    }, 0);
  });
})();
