"""Rung 0: data integrity: hard faults fail, soft anomalies are listed and pass within limits, real QQQ passes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from research.stats.integrity import check_data_integrity
from research.stats.thresholds import GauntletThresholds
from research.verdicts import Verdict

QQQ = Path(__file__).resolve().parents[2] / "data" / "daily" / "QQQ.csv"
DAY = 86_400 * 1_000_000_000
MINUTE = 60 * 1_000_000_000


def _daily(dates: list[str] | pd.DatetimeIndex) -> dict[str, np.ndarray]:
    # Stamped as the project stamps daily bars: the last nanosecond of the session's UTC date.
    ts = pd.DatetimeIndex(dates).tz_localize("UTC").asi8 + DAY - 1
    close = 100 + np.arange(ts.size) * 0.1
    return {
        "ts": ts,
        "open": close - 0.05,
        "high": close + 0.5,
        "low": close - 0.5,
        "close": close,
        "volume": np.full(ts.size, 1_000_000.0),
    }


SESSIONS = pd.bdate_range("2024-03-04", "2024-03-28")  # no NYSE holiday in it; Good Friday is 29 March


def test_real_qqq_passes_with_its_anomalies_listed():
    frame = pd.read_csv(QQQ)
    bars = {k: frame[k].to_numpy() for k in ("open", "high", "low", "close", "volume")}
    bars["ts"] = pd.DatetimeIndex(frame["date"]).tz_localize("UTC").asi8 + DAY - 1
    rounding = {"prices_changed": 18_000, "max_change": 0.005}  # 4-decimal prices rounded to a cent
    verdict = check_data_integrity(bars, rounding=rounding)
    assert verdict.verdict == Verdict.PASS, verdict.reason
    assert verdict.reason.startswith("5,031 bars, no hard faults; soft anomalies within limits")
    assert verdict.numbers["daily"] and verdict.numbers["expected_bars"] == 5031
    assert "2015-05-12" in verdict.numbers["zero_volume"]["at"]
    assert verdict.numbers["gaps"]["count"] == 0 and verdict.numbers["duplicate_stamps"]["count"] == 0
    assert verdict.numbers["rounding"]["max_rel_change"] < 0.001


def test_clean_daily_bars_pass():
    verdict = check_data_integrity(_daily(SESSIONS))
    assert verdict.verdict == Verdict.PASS
    assert verdict.numbers["first"] == "2024-03-04" and verdict.numbers["expected_bars"] == 19


@pytest.mark.parametrize(
    ("break_it", "fault"),
    [
        (lambda b: b["ts"].__setitem__(5, b["ts"][4]), "1 duplicate stamps"),
        (lambda b: b["ts"].__setitem__([5, 6], b["ts"][[6, 5]]), "1 out of order"),
        (lambda b: b["volume"].__setitem__(3, -10.0), "1 negative volume"),
        (lambda b: b["low"].__setitem__(3, -1.0), "1 non positive price"),
        (lambda b: b["high"].__setitem__(7, b["close"][7] - 0.01), "1 ohlc inconsistent"),
        (lambda b: b["low"].__setitem__(8, b["open"][8] + 0.01), "1 ohlc inconsistent"),
    ],
)
def test_hard_faults_fail(break_it, fault):
    bars = _daily(SESSIONS)
    break_it(bars)
    verdict = check_data_integrity(bars)
    assert verdict.verdict == Verdict.FAIL
    assert verdict.reason.startswith("hard faults: ") and fault in verdict.reason


def test_soft_anomalies_listed_then_failing_over_their_limits():
    bars = _daily(SESSIONS.delete(10))  # 2024-03-18 missing
    bars["volume"][2] = 0.0
    bars["high"][4] = bars["low"][4] = bars["open"][4] = bars["close"][4]
    loose = GauntletThresholds.from_mapping(
        {"max_zero_volume_frac": 0.1, "max_zero_range_frac": 0.1, "max_gap_frac": 0.1}
    )
    verdict = check_data_integrity(bars, thresholds=loose)
    assert verdict.verdict == Verdict.PASS, verdict.reason
    assert verdict.numbers["gaps"]["at"] == ["2024-03-18"]
    assert verdict.numbers["zero_volume"]["at"] == ["2024-03-06"]
    assert verdict.numbers["zero_range"]["at"] == ["2024-03-08"]
    strict = check_data_integrity(bars)
    assert strict.verdict == Verdict.FAIL
    assert strict.reason.startswith("soft anomalies over limits: zero-volume bars 5.56% > 0.50%")
    assert "calendar gaps 5.26% > 0.50%" in strict.reason


def test_weekend_bar_and_large_rounding_change_count_against_limits():
    bars = _daily(SESSIONS.append(pd.DatetimeIndex(["2024-03-30"])))
    verdict = check_data_integrity(bars, rounding={"prices_changed": 3, "max_change": 0.5})
    assert verdict.numbers["off_calendar"]["at"] == ["2024-03-30"]
    assert "calendar gaps" in verdict.reason and "tick-rounding change" in verdict.reason


def test_intraday_gaps_inside_sessions_and_extended_hours():
    # 2024-03-05 regular session 14:30-21:00 UTC: 390 one-minute bars stamped at their close.
    open_ns = pd.Timestamp("2024-03-05 14:30", tz="UTC").value
    ts = open_ns + np.arange(1, 391) * MINUTE
    ts = np.delete(ts, [100, 101])  # two missing minutes
    ts = np.append(ts, ts[-1] + 30 * MINUTE)  # one after-hours bar
    close = np.full(ts.size, 500.0)
    bars = {"ts": ts, "open": close, "high": close + 0.1, "low": close - 0.1, "close": close, "volume": close}
    verdict = check_data_integrity(bars, thresholds=GauntletThresholds.from_mapping({"max_gap_frac": 0.01}))
    assert not verdict.numbers["daily"]
    assert verdict.numbers["gaps"]["count"] == 2 and verdict.numbers["gaps"]["at"][0] == "2024-03-05 16:11 UTC"
    assert verdict.numbers["outside_session"]["count"] == 1
    assert verdict.verdict == Verdict.PASS


def test_intraday_bars_on_a_weekend_are_all_outside_sessions():
    ts = pd.Timestamp("2024-03-09 15:00", tz="UTC").value + np.arange(1, 11) * MINUTE
    close = np.full(ts.size, 10.0)
    bars = {"ts": ts, "open": close, "high": close + 0.1, "low": close - 0.1, "close": close, "volume": close}
    verdict = check_data_integrity(bars)
    assert verdict.numbers["outside_session"]["count"] == 10 and verdict.numbers["expected_bars"] == 0


def test_empty_is_not_run_and_bad_inputs_are_errors():
    empty = {k: np.zeros(0) for k in ("open", "high", "low", "close", "volume")}
    assert check_data_integrity({"ts": np.zeros(0, np.int64), **empty}).verdict == Verdict.NOT_RUN
    bars = _daily(SESSIONS)
    bars["close"][3] = np.nan
    with pytest.raises(ValueError, match="^close: 1 non-finite"):
        check_data_integrity(bars)
    bars = _daily(SESSIONS)
    bars["volume"] = bars["volume"][:-1]
    with pytest.raises(ValueError, match="^volume: 18 values for 19 stamps"):
        check_data_integrity(bars)
    with pytest.raises(ValueError, match="^ts: expected 1-D integer"):
        check_data_integrity({**_daily(SESSIONS), "ts": np.zeros(19)})
