"""A Studio strategy climbs the same ladder as any other: a paper session on ibsim (real TradingNode and IB adapter)
matched fill for fill by the paper rung, its gauntlet, and approve_live refusing until both pass — bound to the
exact version: the next version of the same strategy has no ladder of its own."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from research.models import RungOutcome
from research.paper_rung import do_check_paper_rung
from research.services import do_start_gauntlet
from research.tasks import run_gauntlet_job
from studio.services import do_save_version
from tests.research.ladder_support import LOOSE_THRESHOLDS, paper_session

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("qqq_catalog")]

# RSI(2) swings often on ibsim's random-walk 5-second bars; sized in shares so every fill is whole.
SPEC = {
    "instrument_id": "QQQ.NASDAQ",
    "bar_spec": "1-DAY-LAST",
    "params": {"oversold": 30.0, "overbought": 70.0},
    "indicators": {"rsi": {"type": "rsi", "period": 2}},
    "entry": {"left": "rsi", "op": "<", "right": "$oversold"},
    "exit": {"left": "rsi", "op": ">", "right": "$overbought"},
    "sizing": {"quantity": 10},
}
FILLS = 6


def _approve(strategy: str) -> str:
    out = StringIO()
    call_command(
        "approve_live",
        *("--strategy", strategy, "--instrument", "QQQ.NASDAQ", "--bar-spec", "1-DAY-LAST"),
        *("--params", "{}", "--note", "studio ladder climbed"),
        stdout=out,
    )
    return out.getvalue()


@pytest.mark.timeout(300)
def test_a_studio_version_climbs_the_ladder_and_only_that_version_is_approved(make_stack, known_instruments):
    version, _ = do_save_version(name="rsi2_swing", spec=SPEC, actor="user:tester")
    strategy = version.strategy_name
    session = paper_session(make_stack, strategy, {}, FILLS)
    assert session.status == "stopped", session.status_reason
    check = do_check_paper_rung(session_id=session.pk, actor="user:tester", min_fills=FILLS)
    unmatched = [r for r in check.rows if r["status"] != "matched"]
    assert check.verdict == RungOutcome.PASS, (check.reason, unmatched)
    assert check.strategy == strategy

    with pytest.raises(CommandError, match="gauntlet rung not run"):
        _approve(strategy)
    report = do_start_gauntlet(
        strategy=strategy,
        instrument_id="QQQ.NASDAQ",
        bar_spec="1-DAY-LAST",
        params={},
        grid={"oversold": [20.0, 30.0]},
        actor="cli:test",
        start="2015-01-01",
        end="2017-12-31",
        enqueue=False,
        thresholds=LOOSE_THRESHOLDS,
    )
    for job_id in report.jobs.values_list("pk", flat=True):
        run_gauntlet_job(job_id)
    report.refresh_from_db()
    assert report.verdict == RungOutcome.PASS, [(r.rung, r.reason) for r in report.rungs.all() if r.verdict != "pass"]
    assert f"gauntlet #{report.pk}, paper rung #{check.pk}" in _approve(strategy)

    # Version 2 changes one number: other code hash, no ladder; version 1's evidence does not carry over.
    changed = {**SPEC, "params": {"oversold": 25.0, "overbought": 70.0}}
    second, created = do_save_version(name="rsi2_swing", spec=changed, actor="user:tester")
    assert created and second.parent_id == version.pk
    with pytest.raises(CommandError, match="rung not run"):
        _approve(second.strategy_name)
