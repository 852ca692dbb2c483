"""The backtest page's data (trading.backtests.series and .presenters) against numbers worked out here by hand:
monthly returns of a known equity curve, drawdown, the benchmark's scaling, trade rows with sorting and paging,
markers on the bars their fills belong to, thinning of long series, and the text of metrics, params and costs."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from trading.backtests import presenters, series
from trading.backtests.series import RunMarket
from trading.models import BacktestRun

CAPITAL = 100_000.0
NS_PER_DAY = 86_400 * 1_000_000_000


def close_ms(day: str) -> int:
    """The equity curve's time of a daily bar: its ts_init (the day's last nanosecond) in ms."""
    return (np.datetime64(day, "D").astype(np.int64) + 1) * 86_400_000 - 1


def close_ns(day: str) -> int:
    return int((np.datetime64(day, "D").astype(np.int64) + 1) * NS_PER_DAY - 1)


def open_iso(day: str) -> str:
    """A next-open fill's time as a run stores it: the bar's start."""
    return f"{day}T00:00:00+00:00"


def make_run(**fields) -> BacktestRun:
    defaults = dict(
        strategy="sma_cross",
        instrument_id="QQQ.NASDAQ",
        bar_spec="1-DAY-LAST",
        params={},
        costs={"capital": CAPITAL},
        metrics={},
        trades=[],
        equity_curve=[],
        bar_count=0,
        trade_count=0,
        total_return=0.0,
        max_drawdown=0.0,
    )
    return BacktestRun(**{**defaults, **fields})


# -- monthly returns, drawdown, benchmark ----------------------------------------------------------------------------


def test_monthly_returns_of_a_known_equity_curve():
    points = [
        ("2020-01-15", 101_000.0),
        ("2020-01-30", 101_500.0),
        (None, 102_000.0),  # a bar that ended at midnight starting 1 February closed in January
        ("2020-02-28", 99_960.0),  # -2% on January's 102,000
        ("2020-04-30", 104_958.0),  # +5% on February's (March has no points)
        ("2021-01-29", 110_205.9),  # +5% on April's, the last of 2020
    ]
    ms = np.array(
        [close_ms(d) if d else int(np.datetime64("2020-02-01T00:00", "ms").astype(np.int64)) for d, _ in points]
    )
    equity = np.array([e for _, e in points])
    rows = series.monthly_returns(ms, equity, CAPITAL)
    assert [r["year"] for r in rows] == [2020, 2021]
    y2020, y2021 = rows
    values = [None if c is None else round(c["value"], 10) for c in y2020["cells"]]
    assert values == [0.02, -0.02, None, 0.05, *[None] * 8]
    assert [c and c["level"] for c in y2020["cells"][:4]] == ["pos-2", "neg-2", None, "pos-5"]  # against the largest
    assert y2020["total"]["value"] == pytest.approx(104_958 / 100_000 - 1)
    assert y2021["cells"][0]["value"] == pytest.approx(0.05) and y2021["cells"][1:] == [None] * 11
    assert y2021["total"]["value"] == pytest.approx(0.05) and y2021["total"]["level"] == "pos-5"
    assert series.monthly_returns(np.array([], dtype=np.int64), np.array([]), CAPITAL) == []


def test_drawdown_is_the_fall_from_the_running_peak_with_the_capital_included():
    dd = series.drawdown(np.array([100.0, 110.0, 99.0, 121.0, 110.0]), 100.0)
    assert dd == pytest.approx([0.0, 0.0, -0.1, 0.0, 110 / 121 - 1])
    assert series.drawdown(np.array([90.0, 95.0, 101.0]), 100.0) == pytest.approx([-0.1, -0.05, 0.0])
    assert len(series.drawdown(np.array([]), 100.0)) == 0


def test_benchmark_is_buy_and_hold_from_the_first_point_scaled_to_the_capital():
    days = [f"2020-03-{d:02d}" for d in (2, 3, 4, 5, 6, 9)]
    bar_ts = np.array([close_ns(d) for d in days], dtype=np.int64)
    close = np.array([50.0, 55.0, 45.0, 60.0, 40.0, 75.0])
    # A thinned curve: every other bar close, plus one before the first bar and the last.
    curve = np.array(
        [close_ms("2020-02-28"), close_ms(days[0]), close_ms(days[2]), close_ms(days[4]), close_ms(days[5])]
    )
    assert series.benchmark(curve[1:], bar_ts, close, CAPITAL) == [100_000.0, 90_000.0, 80_000.0, 150_000.0]
    assert series.benchmark(curve, bar_ts, close, CAPITAL) == [None] * 5  # no bar had closed at the first point
    assert series.benchmark(curve[1:], np.array([], dtype=np.int64), np.array([]), CAPITAL) == []


def test_the_run_charts_equity_drawdown_and_benchmark_on_the_same_times():
    days = ["2020-03-02", "2020-03-03", "2020-03-04"]
    run = make_run(
        equity_curve=[[close_ms(d), e] for d, e in zip(days, (100_000.0, 95_000.0, 104_500.0), strict=True)],
        bar_count=3,
    )
    market = RunMarket(ts=np.array([close_ns(d) for d in days]), close=np.array([10.0, 12.0, 9.0]))
    data = presenters.chart_data(run, market).data["equity"]
    assert data["t"] == [close_ms(d) / 1000 for d in days]
    assert data["drawdown"] == [0.0, -0.05, 0.0] and data["benchmark"] == [100_000.0, 120_000.0, 90_000.0]


# -- markers and thinning -----------------------------------------------------------------------------------------


def test_markers_sit_on_the_bar_their_fill_belongs_to_at_the_fill_price():
    days = ["2020-03-02", "2020-03-03", "2020-03-04", "2020-03-05"]
    bar_ts = np.array([close_ns(d) for d in days], dtype=np.int64)
    trades = [
        # next_open: filled at the open (the bar's start); signal_close: at the bar's close, to the nanosecond
        {"side": "long", "entry_time": open_iso(days[1]), "exit_time": f"{days[2]}T23:59:59.999999999+00:00"},
        {"side": "short", "entry_time": open_iso(days[2]), "exit_time": open_iso(days[3])},
    ]
    trades[0] |= {"entry_price": 10.5, "exit_price": 11.25}
    trades[1] |= {"entry_price": 11.0, "exit_price": 10.0}
    markers = series.trade_markers(trades, bar_ts, series.bucket_ends(len(bar_ts)))
    assert markers == [
        {"t": close_ms(days[1]) / 1e3, "price": 10.5, "side": "buy", "kind": "entry"},
        {"t": close_ms(days[2]) / 1e3, "price": 11.25, "side": "sell", "kind": "exit"},
        {"t": close_ms(days[2]) / 1e3, "price": 11.0, "side": "sell", "kind": "entry"},  # a short enters with a sell
        {"t": close_ms(days[3]) / 1e3, "price": 10.0, "side": "buy", "kind": "exit"},
    ]


def test_long_series_are_thinned_to_the_limit_and_the_page_says_so():
    n = 45_001
    ends = series.bucket_ends(n)
    assert len(ends) <= series.MAX_POINTS and ends[-1] == n - 1 and ends[0] == 2 and np.all(np.diff(ends[:-1]) == 3)
    assert list(series.bucket_ends(5)) == [0, 1, 2, 3, 4] and len(series.bucket_ends(0)) == 0
    ts = (18_262 + np.arange(n, dtype=np.int64)) * NS_PER_DAY + 3_600 * 10**9  # hourly-ish bars, one a day
    close = 100 + np.sin(np.arange(n) / 50)
    trade = {"side": "long", "entry_time": int(ts[10]), "exit_time": int(ts[-1]), "entry_price": 1.0, "exit_price": 2.0}
    market = RunMarket(ts=ts, close=close, lines={"line": [None] * 5 + list(close[5:]), "short": [1.0]})
    charts = presenters.chart_data(make_run(bar_spec="1-HOUR-LAST", trades=[trade]), market)
    price = charts.data["price"]
    assert len(price["t"]) == len(price["close"]) == len(ends) and price["close"][-1] == round(close[-1], 6)
    assert [line["label"] for line in price["lines"]] == ["line"] and len(price["lines"][0]["values"]) == len(ends)
    assert {m["t"] for m in price["markers"]} <= set(price["t"])  # every marker on a shown point
    assert "45,001 bars are shown as 15,001 points" in " ".join(charts.price_notes)
    assert "Lines not drawn (not one value per bar): short." in charts.price_notes
    assert charts.data["daily"] is False


# -- trades table ----------------------------------------------------------------------------------------------------


def trades(n: int) -> list[dict]:
    out = []
    for i in range(n):
        entry = dt.datetime(2020, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=2 * i)
        pnl = float((i * 37) % 101 - 50)
        out.append(
            {
                "side": "long" if i % 3 else "short",
                "entry_time": entry.isoformat(),
                "exit_time": (entry + dt.timedelta(days=1 + i % 4, hours=6)).isoformat(),
                "entry_price": 100.0 + i,
                "exit_price": 100.0 + i + pnl / 10,
                "quantity": 10.0,
                "commission": 2.0,
                "pnl": pnl,
                "return": pnl / 1000,
            }
        )
    return out


def test_trade_rows_carry_times_prices_pnl_and_duration():
    (row,) = presenters.trade_rows(
        [
            {
                "side": "long",
                "entry_time": "2018-01-02T23:59:59.999999999+00:00",
                "exit_time": "2018-01-05T00:00:00+00:00",
                "entry_price": 157.3,
                "exit_price": 160.0,
                "quantity": 63.0,
                "pnl": 168.1,
                "return": 0.0172,
            }
        ]
    )
    assert row["entry"] == dt.datetime(2018, 1, 2, 23, 59, 59, 999999, tzinfo=dt.UTC)
    assert row["exit"] == dt.datetime(2018, 1, 5, tzinfo=dt.UTC)
    assert row["duration"] == pytest.approx(2 * 86_400 + 1e-9)
    assert (row["number"], row["side"], row["pnl"], row["return"], row["commission"]) == (
        1,
        "long",
        168.1,
        0.0172,
        None,
    )


def test_trades_sort_by_any_column_both_ways_and_page_by_fifty():
    table = presenters.trades_table(trades(120), "-pnl", None)
    pnls = [t["pnl"] for t in trades(120)]
    assert [r["pnl"] for r in table["rows"]] == sorted(pnls, reverse=True)[:50]
    assert table["notes"] == [] and table["total"] == 120 and table["page"].paginator.num_pages == 3
    assert table["next_url"] == "?sort=-pnl&page=2" and table["previous_url"] == ""
    heading = {h["label"]: h for h in table["headings"]}
    assert heading["P&L"]["aria_sort"] == "descending" and heading["P&L"]["url"] == "?sort=pnl"  # a click flips it
    assert heading["Entry"]["url"] == "?" and heading["Duration"]["url"] == "?sort=duration"
    last = presenters.trades_table(trades(120), "duration", "3")
    assert len(last["rows"]) == 20 and last["previous_url"] == "?sort=duration&page=2"
    durations = [r["duration"] for r in presenters.sort_rows(presenters.trade_rows(trades(120)), "duration", False)]
    assert durations == sorted(durations)
    # Ties keep run order, whichever way: equal durations come in trade-number order.
    same = [r for r in presenters.sort_rows(presenters.trade_rows(trades(12)), "quantity", True)]
    assert [r["number"] for r in same] == list(range(1, 13))
    by_entry = presenters.trades_table(trades(120), None, "2")
    assert [r["number"] for r in by_entry["rows"]] == list(range(51, 101))


@pytest.mark.parametrize(
    "sort, page, first, note",
    [
        ("bogus", None, 1, "Unknown sort 'bogus': sorted by Entry"),
        ("--pnl", None, 1, "Unknown sort '--pnl'"),
        (None, "abc", 1, "page 'abc' does not exist: the pages are 1 to 3: showing page 1."),
        (None, "0", 1, "page '0' does not exist: the pages are 1 to 3: showing page 1."),
        (None, "-3", 1, "page '-3' does not exist: the pages are 1 to 3: showing page 1."),
        (None, "99", 101, "page '99' does not exist: the pages are 1 to 3: showing page 3."),
        (None, "1e9", 1, "page '1e9' does not exist"),
        (None, "2.5", 1, "page '2.5' does not exist"),
    ],
)
def test_bad_sort_or_page_falls_back_with_a_one_line_note(sort, page, first, note):
    table = presenters.trades_table(trades(120), sort, page)
    assert table["rows"][0]["number"] == first
    (said,) = table["notes"]
    assert said.startswith(note) and "\n" not in said


def test_no_trades_is_one_empty_page():
    table = presenters.trades_table([], "-pnl", "7")
    assert table["rows"] == [] and table["total"] == 0 and table["page"].number == 1


# -- metrics, params and costs -------------------------------------------------------------------------------------


def test_metrics_params_and_costs_read_as_an_operator_writes_them():
    run = make_run(
        metrics={
            "total_return": 0.016081599999999918,
            "cagr": None,
            "sharpe": 0.38352002973669824,
            "max_drawdown": -0.013841231545626272,
            "win_rate": 0.6391752577319587,
            "end_equity": 101608.16,
            "trades": 97,
            "daily_returns": 1006,
            "something_new": 0.123456789123,
        },
        params={"fast_period": 10, "notional": 10000.0, "allow_short": False, "quantity": None, "buy_threshold": 0.15},
        costs={"capital": 100000.0, "commission_per_share": 0.005, "commission_max_pct": 0.01, "seed": 42},
    )
    rows = {r["key"]: r for r in presenters.metric_rows(run, "USD")}
    assert rows["total_return"]["text"] == "+1.61%" and rows["total_return"]["css"] == "pos"
    assert rows["cagr"]["text"] == "—" and rows["sharpe"]["text"] == "0.38"
    assert rows["max_drawdown"]["text"] == "-1.38%" and rows["max_drawdown"]["css"] == "neg"
    assert rows["win_rate"]["text"] == "63.92%" and rows["end_equity"]["text"] == "101,608.16 USD"
    assert rows["trades"]["text"] == "97" and rows["daily_returns"]["text"] == "1,006"
    assert rows["something_new"]["text"] == "0.12345679" and rows["something_new"]["label"] == "something new"
    assert presenters.param_items(run.params, "USD") == [
        ("allow_short", "no"),
        ("buy_threshold", "0.15"),
        ("fast_period", "10"),
        ("notional", "10,000.00 USD"),
        ("quantity", "—"),
    ]
    assert presenters.cost_items(run.costs, "EUR") == [
        ("capital", "100,000.00 EUR"),
        ("commission_per_share", "0.005 EUR per share"),
        ("commission_max_pct", "1.00%"),
        ("seed", "42"),
    ]
    assert presenters.capital_of(make_run(costs={}, metrics={"start_equity": 50_000})) == 50_000
    assert presenters.capital_of(make_run(costs={}, metrics={})) == presenters.DEFAULT_CAPITAL
