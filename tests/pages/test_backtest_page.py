"""The backtest page of a real run on the bundled QQQ bars: metrics, params and costs as text, times through the
console's formatting, the trades table sorted and paged by the query string (bad values fall back in one line), the
charts' JSON (equity, drawdown, benchmark, price, lines, markers) and what it says when bars or lines are missing."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from console import formatting
from trading.models import BacktestRun
from trading.services import do_backtest_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(qqq_catalog) -> BacktestRun:
    return do_backtest_run(
        strategy="ibs_reversion",
        instrument_id="QQQ.NASDAQ",
        bar_spec="1-DAY-LAST",
        start="2015-01-01",
        end="2018-12-31",
        actor="cli:test@host",
    )


@pytest.fixture
def client_of(viewer) -> Client:
    client = Client()
    client.force_login(viewer)
    return client


def page(client: Client, run: BacktestRun, query: str = "") -> str:
    response = client.get(f"/research/{run.pk}/{query}")
    assert response.status_code == 200
    return response.content.decode()


def charts(html: str) -> dict:
    found = re.search(r'<script id="backtest-charts" type="application/json">(.*?)</script>', html, re.S)
    assert found, "no charts JSON"
    return json.loads(found.group(1))


def trade_cells(html: str) -> list[list[str]]:
    body = html.split('<table id="trades">', 1)[1].split("</table>", 1)[0].split("<tbody>", 1)[1]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in body.split("</tr>") if "<td" in row]


def test_metrics_params_costs_and_times_are_formatted(client_of, run):
    html = page(client_of, run)
    assert run.trade_count > 50  # two pages of trades
    metric = dict(re.findall(r'<tr data-key="(\w+)"><th>[^<]*</th><td class="num[^"]*">([^<]*)</td>', html))
    assert metric["total_return"] == formatting.pct(run.total_return) and metric["total_return"].startswith(("+", "-"))
    assert metric["sharpe"] == formatting.num(run.sharpe, 2) and re.fullmatch(r"-?\d+\.\d\d", metric["sharpe"])
    assert metric["max_drawdown"] == formatting.pct(run.max_drawdown)
    assert metric["end_equity"] == formatting.money(run.metrics["end_equity"], "USD")
    assert '<span class="k">buy_threshold</span> = <span class="v">0.15</span>' in html
    assert '<span class="k">notional</span> = <span class="v">10,000.00 USD</span>' in html
    assert '<span class="k">capital</span> = <span class="v">100,000.00 USD</span>' in html
    assert "2015-01-02 → 2018-12-31" in html and "next bar&#x27;s open" in html and run.data_hash in html
    # No Python reprs, raw ISO stamps or 16-decimal floats anywhere, the charts' JSON included.
    assert "{'" not in html and "'side'" not in html and "True" not in html and "None" not in html
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d|\+00:00|23:59:59", html)
    assert not re.search(r"\d\.\d{7,}", html)
    first = trade_cells(html)[0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", first[1]) and re.fullmatch(r"\d{4}-\d\d-\d\d", first[2])
    assert re.fullmatch(r"[+-]?[\d,]+\.\d\d USD", first[7]) and re.fullmatch(r"[+-]?\d+\.\d\d%", first[8])
    assert re.fullmatch(r"\d+d \d\dh|\d+h \d\dm", first[9])  # daily trades last days (duration filter)
    assert all(
        'class="num' in cell
        for cell in re.findall(r"<td[^>]*>", html.split('<table id="trades">')[1].split("</tr>")[1])[4:]
    )


def test_charts_json_has_equity_drawdown_benchmark_price_lines_and_markers(client_of, run):
    data = charts(page(client_of, run))
    equity = data["equity"]
    assert len(equity["t"]) == len(equity["equity"]) == len(equity["drawdown"]) == len(equity["benchmark"]) == 1006
    assert equity["benchmark"][0] == 100_000.0 and max(equity["drawdown"]) == 0.0
    assert min(equity["drawdown"]) == pytest.approx(run.max_drawdown, abs=1e-6)  # every close is in the curve
    price = data["price"]
    assert len(price["t"]) == 1006 and price["t"] == equity["t"]
    assert [line["label"] for line in price["lines"]] == ["prior high"]
    markers = price["markers"]
    assert len(markers) == 2 * run.trade_count and set(m["t"] for m in markers) <= set(price["t"])
    assert [m["kind"] for m in markers[:2]] == ["entry", "exit"] and [m["side"] for m in markers[:2]] == ["buy", "sell"]
    assert markers[0]["price"] == run.trades[0]["entry_price"] and data["daily"] is True
    html = page(client_of, run)
    assert 'id="monthly-returns"' in html and html.count('class="num heat heat-') == 4 * 12  # 2015-2018, every month
    assert html.count('class="num heat total heat-') == 4


def test_trades_sort_and_page_by_the_query_string(client_of, run):
    best = max(t["pnl"] for t in run.trades)
    rows = trade_cells(page(client_of, run, "?sort=-pnl"))
    assert rows[0][7] == formatting.money(best, "USD", signed=True) and 'class="num pos"' in page(
        client_of, run, "?sort=-pnl"
    )
    assert len(rows) == 50
    second = trade_cells(page(client_of, run, "?sort=-pnl&page=2"))
    assert len(second) == run.trade_count - 50 and int(second[0][0]) != int(rows[0][0])
    html = page(client_of, run, "?sort=-pnl&page=2")
    assert "page 2 of 2" in html and 'href="?sort=-pnl#trades-card"' in html  # back to page 1, same order


@pytest.mark.parametrize(
    "query, says",
    [
        ("?page=abc", "page &#x27;abc&#x27; does not exist: the pages are 1 to 2: showing page 1."),
        ("?page=999", "page &#x27;999&#x27; does not exist: the pages are 1 to 2: showing page 2."),
        ("?page=-1", "page &#x27;-1&#x27; does not exist: the pages are 1 to 2: showing page 1."),
        ("?sort=pnl%27;drop&page=0", "Unknown sort &quot;pnl&#x27;;drop&quot;: sorted by Entry"),
        ("?sort=" + "x" * 500, "Unknown sort &#x27;" + "x" * 40 + "&#x27;"),
        ("?page=99999999999999999999999", "page &#x27;99999999999999999999&#x27; does not exist"),
    ],
)
def test_bad_query_values_fall_back_with_one_line(client_of, run, query, says):
    html = page(client_of, run, query)
    assert says in html and html.count('class="note-line"') >= 1 and len(trade_cells(html)) > 0


def test_without_the_bars_the_page_says_so_and_still_shows_the_run(client_of, run, settings, tmp_path):
    settings.ATS_CATALOG_DIR = tmp_path / "empty-catalog"
    html = page(client_of, run)
    assert "No price chart: the catalog holds no QQQ.NASDAQ 1-DAY-LAST bars for 2015-01-02 .. 2018-12-31" in html
    assert "No benchmark: the catalog has no bars for this run&#x27;s window." in html
    data = charts(html)
    assert data["price"] is None and data["equity"]["benchmark"] is None and len(data["equity"]["t"]) == 1006


def test_a_strategy_no_longer_registered_has_no_lines_and_says_why(client_of, run):
    BacktestRun.objects.filter(pk=run.pk).update(strategy="studio:gone@1")
    html = page(client_of, BacktestRun.objects.get(pk=run.pk))
    assert "No indicator lines: unknown strategy &#x27;studio:gone@1&#x27;" in html
    assert charts(html)["price"]["lines"] == [] and len(charts(html)["price"]["markers"]) == 2 * run.trade_count


def test_changed_catalog_bars_are_named(client_of, run):
    BacktestRun.objects.filter(pk=run.pk).update(data_hash="0" * 64)
    html = page(client_of, BacktestRun.objects.get(pk=run.pk))
    assert "differ from the ones this run used (its data hash)" in html


def test_an_unknown_run_is_404_and_the_page_needs_the_console_permission(client_of, run, nobody):
    assert client_of.get("/research/999999/").status_code == 404
    other = Client()
    other.force_login(nobody)
    assert other.get(f"/research/{run.pk}/").status_code == 403
