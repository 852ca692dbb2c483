"""The paper rung on ibsim: a real paper session (TradingNode, IB adapter) and a backtest over the very bars it
received, matched fill for fill; then the whole ladder, and approve_live refusing before and accepting after."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from research.models import RungOutcome
from research.paper_rung import do_check_paper_rung
from research.services import do_start_gauntlet
from research.tasks import run_gauntlet_job
from tests.research.ladder_support import LOOSE_THRESHOLDS, paper_session

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("gauntlet_catalog")]

# Thresholds loose enough to trade often on ibsim's random-walk bars; sized in shares so every fill is whole.
PARAMS = {"buy_threshold": 0.4, "sell_threshold": 0.6, "quantity": 10}
FILLS = 8


def _approve(bar_spec: str = "5-SECOND-LAST") -> str:
    out = StringIO()
    call_command(
        "approve_live",
        *("--strategy", "ibs_reversion", "--instrument", "QQQ.NASDAQ", "--bar-spec", bar_spec),
        *("--params", '{"buy_threshold": 0.4, "sell_threshold": 0.6, "quantity": 10}', "--note", "ladder climbed"),
        stdout=out,
    )
    return out.getvalue()


@pytest.mark.timeout(300)
def test_the_paper_rung_matches_fill_for_fill_and_the_ladder_gates_the_approval(make_stack, known_instruments):
    session = paper_session(make_stack, "ibs_reversion", PARAMS, FILLS)
    check = do_check_paper_rung(session_id=session.pk, actor="user:tester", min_fills=FILLS)
    unmatched = [r for r in check.rows if r["status"] != "matched"]
    assert check.verdict == RungOutcome.PASS, (check.reason, unmatched)
    assert check.session_trades >= FILLS and check.numbers["bars"] >= 10
    assert check.bar_spec == "5-SECOND-LAST" and check.params["buy_threshold"] == 0.4

    # The paper rung alone is not the ladder: the gauntlet for the same params and bars is missing.
    with pytest.raises(CommandError, match="gauntlet rung not run"):
        _approve()
    # The gauntlet judges the same strategy, params and code on the bars it is approved for; here the daily QQQ
    # bars in a short window with stated thresholds (this test is about the gate, not about ibs_reversion).
    report = do_start_gauntlet(
        strategy="ibs_reversion",
        instrument_id="QQQ.NASDAQ",
        bar_spec="1-DAY-LAST",
        params=PARAMS,
        grid={"buy_threshold": [0.3, 0.4]},
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
    assert "thresholds looser than the defaults" in report.reason
    # The gauntlet ran on daily bars, the paper session on 5-second bars: a ladder is per bar spec.
    with pytest.raises(CommandError, match="gauntlet rung not run"):
        _approve("5-SECOND-LAST")
    out = _approve("1-DAY-LAST")
    assert f"gauntlet #{report.pk}, paper rung #{check.pk}" in out
