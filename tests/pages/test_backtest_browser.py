"""Browser test of the charts: Debian's Chromium through Playwright against daphne on a temporary SQLite file whose
catalog holds the QQQ daily bars. A real backtest (the `backtest` command) gives the backtest page its equity,
drawdown and price charts; telemetry rows of a finished paper session give the session page its P&L and position.

An axis is checked two ways: its widest tick label, measured in the axis's font, fits in the width uPlot gave it
past the ticks and the gap; and the rendered canvas has no ink in its first pixel columns, where a cut label
(110,000 drawn as "0,000") would start."""

from __future__ import annotations

import re

import pytest

from tests.pages.console_stack import chromium, console, watch_errors
from tests.pages.test_browser import ARTIFACTS, PASSWORD, _login, _wait_for_true

USERS_SCRIPT = f"""
from django.contrib.auth.models import Permission, User
u = User.objects.create_user("viewer", password={PASSWORD!r})
u.user_permissions.add(Permission.objects.get(codename="view_console", content_type__app_label="trading"))
"""
# A finished paper session's telemetry as its host writes it: bars, three buys of 10, a sell of 30, P&L marks.
SESSION_SCRIPT = """
from datetime import timedelta
from django.utils import timezone
from trading.sessions.models import SessionEvent, TradingSession

s = TradingSession.objects.create(
    environment="paper", account_id="DU1234567", status="stopped", started_by="user:test", risk_caps={},
    sleeves=[{"strategy": "ibs_reversion", "instrument_id": "QQQ.NASDAQ", "bar_spec": "5-SECOND-LAST",
              "params": {}, "code_hash": "x"}],
)
t0 = timezone.now() - timedelta(minutes=10)
rows, qty = [], 0
def add(i, kind, **payload):
    ts = t0 + timedelta(seconds=5 * i)
    rows.append(SessionEvent(session=s, environment="paper", kind=kind, ts=ts, payload=payload))
add(0, "status", status="running")
balance = {"currency": "USD", "total": "1000000.00 USD", "free": "1000000.00 USD"}
add(0, "account", account_id="DU1234567", balances=[balance])
for i in range(40):
    close = 400 + (i % 7) - 3 + i * 0.1
    add(i, "bar", bar_type="QQQ.NASDAQ-5-SECOND-LAST-EXTERNAL", ts=(1_800_000_000 + 5 * i) * 10**9,
        open=close, high=close + 0.2, low=close - 0.2, close=close, volume=10.0)
    add(i, "pnl", realized="0.00 USD", unrealized="0.00 USD", commissions="0.00 USD", total=f"{i * 1.25 - 3:.2f} USD")
    if i in (5, 15, 25, 33):
        side, size = ("SELL", 30) if i == 33 else ("BUY", 10)
        qty = 0 if side == "SELL" else qty + 10
        add(i, "fill", client_order_id=f"O-{i}", instrument_id="QQQ.NASDAQ", order_side=side, last_qty=str(size),
            last_px=str(close), commission="1.00 USD", strategy_id="S-1")
        add(i, "position", event="PositionChanged", instrument_id="QQQ.NASDAQ", strategy_id="S-1",
            signed_qty=float(qty), avg_px_open=close, realized_pnl="0.00 USD", unrealized_pnl="0.00 USD")
add(40, "status", status="stopped", reason="stopped by test")
SessionEvent.objects.bulk_create(rows)
"""
# For each shown y axis of a chart: its size, the room for labels and the widest label measured in its font, and
# whether the rendered canvas has ink in its first two pixel columns over the axis (a label cut at the left edge)
# or anywhere in the axis (labels drawn at all).
AXES_JS = """(id) => {
  const u = ATS.charts.get(id), ratio = uPlot.pxRatio, ctx = document.createElement("canvas").getContext("2d");
  const pixels = u.ctx.getImageData(0, 0, u.ctx.canvas.width, u.ctx.canvas.height);
  const inkIn = (x0, x1, y0, y1) => {
    for (let y = Math.floor(y0); y < y1; y++) for (let x = Math.floor(x0); x < x1; x++)
      if (pixels.data[(y * pixels.width + x) * 4 + 3] > 0) return true;
    return false;
  };
  return u.axes.filter((a) => a.side % 2 === 1 && a.show !== false).map((a) => {
    ctx.font = a.font[0];
    const widest = Math.max(...a._values.map((v) => ctx.measureText(v).width / ratio));
    const top = u.bbox.top, bottom = u.bbox.top + u.bbox.height;
    const left = a.side === 3 ? a._pos * ratio : (a._pos + a._size) * ratio - 2;
    return { side: a.side, size: a._size, room: a._size - a.ticks.size - a.gap, widest: widest, values: a._values,
             edgeInk: a.side === 3 ? inkIn(0, 2, top, bottom) : inkIn(left, left + 2, top, bottom),
             anyInk: inkIn(a.side === 3 ? 0 : a._pos * ratio, a.side === 3 ? u.bbox.left : left + 2, top, bottom) };
  });
}"""

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    def prepare(manage):
        manage("backtest", "--strategy=sma_cross", "--instrument=QQQ.NASDAQ", "--bar-spec=1-DAY-LAST")
        manage("shell", "-c", SESSION_SCRIPT)

    with console(tmp_path_factory.mktemp("charts_stack"), USERS_SCRIPT, prepare) as stack:
        yield stack


@pytest.fixture(scope="module")
def browser(stack):
    with chromium() as browser:
        yield browser


def check_axes(page, chart: str) -> list[dict]:
    axes = page.evaluate(AXES_JS, chart)
    assert axes, f"{chart}: no y axis"
    for axis in axes:
        assert axis["widest"] <= axis["room"], f"{chart}: {axis['values']} need {axis['widest']:.1f}px of {axis}"
        assert axis["anyInk"] and not axis["edgeInk"], f"{chart}: labels cut at the edge: {axis}"
    return axes


def test_backtest_charts_draw_with_axes_that_fit_their_labels_and_markers(stack, browser):
    page = _login(browser, stack.url, "viewer")
    errors = watch_errors(page)
    page.goto(f"{stack.url}/research/1/")
    page.wait_for_selector("#price-chart canvas")
    for chart in ("equity-chart", "drawdown-chart", "price-chart"):
        assert page.locator(f"#{chart} .uplot canvas").count() == 1, chart
    equity_axes = check_axes(page, "equity-chart")
    assert any(re.fullmatch(r"\d{3},\d{3}", v) for v in equity_axes[0]["values"])  # six-figure labels, whole
    assert equity_axes[0]["widest"] > 50 - 15  # uPlot's default 50px, less ticks and gap, would cut them
    assert all(v.endswith("%") for v in check_axes(page, "drawdown-chart")[0]["values"])
    check_axes(page, "price-chart")
    lefts = page.evaluate(
        "() => ['equity-chart', 'drawdown-chart', 'price-chart'].map(c => ATS.charts.get(c).bbox.left)"
    )
    assert len(set(lefts)) == 1  # the plots line up under each other

    trades = int(page.locator('#metrics tr[data-key="trades"] td').inner_text())
    price = page.locator("#price-chart")
    assert trades > 20 and price.get_attribute("data-markers") == str(2 * trades)
    assert price.get_attribute("data-entries") == price.get_attribute("data-exits") == str(trades)
    assert price.get_attribute("data-drawn") == str(2 * trades) and price.get_attribute("data-lines") == "2"
    legend = page.locator("#price-chart .u-legend").inner_text()
    assert "SMA 10" in legend and "SMA 50" in legend
    assert "buy & hold QQQ.NASDAQ" in page.locator("#equity-chart .u-legend").inner_text()

    # One zoom for all three: zoom the equity chart to 2008 and the others follow.
    page.evaluate("() => ATS.charts.get('equity-chart').setScale('x', { min: 1199145600, max: 1230768000 })")
    scales = page.evaluate(
        "() => ['drawdown-chart', 'price-chart'].map(id => ATS.charts.get(id).scales.x).map(x => [x.min, x.max])"
    )
    assert scales == [[1199145600, 1230768000]] * 2
    assert 0 < int(price.get_attribute("data-drawn")) < 2 * trades  # only 2008's markers are in view

    # A theme change (the top bar's picker) redraws the charts in the theme's colours.
    page.select_option("#theme-select", "dark")
    stroke = page.evaluate("() => { const u = ATS.charts.get('equity-chart'); return u.series[1].stroke(u, 1); }")
    dark_line = page.evaluate(
        "() => getComputedStyle(document.documentElement).getPropertyValue('--chart-line').trim()"
    )
    assert stroke == dark_line and dark_line.lower() != "#1f5fbf"
    assert page.locator("#equity-chart .uplot canvas").count() == 1

    assert page.locator("#monthly-returns td.heat").count() == 20 * 13  # 1999-2018: every month and the year
    page.screenshot(path=str(ARTIFACTS / "backtest.png"), full_page=True)
    assert errors == []
    page.context.close()


def test_trades_table_sorts_and_pages_through_links(stack, browser):
    page = _login(browser, stack.url, "viewer")
    errors = watch_errors(page)
    page.goto(f"{stack.url}/research/1/")
    page.click("#trades thead a:text-is('P&L')")
    page.wait_for_url("**/research/1/?sort=-pnl*")
    cells = page.locator("#trades tbody td:nth-child(8)").all_inner_texts()
    pnl = [float(c.replace(",", "").split()[0]) for c in cells]
    assert len(pnl) == 50 and pnl == sorted(pnl, reverse=True)
    assert page.locator("#trades tbody td.pos").count() > 0
    assert page.locator("#trades th[aria-sort=descending]").count() == 1
    page.click("#trades-card a[rel=next]")
    page.wait_for_url("**/research/1/?sort=-pnl&page=2*")
    assert page.locator("#trades-page").inner_text().startswith("page 2 of 2")
    page.goto(f"{stack.url}/research/1/?sort=nope&page=x")
    assert page.locator(".note-line").count() == 2
    assert errors == []
    page.context.close()


def test_session_page_charts_pnl_and_position_from_telemetry(stack, browser):
    page = _login(browser, stack.url, "viewer")
    errors = watch_errors(page)
    page.goto(f"{stack.url}/paper/sessions/1/")
    _wait_for_true(page, "() => (ATS.charts.get('position-chart') || { data: [[]] }).data[0].length === 40", timeout=20)
    position = page.evaluate("() => ATS.charts.get('position-chart').data[1]")
    pnl = page.evaluate("() => ATS.charts.get('pnl-chart').data[1]")
    # Each bar samples the position after the fills before it: 10 from bar 6, 20 from 16, 30 from 26, flat from 34.
    assert position == [0] * 6 + [10] * 10 + [20] * 10 + [30] * 8 + [0] * 6
    assert pnl[1:] == pytest.approx([i * 1.25 - 3 for i in range(39)])  # the P&L marked before each bar
    for chart in ("price-chart", "pnl-chart", "position-chart"):
        assert page.locator(f"#{chart} .uplot canvas").count() == 1, chart
        check_axes(page, chart)
    assert len(check_axes(page, "pnl-chart")) == 2  # P&L on the left, equity (1,000,000) on the right
    page.screenshot(path=str(ARTIFACTS / "session-charts.png"), full_page=True)
    assert errors == []
    page.context.close()
