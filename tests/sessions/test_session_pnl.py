"""The session's P&L from its own fills: cumulative over every round trip, to the cent of the broker's executions."""

from decimal import Decimal

import pytest

from tests.sessions.conftest import PAPER_ACCOUNT, finish, wait_until
from trading.selectors import session_pnl
from trading.sessions.models import SessionEvent
from trading.sessions.pnl import Book, PnlLedger
from trading.sessions.services import do_create_session, do_request_kill

D = Decimal


def test_realized_pnl_accumulates_over_round_trips_and_through_flat():
    book = Book()
    book.fill(D(10), D(100), D(1))  # long 10 @ 100
    book.fill(D(-10), D(99), D(1))  # flat: -10
    book.fill(D(10), D(98), D(1))  # long again: the earlier loss stays
    book.fill(D(-4), D(101), D(1))  # +12 on 4
    assert (book.quantity, book.average_price, book.realized, book.commissions) == (D(6), D(98), D(2), D(4))
    book.fill(D(-10), D(100), D(1))  # closes 6 (+12) and goes short 4 at 100
    assert (book.quantity, book.average_price, book.realized) == (D(-4), D(100), D(14))
    assert book.unrealized(D(97)) == D(12) and book.unrealized(None) is None
    book.fill(D(4), D(102), D(0))  # a short closed 2 higher: -8
    assert (book.quantity, book.average_price, book.realized) == (D(0), D(0), D(6))
    assert book.unrealized(None) == 0  # flat needs no mark


def test_the_ledger_adds_sleeves_marks_multipliers_and_converts_or_says_it_cannot():
    ledger = PnlLedger()
    ledger.fill("S-1", "ES.CME", D(1), D(5000), D("2.5"), multiplier=D(50))
    ledger.fill("S-2", "QQQ.NASDAQ", D(-10), D(100), D(1))
    per_sleeve = ledger.pnl({"ES.CME": D(5010), "QQQ.NASDAQ": D(101)}, {"ES.CME": D(1), "QQQ.NASDAQ": D(1)})
    assert per_sleeve["S-1"].total == D(500) - D("2.5") and per_sleeve["S-2"].total == D(-11)
    assert PnlLedger.total(per_sleeve).as_dict() == {
        "realized": "0.00",
        "unrealized": "490.00",
        "commissions": "3.50",
        "total": "486.50",
    }
    assert ledger.pnl({"ES.CME": None, "QQQ.NASDAQ": D(101)}, {"ES.CME": D(1), "QQQ.NASDAQ": D(1)}) is None
    assert ledger.pnl({"ES.CME": D(5010), "QQQ.NASDAQ": D(101)}, {"ES.CME": None, "QQQ.NASDAQ": D(1)}) is None
    halved = ledger.pnl({"ES.CME": D(5010), "QQQ.NASDAQ": D(101)}, {"ES.CME": D("0.5"), "QQQ.NASDAQ": D(1)})
    assert halved["S-1"].total == (D(500) - D("2.5")) / 2


@pytest.mark.e2e
@pytest.mark.timeout(180)
def test_after_several_round_trips_the_session_pnl_is_the_brokers_to_the_cent(paper_stack):
    sim = paper_stack.sim
    sleeves = [
        {
            "strategy": "order_probe",
            "instrument_id": "QQQ.NASDAQ",
            "bar_spec": "5-SECOND-LAST",
            "params": {"action": "roundtrip", "count": 10, "interval_ms": 1200, "repeats": 3},
        }
    ]
    session = do_create_session(environment="paper", sleeves=sleeves, actor="user:tester")
    host = paper_stack.host(session.pk)
    try:
        wait_until(lambda: len(sim.executions()) >= 6, 60, message="three round trips at ibsim")
        executions = sim.executions()
        assert sim.positions(PAPER_ACCOUNT) == {}
        cash = sum(
            D(str(e["shares"])) * D(str(e["price"])) * (1 if e["side"] == "SLD" else -1) - D(str(e["commission"]))
            for e in executions
        )
        expected = cash.quantize(D("0.01"))

        def published():
            latest = SessionEvent.objects.filter(session_id=session.pk, kind="pnl").order_by("-id").first()
            return latest is not None and D(latest.payload["total"]) == expected and latest.payload

        payload = wait_until(published, 20, message=f"the session's P&L to reach the broker's {expected}")
        assert D(payload["unrealized"]) == 0 and D(payload["commissions"]) > 0
        assert session_pnl(session.pk)["total"] == float(expected)
        # The chart reads these: cumulative, never reset to 0 by a round trip closing.
        totals = [
            D(p["total"])
            for p in SessionEvent.objects.filter(session_id=session.pk, kind="pnl").values_list("payload", flat=True)
        ]
        assert totals[-1] == expected
    finally:
        do_request_kill(actor="user:tester", reason="done", session_id=session.pk)
        finish(host)
