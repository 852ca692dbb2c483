"""The paper rung refuses, in one line and storing nothing, whatever is not a finished paper session's evidence."""

from __future__ import annotations

import pytest
from django.utils import timezone

from research.models import PaperRungCheck
from research.paper_rung import PaperRungError, do_check_paper_rung
from trading.sessions.models import SessionEvent, TradingSession
from trading.strategies.registry import code_hash

pytestmark = pytest.mark.django_db

SLEEVE = {"strategy": "ibs_reversion", "instrument_id": "QQQ.NASDAQ", "bar_spec": "5-SECOND-LAST", "params": {}}


def _session(environment="paper", status="stopped", sleeves=None, bars=12, code=None) -> TradingSession:
    sleeves = sleeves or [{**SLEEVE, "code_hash": code or code_hash("ibs_reversion")}]
    session = TradingSession.objects.create(
        environment=environment,
        account_id="DU1234567",
        sleeves=sleeves,
        risk_caps={},
        started_by="cli:test",
        status=status,
    )
    for i in range(bars):
        payload = {"bar_type": "QQQ.NASDAQ-5-SECOND-LAST-EXTERNAL", "ts": (1_800_000_000 + 5 * i) * 10**9}
        payload.update(open=100.0, high=100.2, low=99.9, close=100.1, volume=10.0)
        SessionEvent.objects.create(
            session=session, environment=environment, kind="bar", ts=timezone.now(), payload=payload
        )
    return session


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: _session(status="running"), "is still running: stop it first"),
        (lambda: _session(environment="live"), "is a live session: the paper rung needs paper"),
        (lambda: _session(bars=3), "received 3 QQQ.NASDAQ-5-SECOND-LAST-EXTERNAL bars: at least 10 needed"),
        (lambda: _session(sleeves=[SLEEVE, {**SLEEVE, "instrument_id": "SPY.ARCA"}]), "has 2 sleeves: name one"),
        (lambda: _session(code="0" * 64), "the strategy's code changed since session"),
    ],
)
def test_what_is_not_evidence_is_refused_in_one_line(build, message):
    session = build()
    with pytest.raises(PaperRungError, match=message) as info:
        do_check_paper_rung(session_id=session.pk, actor="cli:test")
    assert "\n" not in str(info.value) and not PaperRungCheck.objects.exists()


def test_an_unknown_session_or_sleeve_and_bad_limits_are_refused():
    with pytest.raises(PaperRungError, match="no session 999"):
        do_check_paper_rung(session_id=999, actor="cli:test")
    session = _session()
    with pytest.raises(PaperRungError, match="has no sleeve 2 \\(it has 1, numbered from 1\\)"):
        do_check_paper_rung(session_id=session.pk, actor="cli:test", sleeve=2)
    with pytest.raises(PaperRungError, match="min fills must be >= 1"):
        do_check_paper_rung(session_id=session.pk, actor="cli:test", min_fills=0)


def test_a_session_that_never_traded_fails_the_rung_with_its_reason():
    check = do_check_paper_rung(session_id=_session().pk, actor="cli:test")
    assert check.verdict == "fail" and "fewer than 20 session fills" in check.reason
