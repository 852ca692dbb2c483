/* One session: every table and chart is rebuilt from its telemetry rows (SessionEvent), streamed over the socket. */
(function () {
  "use strict";
  var env = JSON.parse(document.getElementById("ats-environment").textContent);
  var sessionId = JSON.parse(document.getElementById("ats-session").textContent);
  var F = ATS.format, currency = document.getElementById("session-stats").dataset.currency;  // the account's
  var FINAL = ["stopped", "killed", "failed", "lost"];
  var TERMINAL = ["OrderFilled", "OrderCanceled", "OrderRejected", "OrderExpired", "OrderDenied"];

  var st = {
    status: document.getElementById("session-status").dataset.status,
    positions: {}, working: {}, orders: {}, fills: [], lines: [],
    bars: { x: [], close: [], buy: [], sell: [] }, pnl: { x: [], pnl: [], equity: [], position: [] }, currency: "USD",
    pnlNow: { realized: 0, unrealized: 0, commissions: 0, total: 0 },
    lastClose: {}, equity: null, dirty: false
  };

  /* Charts (static/ats/charts.js), one cursor and zoom: price with fills; the session's cumulative P&L (and the
     account's equity) and its net position in the bar's instrument, both sampled at each bar. */
  var noLine = function () { return null; };
  var F = ATS.format, money = function (v) { return F.money(v, st.currency); };
  ATS.charts.create("price-chart", { height: 240, group: "session", series: [
    { label: "close", color: "price", legend: function (v) { return F.num(v); } },
    { label: "buy fill", color: "up", paths: noLine, points: { show: true, size: 11 }, legend: function (v) { return F.num(v); } },
    { label: "sell fill", color: "down", paths: noLine, points: { show: true, size: 11 }, legend: function (v) { return F.num(v); } }] });
  ATS.charts.create("pnl-chart", { height: 200, group: "session", series: [
    { label: "P&L", color: "pnl", scale: "pnl", legend: function (v) { return F.money(v, st.currency, true); } },
    { label: "equity", color: "benchmark", width: 1, scale: "eq", legend: money }],
    axes: [{ scale: "pnl", format: "num" }, { scale: "eq", format: "num", side: 1 }] });
  ATS.charts.create("position-chart", { height: 130, group: "session", series: [
    { label: "position", color: "position", paths: uPlot.paths.stepped({ align: 1 }), legend: F.qty }],
    axes: [{ format: "qty" }] });
  function netPosition(instrument) {
    return Object.keys(st.positions).reduce(function (sum, k) {
      var p = st.positions[k]; return p.instrument_id === instrument ? sum + (p.qty || 0) : sum;
    }, 0);
  }

  function posKey(p) { return p.instrument_id + "|" + p.strategy_id; }
  // The host's ledger of the session's own fills: realized over every round trip (net of commissions) + unrealized.
  function pnlNow() { return st.pnlNow; }
  function markPositions() {
    Object.keys(st.positions).forEach(function (k) {
      var p = st.positions[k], close = st.lastClose[p.instrument_id];
      p.unrealized = (close !== undefined && p.qty) ? p.qty * (close - p.avg) : 0;
    });
  }

  function apply(e) {
    var p = e.payload || {};
    switch (e.kind) {
      case "status":
        st.status = p.status;
        if (p.status === "halted" && !p.open_orders) st.working = {};
        if (FINAL.indexOf(p.status) >= 0 && p.reason) document.getElementById("stop-reason").textContent = "Ended: " + p.reason;
        break;
      case "bar":
        var inst = (p.bar_type || "").split("-")[0];
        st.lastClose[inst] = p.close;
        var x = p.ts / 1e9;
        if (st.bars.x.length && x <= st.bars.x[st.bars.x.length - 1]) break;
        st.bars.x.push(x); st.bars.close.push(p.close); st.bars.buy.push(null); st.bars.sell.push(null);
        var now = pnlNow();
        st.pnl.x.push(x); st.pnl.pnl.push(now.total); st.pnl.equity.push(st.equity); st.pnl.position.push(netPosition(inst));
        break;
      case "fill":
        st.fills.push({ ts: e.ts, p: p });
        var n = st.bars.x.length;
        if (n) { (p.order_side === "SELL" ? st.bars.sell : st.bars.buy)[n - 1] = parseFloat(p.last_px); }
        delete st.working[p.client_order_id];
        trackOrder(p);
        break;
      case "order":
        trackOrder(p);
        if (p.event === "OrderAccepted" || p.event === "OrderSubmitted") {
          var w = st.working[p.client_order_id] || { client_order_id: p.client_order_id, instrument_id: p.instrument_id };
          if (p.venue_order_id) w.venue_order_id = p.venue_order_id;
          st.working[p.client_order_id] = w;
        } else if (TERMINAL.indexOf(p.event) >= 0) { delete st.working[p.client_order_id]; }
        break;
      case "position":
        var key = posKey(p);
        st.positions[key] = { instrument_id: p.instrument_id, strategy_id: p.strategy_id, qty: p.signed_qty,
          avg: p.avg_px_open, unrealized: 0 };
        break;
      case "snapshot":
        st.working = {};
        (p.working_orders || []).forEach(function (o) { st.working[o.client_order_id] = o; });
        var open = {};
        (p.positions || []).forEach(function (q) { open[posKey(q)] = q; });
        Object.keys(st.positions).forEach(function (k) { if (!open[k]) st.positions[k].qty = 0; });
        Object.keys(open).forEach(function (k) {
          var q = open[k];
          st.positions[k] = { instrument_id: q.instrument_id, strategy_id: q.strategy_id, qty: q.signed_qty, avg: q.avg_px_open,
            unrealized: 0 };
        });
        break;
      case "pnl":
        st.currency = String(p.total || "").split(" ")[1] || st.currency;
        st.pnlNow = { realized: ATS.money(p.realized) - ATS.money(p.commissions), unrealized: ATS.money(p.unrealized),
          commissions: ATS.money(p.commissions), total: ATS.money(p.total) };
        break;
      case "account":
        var b = (p.balances || [])[0]; if (b) st.equity = ATS.money(b.total);
        break;
    }
    var l = logLine(e); if (l) { st.lines.push(l); if (st.lines.length > 300) st.lines.shift(); }
  }
  function trackOrder(p) {
    var o = st.orders[p.client_order_id] || { client_order_id: p.client_order_id, instrument_id: p.instrument_id };
    o.last = p.event; o.detail = p.reason || (p.last_px ? (p.order_side + " " + F.qty(p.last_qty) + " @ " + F.num(p.last_px)) : (p.venue_order_id || ""));
    st.orders[p.client_order_id] = o;
  }
  function logLine(e) {
    var text = ATS.eventText(e);
    return text === null ? null : F.clock(e.ts) + "  " + text;
  }

  function render() {
    st.dirty = false;
    var badge = document.getElementById("session-status");
    badge.textContent = st.status; badge.className = "status status-" + st.status; badge.dataset.status = st.status;
    if (FINAL.indexOf(st.status) >= 0) { var c = document.getElementById("controls"); if (c) c.style.display = "none"; }
    var now = pnlNow();
    document.getElementById("pnl-realized").textContent = F.money(now.realized, currency, true);
    document.getElementById("pnl-unrealized").textContent = F.money(now.unrealized, currency, true);
    document.getElementById("pnl-commissions").textContent = F.money(now.commissions, currency);
    var tot = document.getElementById("pnl-total"); tot.textContent = F.money(now.total, currency, true); tot.className = now.total >= 0 ? "pos" : "neg";
    document.getElementById("equity").textContent = st.equity === null ? F.DASH : F.money(st.equity, currency);

    markPositions();
    var body = document.getElementById("positions-body"); body.textContent = "";
    Object.keys(st.positions).forEach(function (k) {
      var p = st.positions[k];
      body.appendChild(ATS.row([p.instrument_id, p.strategy_id, F.qty(p.qty), F.num(p.avg), F.money(p.unrealized, currency, true)], [2, 3, 4]));
    });
    body = document.getElementById("working-body"); body.textContent = "";
    var ids = Object.keys(st.working);
    if (!ids.length) { var tr = ATS.el("tr", { "class": "empty" }); tr.appendChild(ATS.el("td", { colspan: "7", "class": "muted" }, "No working orders.")); body.appendChild(tr); }
    ids.forEach(function (k) {
      var o = st.working[k];
      body.appendChild(ATS.row([o.client_order_id, o.instrument_id, o.side || "", o.quantity ? F.qty(o.quantity) : "", o.type || "", o.price ? F.num(o.price) : "", o.venue_order_id || ""], [3, 5]));
    });
    body = document.getElementById("fills-body"); body.textContent = "";
    st.fills.slice().reverse().forEach(function (f) {
      var tr = ATS.row([F.when(f.ts), f.p.instrument_id, f.p.order_side, F.qty(f.p.last_qty), F.num(f.p.last_px), f.p.commission ? F.money(f.p.commission) : "", f.p.client_order_id + (f.p.inferred ? " (inferred)" : "")], [3, 4]);
      tr.className = "fill-row"; body.appendChild(tr);
    });
    body = document.getElementById("orders-body"); body.textContent = "";
    Object.keys(st.orders).reverse().forEach(function (k) {
      var o = st.orders[k]; body.appendChild(ATS.row([o.client_order_id, o.instrument_id, o.last, o.detail]));
    });
    var log = document.getElementById("session-log");
    log.textContent = st.lines.join("\n"); log.scrollTop = log.scrollHeight;
    ATS.charts.setData("price-chart", [st.bars.x, st.bars.close, st.bars.buy, st.bars.sell]);
    ATS.charts.setData("pnl-chart", [st.pnl.x, st.pnl.pnl, st.pnl.equity]);
    ATS.charts.setData("position-chart", [st.pnl.x, st.pnl.position]);
  }
  function schedule() { if (!st.dirty) { st.dirty = true; requestAnimationFrame(render); } }

  ATS.sessionState = function () { return { status: st.status, bars: st.bars.x.length, fills: st.fills.length }; };
  ATS.session = ATS.telemetry({
    environment: env, session: sessionId, after: 0, indicator: "conn",
    onEvents: function (events) { events.forEach(apply); schedule(); },
    onSynced: function () { schedule(); }
  });
  render();
})();
