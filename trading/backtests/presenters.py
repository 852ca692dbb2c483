"""The backtest page's data: formatted metrics, params and costs as key = value lists, the sortable, paginated
trades table, the monthly-returns heatmap and the charts' JSON (trading.backtests.series computes the series).

Pure functions over a stored BacktestRun and the RunMarket the selector loaded; text comes from
console.formatting (the rules the template filters and static/ats/format.js share).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from console import formatting
from console.paging import nearest_page
from console.tables import Column, Sort, parse_sort
from console.tables import headings as table_headings
from trading.backtests import series
from trading.backtests.series import RunMarket

TRADES_PER_PAGE = 50
DEFAULT_CAPITAL = 100_000.0  # BacktestCosts' default, for runs stored without their costs
# (key, label, kind): the kinds are formatted by _metric_text.
METRICS = (
    ("total_return", "Total return", "pct"),
    ("cagr", "CAGR", "pct"),
    ("sharpe", "Sharpe", "ratio"),
    ("sortino", "Sortino", "ratio"),
    ("max_drawdown", "Max drawdown", "pct"),
    ("win_rate", "Win rate", "share"),
    ("exposure", "Exposure", "share"),
    ("avg_trade_return", "Average trade return", "pct"),
    ("trades", "Trades", "count"),
    ("fills", "Fills", "count"),
    ("start_equity", "Starting equity", "money"),
    ("end_equity", "Ending equity", "money"),
    ("commissions", "Commissions", "money"),
    ("daily_returns", "Days with bars", "count"),
    ("open_position", "Position open at the end", "qty"),
    ("orders_denied_or_rejected", "Orders denied or rejected", "count"),
    ("orders_unfilled_at_end", "Orders unfilled at the end", "count"),
)
TRADE_COLUMNS = (
    Column("number", "#", numeric=True),
    Column("entry", "Entry"),
    Column("exit", "Exit"),
    Column("side", "Side"),
    Column("entry_price", "Entry price", numeric=True),
    Column("exit_price", "Exit price", numeric=True),
    Column("quantity", "Quantity", numeric=True),
    Column("pnl", "P&L", numeric=True, best_first=True),
    Column("return", "P&L %", numeric=True, best_first=True),
    Column("duration", "Duration", numeric=True),
)
DEFAULT_SORT = Sort("entry", descending=False)


def capital_of(run: Any) -> float:
    """The run's starting capital: its costs' capital, else its metrics' start equity, else the default."""
    for value in ((run.costs or {}).get("capital"), (run.metrics or {}).get("start_equity")):
        number = formatting.to_number(value)
        if number is not None and number > 0:
            return number
    return DEFAULT_CAPITAL


def _metric_text(value: Any, kind: str, currency: str) -> str:
    if kind == "pct":
        return formatting.pct(value)
    if kind == "share":
        return formatting.pct(value, signed=False)
    if kind == "ratio":
        return formatting.num(value, 2)
    if kind == "money":
        return formatting.money(value, currency)
    if kind == "count":
        return formatting.num(value, 0)
    return value_text(value)


def metric_rows(run: Any, currency: str) -> list[dict[str, str]]:
    """The run's metrics, labelled and formatted ({label, text, css}); metrics this page does not know follow."""
    metrics = dict(run.metrics or {})
    for key in ("total_return", "cagr", "sharpe", "max_drawdown"):
        metrics.setdefault(key, getattr(run, key, None))
    metrics.setdefault("trades", run.trade_count)
    rows = []
    for key, label, kind in METRICS:
        value = metrics.pop(key, None)
        css = ""
        if kind == "pct" and (number := formatting.to_number(value)):
            css = "pos" if number > 0 else "neg"
        rows.append({"key": key, "label": label, "text": _metric_text(value, kind, currency), "css": css})
    for key in sorted(metrics):
        rows.append({"key": key, "label": key.replace("_", " "), "text": value_text(metrics[key]), "css": ""})
    return rows


def value_text(value: Any) -> str:
    """A parameter or setting as an operator reads it: yes/no, — for none, numbers grouped without trailing zeros."""
    return formatting.setting(value)


def param_items(params: dict[str, Any] | None, currency: str) -> list[tuple[str, str]]:
    """The strategy parameters as (name, text) in name order; a notional is money."""
    return [
        (k, formatting.money(v, currency) if k == "notional" and v is not None else value_text(v))
        for k, v in sorted((params or {}).items())
    ]


def cost_items(costs: dict[str, Any] | None, currency: str) -> list[tuple[str, str]]:
    """The costs as (name, text): capital and commission amounts in the currency, fractions as percentages."""
    out = []
    for key, value in (costs or {}).items():
        if key in ("capital", "commission_minimum"):
            text = formatting.money(value, currency)
        elif key == "commission_per_share":
            text = f"{formatting.qty(value)} {currency} per share"
        elif key in ("commission_max_pct", "slippage_prob"):
            text = formatting.pct(value, signed=False)
        else:
            text = value_text(value)
        out.append((key, text))
    return out


# -- trades --------------------------------------------------------------------------------------------------------


def _moment(ns: int | None) -> dt.datetime | None:
    # Truncated to microseconds, never rounded: a daily bar's 23:59:59.999999999 stays on its day.
    return None if ns is None else series.EPOCH + dt.timedelta(microseconds=ns // 1000)


def trade_rows(trades: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per stored trade, numbered in run order: times as datetimes, prices, quantity, P&L, return and
    duration in seconds."""
    rows = []
    for number, trade in enumerate(trades, start=1):
        entry_ns, exit_ns = series.trade_times(trade)
        rows.append(
            {
                "number": number,
                "side": str(trade.get("side", "")),
                "entry": _moment(entry_ns),
                "exit": _moment(exit_ns),
                "entry_price": formatting.to_number(trade.get("entry_price")),
                "exit_price": formatting.to_number(trade.get("exit_price")),
                "quantity": formatting.to_number(trade.get("quantity")),
                "pnl": formatting.to_number(trade.get("pnl")),
                "return": formatting.to_number(trade.get("return")),
                "commission": formatting.to_number(trade.get("commission")),
                "duration": None if entry_ns is None or exit_ns is None else (exit_ns - entry_ns) / 1e9,
            }
        )
    return rows


def sort_rows(rows: list[dict[str, Any]], key: str, descending: bool) -> list[dict[str, Any]]:
    """Rows by one column; rows missing that value go last either way, ties keep run order."""
    present = [r for r in rows if r[key] is not None]
    missing = [r for r in rows if r[key] is None]
    present.sort(key=lambda r: (r[key], r["number"] if not descending else -r["number"]), reverse=descending)
    return present + missing


def _query(sort: str, page: int | None = None) -> str:
    params: dict[str, Any] = {} if sort == DEFAULT_SORT.param else {"sort": sort}
    if page and page > 1:
        params["page"] = page
    return "?" + urlencode(params) if params else "?"


def trades_table(trades: list[dict[str, Any]], sort_text: str | None, page_text: str | None) -> dict[str, Any]:
    """The trades table: sorted rows of one page, headings with their sort links, page links and notes."""
    sort = parse_sort(sort_text, TRADE_COLUMNS, DEFAULT_SORT)
    page, page_note = nearest_page(sort_rows(trade_rows(trades), sort.key, sort.descending), page_text, TRADES_PER_PAGE)
    current = sort.param
    headings = table_headings(TRADE_COLUMNS, sort, _query)
    paginator = page.paginator
    return {
        "rows": list(page.object_list),
        "headings": headings,
        "page": page,
        "total": paginator.count,
        "first_url": _query(current, 1),
        "previous_url": _query(current, page.previous_page_number()) if page.has_previous() else "",
        "next_url": _query(current, page.next_page_number()) if page.has_next() else "",
        "last_url": _query(current, paginator.num_pages),
        "notes": [n for n in (sort.note, page_note) if n],
    }


# -- charts --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Charts:
    """The charts' JSON for the page and what to say under them."""

    data: dict[str, Any]
    equity_notes: list[str]
    price_notes: list[str]


def chart_data(run: Any, market: RunMarket) -> Charts:
    """Equity with its drawdown and the buy-and-hold benchmark; the price with indicator lines and trade markers."""
    capital = capital_of(run)
    curve_ms, equity = series.curve_arrays(run.equity_curve or [])
    bench = series.benchmark(curve_ms, market.ts, market.close, capital)
    equity_notes = []
    if run.bar_count and len(curve_ms) and len(curve_ms) < run.bar_count:
        equity_notes.append(
            f"The equity curve is stored thinned to {formatting.num(len(curve_ms), 0)} of the run's "
            f"{formatting.num(run.bar_count, 0)} bar closes; drawdown and monthly returns are read from it."
        )
    if len(curve_ms) and not bench:
        equity_notes.append("No benchmark: the catalog has no bars for this run's window.")
    price = None
    price_notes = list(market.notes)
    n = len(market.ts)
    if n:
        ends = series.bucket_ends(n)
        if len(ends) < n:
            price_notes.append(
                f"{formatting.num(n, 0)} bars are shown as {formatting.num(len(ends), 0)} points: each the last "
                f"close (and line values) of {formatting.num(math.ceil(n / len(ends)), 0)} bars."
            )
        lines = [
            {"label": label, "values": series.thinned(values, ends, 6)}
            for label, values in market.lines.items()
            if len(values) == n
        ]
        dropped = [label for label, values in market.lines.items() if len(values) != n]
        if dropped:
            price_notes.append(f"Lines not drawn (not one value per bar): {', '.join(dropped)}.")
        markers = series.trade_markers(run.trades or [], market.ts, ends)
        if 2 * len(run.trades or []) > len(markers) and len(markers) == series.MAX_MARKERS:
            price_notes.append(f"Only the latest {formatting.num(series.MAX_MARKERS, 0)} entries and exits are marked.")
        price = {
            "t": [series.seconds(t) for t in market.ts[ends]],
            "close": series.thinned(list(market.close), ends, 6),
            "lines": lines,
            "markers": markers,
        }
    data = {
        "daily": "-DAY-" in f"-{run.bar_spec}",
        "currency": market.currency,
        "capital": capital,
        "pricePlaces": market.price_places,
        "instrument": run.instrument_id,
        "equity": {
            "t": [int(t) / 1e3 for t in curve_ms],
            "equity": [round(float(v), 2) for v in equity],
            "drawdown": [round(float(v), 6) for v in series.drawdown(equity, capital)],
            "benchmark": bench or None,
        },
        "price": price,
    }
    return Charts(data, equity_notes, price_notes)


def backtest_page(run: Any, market: RunMarket, sort: str | None = None, page: str | None = None) -> dict[str, Any]:
    """Everything the backtest page shows of a run, but the run itself."""
    curve_ms, equity = series.curve_arrays(run.equity_curve or [])
    charts = chart_data(run, market)
    return {
        "run": run,
        "daily": charts.data["daily"],
        "currency": market.currency,
        "price_places": market.price_places,
        "metrics": metric_rows(run, market.currency),
        "params": param_items(run.params, market.currency),
        "costs": cost_items(run.costs, market.currency),
        "monthly": series.monthly_returns(curve_ms, equity, capital_of(run)),
        "months": series.MONTHS,
        "trades": trades_table(list(run.trades or []), sort, page),
        "charts": charts.data,
        "equity_notes": charts.equity_notes,
        "price_notes": charts.price_notes,
        "has_lines": bool(charts.data["price"] and charts.data["price"]["lines"]),
        "nav": "research",
    }
