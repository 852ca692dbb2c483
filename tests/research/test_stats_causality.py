"""Rung 1: lookahead and warm-up comparators over decisions and indicator values of engine runs."""

from __future__ import annotations

import numpy as np
import pytest

from research.stats.causality import check_lookahead, check_warmup_sensitivity
from research.verdicts import Verdict

DAY = 86_400 * 1_000_000_000
T0 = 1_577_836_800 * 1_000_000_000  # 2020-01-01T00:00:00Z


def _d(day: int, side: str | int = "BUY", quantity: float = 10.0) -> dict[str, object]:
    return {"ts": T0 + day * DAY, "side": side, "quantity": quantity}


FULL = [_d(2), _d(5, "SELL"), _d(9), _d(12, "SELL"), _d(20)]


def _causal_runs() -> dict[int, list[dict[str, object]]]:
    # A causal strategy run on data ending at the cut-off makes the same decisions up to it.
    return {T0 + c * DAY: [d for d in FULL if d["ts"] <= T0 + c * DAY] for c in (3, 9, 15)}


def test_causal_strategy_passes():
    runs = _causal_runs()
    runs[T0 + 9 * DAY] = [_d(2, 1), _d(5, "sell", 10.0 + 1e-12), _d(9, " buy ")]  # same decisions, other spelling
    verdict = check_lookahead(FULL, runs)
    assert verdict.verdict == Verdict.PASS
    assert verdict.reason == "no lookahead: decisions up to all 3 cut-offs match the full run"


def test_moved_missing_and_changed_decisions_fail():
    runs = _causal_runs()
    runs[T0 + 9 * DAY] = [_d(2), _d(6, "SELL")]  # the day-5 exit moved a day later, the day-9 entry is missing
    runs[T0 + 15 * DAY] = [_d(2), _d(5, "SELL"), _d(9, quantity=5.0), _d(12, "SELL")]
    verdict = check_lookahead(FULL, runs)
    assert verdict.verdict == Verdict.FAIL
    assert verdict.reason.startswith("lookahead: 2 of 3 cut-offs disagree with the full run; first at 2020-01-06")
    kinds = [(d["at"][:10], d["kind"]) for d in verdict.numbers["differences"]]
    assert kinds == [("2020-01-06", "missing"), ("2020-01-07", "extra"), ("2020-01-10", "missing")] + [
        ("2020-01-10", "changed")
    ]


def test_lookahead_not_run_and_errors():
    assert check_lookahead(FULL, {}).verdict == Verdict.NOT_RUN
    assert check_lookahead([], {T0: []}).verdict == Verdict.NOT_RUN
    assert check_lookahead([], {T0 + DAY: [_d(0)]}).verdict == Verdict.FAIL  # a decision the full run never made
    with pytest.raises(ValueError, match=r"^full_decisions\[0\]: needs ts, side"):
        check_lookahead([{"ts": T0}], {T0: []})
    with pytest.raises(ValueError, match=r"^full_decisions\[0\]: ts must be int ns and quantity finite"):
        check_lookahead([_d(0, quantity=float("nan"))], {T0: []})


def test_warmup_decisions_agree_after_the_longest_warmup():
    start = T0 + 10 * DAY
    runs = {50: [_d(8), _d(12), _d(15, "SELL")], 200: [_d(12), _d(15, "SELL")], 100: [_d(3), _d(12), _d(15, "SELL")]}
    verdict = check_warmup_sensitivity(start, decisions=runs)
    assert verdict.verdict == Verdict.PASS
    assert verdict.reason == "decisions of 3 warm-up lengths agree from 2020-01-11 00:00:00 UTC on"


def test_warmup_decisions_diverging_fail_with_the_first_divergence():
    runs = {50: [_d(12), _d(14, "SELL")], 100: [_d(12), _d(15, "SELL"), _d(18)], 200: [_d(12), _d(15, "SELL")]}
    verdict = check_warmup_sensitivity(T0 + 10 * DAY, decisions=runs)
    assert verdict.verdict == Verdict.FAIL
    assert verdict.reason.startswith("warm-up sensitive: decisions with warm-up 50 first diverge from warm-up 200")
    assert verdict.numbers["first_divergence"] == {"50": "2020-01-15 00:00:00 UTC", "100": "2020-01-19 00:00:00 UTC"}


def test_warmup_indicator_values():
    ts = T0 + np.arange(30) * DAY
    ema_long = np.linspace(100, 110, 30)
    ema_short = ema_long.copy()
    ema_short[:5] = np.nan  # not warm yet, before the comparison start
    ok = check_warmup_sensitivity(T0 + 10 * DAY, indicators={20: (ts, ema_short), 60: (ts, ema_long)})
    assert ok.verdict == Verdict.PASS and ok.numbers["kind"] == "indicator values"
    drift = ema_long.copy()
    drift[10:] += np.linspace(0.5, 0.0, 20)  # an EMA still converging from a short seed
    bad = check_warmup_sensitivity(T0 + 10 * DAY, indicators={20: (ts, drift), 60: (ts, ema_long)})
    assert bad.verdict == Verdict.FAIL and "at 2020-01-11 00:00:00 UTC" in bad.reason
    gap = check_warmup_sensitivity(T0 + 10 * DAY, indicators={20: (ts[:-1], ema_long[:-1]), 60: (ts, ema_long)})
    assert gap.verdict == Verdict.FAIL and "2020-01-30" in gap.reason


def test_warmup_not_run_and_errors():
    assert check_warmup_sensitivity(T0, decisions={50: []}).verdict == Verdict.NOT_RUN
    assert check_warmup_sensitivity(T0).verdict == Verdict.NOT_RUN
    ts = T0 + np.arange(3) * DAY
    with pytest.raises(ValueError, match=r"^indicators\[20\]: 1 non-finite"):
        check_warmup_sensitivity(T0, indicators={20: (ts, [1.0, np.nan, 2.0]), 60: (ts, [1.0, 1.5, 2.0])})
    with pytest.raises(ValueError, match="^check_warmup_sensitivity: pass decisions or indicators, not both"):
        check_warmup_sensitivity(T0, decisions={}, indicators={})
