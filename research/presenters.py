"""Shape a gauntlet report's stored numbers for the Research pages: rung rows, thresholds against the defaults,
the parameter heatmap, walk-forward windows and histograms. Pure functions over JSON; no queries."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

from console import formatting
from research.stats.thresholds import GauntletThresholds

# Numbers shown in their own section rather than in the rung table's numbers column.
SECTION_NUMBERS = {"heatmap", "windows", "drawdown_histogram", "logit_histogram", "neighbours"}
MATCHED = "matched"


def defaults() -> dict[str, Any]:
    """Every gauntlet threshold's default value."""
    return GauntletThresholds().as_dict()


def fmt(value: Any) -> str:
    """A number as a trader reads it: 4 significant digits, grouped (console.formatting.sig), None as a dash."""
    return formatting.setting(value, lambda n: formatting.sig(n) if math.isfinite(n) else str(n))


def _param(value: Any) -> str:
    # A param reads as it is written in JSON (no grouping commas inside a comma-separated list): 10000, 0.2.
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)
    return fmt(value)


def compact_params(params: dict[str, Any] | None) -> str:
    """Params as 'name=value, …' in name order."""
    return ", ".join(f"{k}={_param(v)}" for k, v in sorted((params or {}).items()))


def ladder_url(strategy: str, instrument_id: str, bar_spec: str, params: dict[str, Any] | None) -> str:
    """The Research page of the ladder of these exact params."""
    query = urlencode(
        {
            "strategy": strategy,
            "instrument": instrument_id,
            "bar_spec": bar_spec,
            "params": json.dumps(params or {}, sort_keys=True),
        }
    )
    return f"{reverse('research:ladder')}?{query}"


def threshold_rows(thresholds: dict[str, Any]) -> list[dict[str, Any]]:
    """Each threshold with its default and whether it differs from it (a loosened or tightened gate)."""
    known = defaults()
    rows = []
    for name, value in thresholds.items():
        default = known.get(name)
        changed = name in known and value != default
        rows.append({"name": name, "value": fmt(value), "default": fmt(default), "changed": changed})
    return rows


def _flat_numbers(numbers: dict[str, Any]) -> list[tuple[str, str]]:
    flat: list[tuple[str, str]] = []
    for name, value in numbers.items():
        if name in SECTION_NUMBERS:
            continue
        if isinstance(value, dict) and all(not isinstance(v, dict | list) for v in value.values()):
            if len(value) <= 6:
                flat += [(f"{name}.{k}", fmt(v)) for k, v in value.items()]
            continue
        if isinstance(value, list):
            if len(value) <= 4 and all(not isinstance(v, dict | list) for v in value):
                flat.append((name, fmt(value)))
            continue
        if isinstance(value, dict):
            continue
        flat.append((name, fmt(value)))
    return flat


def _detail_lines(value: Any, indent: str = "") -> list[str]:
    # Every number of a rung, nested as stored, one `name: value` a line; flat lists inline.
    lines: list[str] = []
    for name, item in sorted(value.items()) if isinstance(value, dict) else enumerate(value):
        label = f"{indent}{name}:" if isinstance(value, dict) else f"{indent}-"
        if isinstance(item, dict) or (isinstance(item, list) and any(isinstance(v, dict | list) for v in item)):
            lines += [label, *_detail_lines(item, indent + "  ")]
        elif isinstance(item, list):
            lines.append(f"{label} [{', '.join(fmt(v) for v in item)}]")
        else:
            lines.append(f"{label} {fmt(item)}")
    return lines


def rung_row(rung: Any) -> dict[str, Any]:
    """One rung result for the rung table: verdict, reason, its scalar numbers and its thresholds."""
    return {
        "rung": rung.rung,
        "verdict": rung.verdict,
        "reason": rung.reason,
        "numbers": _flat_numbers(rung.numbers or {}),
        "thresholds": threshold_rows(rung.thresholds or {}),
        "details": "\n".join(_detail_lines(rung.numbers or {})),
    }


def _shade(value: float | None, scale: float) -> str:
    # Green for a positive Sharpe, red for a negative one, stronger the further from zero.
    if value is None or scale <= 0:
        return ""
    alpha = 0.12 + 0.6 * min(abs(value) / scale, 1.0)
    rgb = "26,127,55" if value >= 0 else "192,21,27"
    return f"background: rgba({rgb},{alpha:.2f})"


def heatmap_table(heatmap: dict[str, Any] | None, chosen: dict[str, Any]) -> dict[str, Any] | None:
    """The stability heatmap as table rows (y) of cells (x), shaded by Sharpe, the chosen cell marked."""
    if not heatmap or not heatmap.get("x_values"):
        return None
    x_param, y_param = heatmap["x_param"], heatmap.get("y_param")
    x_values = heatmap["x_values"]
    y_values = heatmap.get("y_values") or [None]
    matrix = heatmap.get("sharpe") or []
    finite = [v for row in matrix for v in row if isinstance(v, int | float)]
    scale = max((abs(v) for v in finite), default=0.0)
    rows = []
    for y, values in zip(y_values, matrix, strict=False):
        cells = []
        for x, value in zip(x_values, values, strict=False):
            is_chosen = chosen.get(x_param) == x and (y_param is None or chosen.get(y_param) == y)
            cells.append({"value": fmt(value), "style": _shade(value, scale), "chosen": is_chosen, "x": fmt(x)})
        rows.append({"y": fmt(y) if y_param else "", "cells": cells})
    return {
        "x_param": x_param,
        "y_param": y_param or "",
        "x_values": [fmt(x) for x in x_values],
        "rows": rows,
        "fixed": compact_params(heatmap.get("fixed")),
    }


def histogram_bars(histogram: dict[str, Any] | None, mark: float | None = None) -> list[dict[str, Any]]:
    """A histogram {edges, counts} as bars with a height in percent; `mark` flags the bin holding that value."""
    if not histogram or not histogram.get("counts"):
        return []
    counts, edges = histogram["counts"], histogram["edges"]
    top = max(counts) or 1
    bars = []
    for i, count in enumerate(counts):
        low, high = edges[i], edges[i + 1]
        marked = mark is not None and low <= mark <= high
        bars.append(
            {
                "count": count,
                "height": round(100 * count / top, 1),
                "low": fmt(low),
                "high": fmt(high),
                "marked": marked,
            }
        )
    return bars


def walk_forward_rows(numbers: dict[str, Any]) -> list[dict[str, Any]]:
    """The walk-forward windows: dates, in-sample and out-of-sample Sharpe and the params picked in sample."""
    rows = []
    for i, w in enumerate(numbers.get("windows") or []):
        window = w.get("window") or {}
        is_dates, oos_dates = window.get("is_dates") or ["", ""], window.get("oos_dates") or ["", ""]
        rows.append(
            {
                "index": window.get("index", i),
                "is_dates": " → ".join(is_dates),
                "oos_dates": " → ".join(oos_dates),
                "is": fmt(w.get("is")),
                "oos": fmt(w.get("oos")),
                "oos_positive": isinstance(w.get("oos"), int | float) and w["oos"] > 0,
                "params": compact_params(w.get("params")),
            }
        )
    return rows


def _moment(ns: Any) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(ns / 1e9, tz=dt.UTC) if isinstance(ns, int | float) else None


def match_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The paper rung's trade match rows with a mismatch flag (anything but a clean match) and their fill times as
    moments (the rows keep nanoseconds)."""
    return [
        {
            **row,
            "mismatch": row.get("status") != MATCHED,
            "backtest_time": _moment(row.get("backtest_ts")),
            "session_time": _moment(row.get("session_ts")),
        }
        for row in rows or []
    ]


def report_sections(report: Any, rungs: list[Any]) -> dict[str, Any]:
    """Everything the report page draws from the rung results, keyed by section."""
    by_name = {r.rung: r for r in rungs}
    stability = by_name.get("parameter_stability")
    walk_forward = by_name.get("walk_forward")
    monte_carlo = by_name.get("monte_carlo")
    pbo = by_name.get("pbo")
    mc_numbers = monte_carlo.numbers if monte_carlo else {}
    pbo_numbers = pbo.numbers if pbo else {}
    return {
        "rung_rows": [rung_row(r) for r in rungs],
        "threshold_rows": threshold_rows(report.thresholds or {}),
        "heatmap": heatmap_table((stability.numbers or {}).get("heatmap") if stability else None, report.params),
        "wf_rows": walk_forward_rows(walk_forward.numbers or {}) if walk_forward else [],
        "wf_numbers": _flat_numbers(walk_forward.numbers or {}) if walk_forward else [],
        "mc_bars": histogram_bars(mc_numbers.get("drawdown_histogram"), mc_numbers.get("drawdown_quantile")),
        "mc_numbers": _flat_numbers(mc_numbers),
        "mc_budget": fmt((monte_carlo.thresholds or {}).get("mc_max_drawdown")) if monte_carlo else "—",
        "pbo_bars": histogram_bars(pbo_numbers.get("logit_histogram"), 0.0),
    }
