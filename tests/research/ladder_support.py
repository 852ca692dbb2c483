"""What the ladder's end-to-end tests share: a paper session on ibsim stopped after enough fills, and gauntlet
thresholds loose enough that a test about the gate does not depend on a strategy's edge."""

from __future__ import annotations

from tests.sessions.conftest import PAPER_ACCOUNT, finish, wait_until
from trading.sessions.models import SessionEvent, TradingSession
from trading.sessions.services import do_create_session, do_request_stop

LOOSE_THRESHOLDS = {
    "min_trades": 1,
    "min_dsr": 0.0,
    "max_pbo": 1.0,
    "reject_pbo": 1.0,
    "max_spa_pvalue": 1.0,
    "min_wf_efficiency": -100.0,
    "min_wf_positive_frac": 0.0,
    "min_neighbour_sharpe_ratio": -100.0,
    "mc_max_drawdown": 1.0,
    "mc_max_loss_prob": 1.0,
    "min_breakeven_cost_multiple": 0.0001,
    "min_sharpe_at_3x_costs": -100.0,
}


def paper_session(make_stack, strategy: str, params: dict, fills: int) -> TradingSession:
    """A paper session of one QQQ sleeve on ibsim's 5-second bars (time runs 5x), stopped after `fills` fills."""
    stack = make_stack([PAPER_ACCOUNT], speed=5)
    sleeve = {"strategy": strategy, "instrument_id": "QQQ.NASDAQ", "bar_spec": "5-SECOND-LAST", "params": params}
    session = do_create_session(environment="paper", sleeves=[sleeve], actor="user:tester")
    host = stack.host(session.pk)
    try:
        wait_until(
            # A few more than needed: the stop's closing fill comes after the last bar and is no decision.
            lambda: SessionEvent.objects.filter(session_id=session.pk, kind="fill").count() >= fills + 2,
            150,
            message=f"{fills + 2} fills in the paper session",
        )
    finally:
        do_request_stop(session_id=session.pk, actor="user:tester")
        finish(host, 60)
    session.refresh_from_db()
    return session
