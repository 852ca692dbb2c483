"""Rung 1: causality comparators; the lead runs the engine, these compare the runs' decisions.

check_lookahead, in the style of Freqtrade's lookahead analysis: for each cut-off the engine is re-run on data
truncated right after that instant; every decision (ts, side, quantity) at or before the cut-off must be the
same as the full run's. A decision that is missing, extra or changed in a truncated run means the full run
saw data from after the decision. check_warmup_sensitivity, in the style of Freqtrade's recursive analysis:
runs started with different warm-up lengths must agree from compare_from_ns (the end of the longest warm-up)
on; the run with the longest warm-up is the reference and the first divergence is reported.

A decision is a mapping with "ts" (int ns), "side" ("BUY"/"SELL" in any case, or a signed number) and
"quantity"; quantities and indicator values agree within a relative 1e-9 (float noise, not a difference).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from console import formatting
from research.stats._common import finite_array
from research.verdicts import RungVerdict, Verdict, not_run

LOOKAHEAD = "lookahead"
WARMUP = "warmup_sensitivity"
RTOL = 1e-9
MAX_LISTED = 20  # differences listed in numbers; the count is always complete

Action = tuple[str, float]


def iso(ts: int) -> str:
    """A ns timestamp as the console writes a UTC instant, to the second: 2020-01-11 00:00:00 UTC."""
    return formatting.when(datetime.fromtimestamp(ts // 1_000_000_000, tz=UTC), "UTC")


def _by_ts(decisions: Sequence[Mapping[str, Any]], name: str) -> dict[int, list[Action]]:
    grouped: dict[int, list[Action]] = defaultdict(list)
    for i, decision in enumerate(decisions):
        try:
            ts, side, quantity = decision["ts"], decision["side"], float(decision["quantity"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{name}[{i}]: needs ts, side and a numeric quantity") from None
        if isinstance(ts, bool) or not isinstance(ts, int | np.integer) or not math.isfinite(quantity):
            raise ValueError(f"{name}[{i}]: ts must be int ns and quantity finite")
        if isinstance(side, str):
            label = side.strip().upper()
        elif isinstance(side, int | float | np.number) and side != 0:
            label = "BUY" if side > 0 else "SELL"
        else:
            raise ValueError(f"{name}[{i}]: side must be BUY/SELL or a signed number, got {side!r}")
        grouped[int(ts)].append((label, quantity))
    return {ts: sorted(actions) for ts, actions in grouped.items()}


def _same(a: list[Action], b: list[Action]) -> bool:
    return len(a) == len(b) and all(
        sa == sb and math.isclose(qa, qb, rel_tol=RTOL, abs_tol=1e-12) for (sa, qa), (sb, qb) in zip(a, b, strict=True)
    )


def _differences(reference: dict[int, list[Action]], other: dict[int, list[Action]]) -> list[dict[str, Any]]:
    out = []
    for ts in sorted(set(reference) | set(other)):
        ref, oth = reference.get(ts, []), other.get(ts, [])
        if not _same(ref, oth):
            kind = "missing" if not oth else "extra" if not ref else "changed"
            out.append({"ts": ts, "at": iso(ts), "kind": kind, "reference": ref, "other": oth})
    return out


def check_lookahead(
    full_decisions: Sequence[Mapping[str, Any]], truncated_runs: Mapping[int, Sequence[Mapping[str, Any]]]
) -> RungVerdict:
    """Fail when any truncated run's decisions up to its cut-off differ from the full run's."""
    full = _by_ts(full_decisions, "full_decisions")
    if not truncated_runs:
        return not_run(LOOKAHEAD, "no truncated runs to compare with the full run")
    differences: list[dict[str, Any]] = []
    bad_cutoffs, compared = 0, 0
    for cutoff in sorted(truncated_runs):
        run = _by_ts(truncated_runs[cutoff], f"truncated_runs[{cutoff}]")
        up_to = {ts: a for ts, a in full.items() if ts <= cutoff}
        seen = {ts: a for ts, a in run.items() if ts <= cutoff}
        compared += sum(len(a) for a in up_to.values()) + sum(len(a) for a in seen.values())
        found = _differences(up_to, seen)
        if found:
            bad_cutoffs += 1
            differences.extend({"cutoff": iso(cutoff), **d} for d in found)
    numbers = {
        "n_cutoffs": len(truncated_runs),
        "n_bad_cutoffs": bad_cutoffs,
        "n_differences": len(differences),
        "differences": differences[:MAX_LISTED],
    }
    if not compared:
        return RungVerdict(LOOKAHEAD, Verdict.NOT_RUN, "no decisions at or before any cut-off", numbers)
    if differences:
        first = differences[0]
        reason = (
            f"lookahead: {bad_cutoffs} of {len(truncated_runs)} cut-offs disagree with the full run; first at"
            f" {first['at']} (cut-off {first['cutoff']}): decision {first['kind']} in the truncated run"
        )
        return RungVerdict(LOOKAHEAD, Verdict.FAIL, reason, numbers)
    reason = f"no lookahead: decisions up to all {len(truncated_runs)} cut-offs match the full run"
    return RungVerdict(LOOKAHEAD, Verdict.PASS, reason, numbers)


def _indicator_divergence(
    reference: tuple[ArrayLike, ArrayLike], other: tuple[ArrayLike, ArrayLike], start: int, names: tuple[str, str]
) -> int | None:
    ref_name, name = names
    ref_ts, ref_values = _indicator(reference, ref_name)
    ts, values = _indicator(other, name)
    ref_keep, keep = ref_ts >= start, ts >= start
    ref_ts, ref_values, ts, values = ref_ts[ref_keep], ref_values[ref_keep], ts[keep], values[keep]
    # NaN before an indicator is warm is normal; from the comparison start on it is a bad input.
    finite_array(ref_values.ravel(), ref_name)
    finite_array(values.ravel(), name)
    where = {int(t): i for i, t in enumerate(ts)}
    mismatched = [
        int(t)
        for i, t in enumerate(ref_ts)
        if int(t) not in where or not np.allclose(values[where[int(t)]], ref_values[i], rtol=RTOL, atol=1e-12)
    ]
    extra = set(where) - {int(t) for t in ref_ts}
    return min([*mismatched, *extra], default=None)


def _indicator(pair: tuple[ArrayLike, ArrayLike], name: str) -> tuple[np.ndarray, np.ndarray]:
    ts = np.asarray(pair[0], dtype=np.int64)
    values = np.asarray(pair[1], dtype=np.float64)
    if ts.ndim != 1 or values.shape[:1] != ts.shape:
        raise ValueError(f"{name}: values must have one row per timestamp")
    return ts, values


def check_warmup_sensitivity(
    compare_from_ns: int,
    decisions: Mapping[int, Sequence[Mapping[str, Any]]] | None = None,
    indicators: Mapping[int, tuple[ArrayLike, ArrayLike]] | None = None,
) -> RungVerdict:
    """Fail when runs keyed by warm-up length disagree (decisions, or (ts, values) indicators) from compare_from_ns."""
    runs: Mapping[int, Any] = decisions if decisions is not None else (indicators or {})
    if decisions is not None and indicators is not None:
        raise ValueError("check_warmup_sensitivity: pass decisions or indicators, not both")
    if len(runs) < 2:
        return not_run(WARMUP, f"{len(runs)} warm-up run(s), need at least 2 to compare")
    longest = max(runs)
    first_divergence: dict[int, int | None] = {}
    for warmup in sorted(runs):
        if warmup == longest:
            continue
        if decisions is not None:
            ref = {t: a for t, a in _by_ts(decisions[longest], f"decisions[{longest}]").items() if t >= compare_from_ns}
            oth = {t: a for t, a in _by_ts(decisions[warmup], f"decisions[{warmup}]").items() if t >= compare_from_ns}
            found = _differences(ref, oth)
            first_divergence[warmup] = found[0]["ts"] if found else None
        else:
            assert indicators is not None
            first_divergence[warmup] = _indicator_divergence(
                indicators[longest],
                indicators[warmup],
                compare_from_ns,
                (f"indicators[{longest}]", f"indicators[{warmup}]"),
            )
    what = "decisions" if decisions is not None else "indicator values"
    numbers = {
        "kind": what,
        "reference_warmup": longest,
        "compare_from": iso(compare_from_ns),
        "first_divergence": {str(w): None if t is None else iso(t) for w, t in first_divergence.items()},
    }
    diverged = {w: t for w, t in first_divergence.items() if t is not None}
    if diverged:
        warmup, ts = min(diverged.items(), key=lambda item: item[1])
        reason = (
            f"warm-up sensitive: {what} with warm-up {warmup} first diverge from warm-up {longest} at {iso(ts)}"
            f" ({len(diverged)} of {len(first_divergence)} shorter runs differ)"
        )
        return RungVerdict(WARMUP, Verdict.FAIL, reason, numbers)
    reason = f"{what} of {len(runs)} warm-up lengths agree from {iso(compare_from_ns)} on"
    return RungVerdict(WARMUP, Verdict.PASS, reason, numbers)
