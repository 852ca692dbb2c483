"""Paper sessions end to end: a real TradingNode with the real IB adapter against ibsim, hosted in its own process."""

import os
import signal
import time

import pytest

from audit.models import Action, AuditEntry
from audit.services import verify_chain
from tests.sessions.conftest import PAPER_ACCOUNT, finish, wait_until
from trading.sessions.models import SessionEvent, SessionStatus, TradingSession
from trading.sessions.services import do_create_session, do_mark_lost_sessions, do_request_kill

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


def probe(action: str, count: int = 1, instrument: str = "QQQ.NASDAQ") -> list:
    return [
        {
            "strategy": "order_probe",
            "instrument_id": instrument,
            "bar_spec": "5-SECOND-LAST",
            "params": {"action": action, "count": count},
        }
    ]


def events(session_id: int, kind: str) -> list[dict]:
    return list(SessionEvent.objects.filter(session_id=session_id, kind=kind).values_list("payload", flat=True))


def status(session_id: int) -> str:
    return TradingSession.objects.values_list("status", flat=True).get(pk=session_id)


@pytest.mark.postgres
def test_fill_is_audited_after_its_intent_and_kill_cancels_every_working_order(paper_stack):
    sim = paper_stack.sim
    elsewhere = sim.seed_working_order(
        PAPER_ACCOUNT, "QQQ", "BUY", 5, "LMT", lmt_price=1.0, order_ref="O-ELSEWHERE-1:9001"
    )
    session = do_create_session(environment="paper", sleeves=probe("market", 10), actor="user:tester")
    host = paper_stack.host(session.pk)
    wait_until(lambda: events(session.pk, "fill"), 60, message="a fill")
    assert status(session.pk) == SessionStatus.RUNNING

    intent = AuditEntry.objects.filter(action=Action.ORDER_INTENT).first()
    fill = AuditEntry.objects.filter(action=Action.ORDER_FILLED).first()
    assert intent.seq < fill.seq and intent.payload["client_order_id"] == fill.payload["client_order_id"]
    assert intent.payload["sleeve"]["strategy"] == "order_probe" and intent.payload["session"] == session.pk
    placed = sim.received("PLACE_ORDER")
    assert len(placed) == 1 and intent.payload["client_order_id"] in " ".join(map(str, placed[0]["fields"]))

    do_request_kill(actor="user:tester", reason="end of test", session_id=session.pk)
    assert finish(host) == 0
    assert status(session.pk) == SessionStatus.KILLED
    assert not [o for o in sim.orders() if o["status"] in ("Submitted", "PreSubmitted")], sim.orders()
    # The order placed elsewhere (not this node's) is gone too: the kill cancels at the broker, not only our book.
    assert [o["status"] for o in sim.orders() if o["perm_id"] == elsewhere["perm_id"]] == ["Cancelled"]
    kill = AuditEntry.objects.filter(action=Action.SESSION_KILL, target=f"session:{session.pk}").last()
    assert kill.actor == "user:tester" and "end of test" in kill.payload["reason"]
    assert verify_chain().ok


def test_oversized_order_is_denied_before_the_broker(paper_stack):
    session = do_create_session(environment="paper", sleeves=probe("market", 1_000_000), actor="user:tester")
    host = paper_stack.host(session.pk)
    denied = wait_until(
        lambda: [e for e in events(session.pk, "order") if e["event"] == "OrderDenied"],
        60,
        message="an OrderDenied event",
    )
    assert "exceeds the cap 25,000.00 USD" in denied[0]["reason"]
    entry = AuditEntry.objects.get(action=Action.ORDER_DENIED)
    assert entry.payload["rule"] == "notional" and entry.payload["cap"] == "25000"
    assert float(entry.payload["notional"]) > 25000 and entry.payload["quantity"] == "1000000"
    assert AuditEntry.objects.filter(action=Action.ORDER_INTENT).count() == 1
    do_request_kill(actor="user:tester", reason="done", session_id=session.pk)
    finish(host)
    assert paper_stack.sim.received("PLACE_ORDER") == []


def test_burst_over_the_submit_rate_is_denied_and_never_reaches_the_broker(paper_stack):
    session = do_create_session(environment="paper", sleeves=probe("burst", 14), actor="user:tester")
    host = paper_stack.host(session.pk)
    wait_until(
        lambda: len([e for e in events(session.pk, "order") if e["event"] in ("OrderDenied", "OrderAccepted")]) >= 14,
        60,
        message="14 orders accepted or denied",
    )
    denied = [e for e in events(session.pk, "order") if e["event"] == "OrderDenied"]
    assert len(denied) == 4 and all("rate" in e["reason"].lower() for e in denied), denied
    assert AuditEntry.objects.filter(action=Action.ORDER_DENIED).count() == 4
    assert AuditEntry.objects.filter(action=Action.ORDER_INTENT).count() == 14
    assert len(paper_stack.sim.received("PLACE_ORDER")) == 10
    do_request_kill(actor="user:tester", reason="done", session_id=session.pk)
    finish(host)
    assert not [o for o in paper_stack.sim.orders() if o["status"] == "Submitted"]


def test_reconciliation_picks_up_what_exists_only_at_the_broker(paper_stack):
    sim = paper_stack.sim
    sim.seed_position(PAPER_ACCOUNT, "QQQ", 30, 150.0)
    sim.seed_working_order(
        PAPER_ACCOUNT, "QQQ", "SELL", 30, "LMT", lmt_price=999.0, order_ref="O-20260101-000000-001-001-1:42"
    )
    session = do_create_session(environment="paper", sleeves=probe("none"), actor="user:tester")
    host = paper_stack.host(session.pk)
    snapshot = wait_until(
        lambda: [e for e in events(session.pk, "snapshot") if e["reason"] == "reconciled"],
        60,
        message="the reconciled snapshot",
    )[0]
    assert [(p["instrument_id"], p["signed_qty"]) for p in snapshot["positions"]] == [("QQQ.NASDAQ", 30.0)]
    assert [(o["side"], o["quantity"], o["price"]) for o in snapshot["working_orders"]] == [("SELL", "30", "999.00")]
    do_request_kill(actor="user:tester", reason="done", session_id=session.pk)
    finish(host)
    assert sim.received("PLACE_ORDER") == []  # nothing placed: reconciliation only reads


def test_failed_reconciliation_fails_the_session_closed(paper_stack):
    # An order typed into TWS has no orderRef; Nautilus 1.231 cannot reconcile it and the trader never starts.
    paper_stack.sim.seed_working_order(PAPER_ACCOUNT, "QQQ", "BUY", 1, "LMT", lmt_price=1.0, order_ref="")
    session = do_create_session(environment="paper", sleeves=probe("market", 1), actor="user:tester")
    finish(paper_stack.host(session.pk), 60)
    session.refresh_from_db()
    assert session.status == SessionStatus.FAILED
    assert session.stop_reason == "execution state could not be reconciled with the broker; the session does not trade"
    assert paper_stack.sim.received("PLACE_ORDER") == []
    assert AuditEntry.objects.filter(action=Action.SESSION_FAILED).exists()


def test_a_second_host_for_the_same_session_is_refused(paper_stack):
    session = do_create_session(environment="paper", sleeves=probe("none"), actor="user:tester")
    first = paper_stack.host(session.pk)
    wait_until(lambda: status(session.pk) == SessionStatus.RUNNING, 60, message="the session to run")
    duplicate = paper_stack.host(session.pk)
    assert finish(duplicate) != 0
    assert status(session.pk) == SessionStatus.RUNNING
    do_request_kill(actor="user:tester", reason="done", session_id=session.pk)
    assert finish(first) == 0


def test_kill_during_start_up_is_honoured(paper_stack):
    session = do_create_session(environment="paper", sleeves=probe("market", 10), actor="user:tester")
    host = paper_stack.host(session.pk)
    wait_until(lambda: TradingSession.objects.get(pk=session.pk).lease_owner, 30, message="the host to take the lease")
    do_request_kill(actor="user:tester", reason="changed my mind", session_id=session.pk)
    asked = time.monotonic()
    finish(host, 60)
    # At once, not when Nautilus's start-up gives up waiting for its connections (30 s).
    assert time.monotonic() - asked < 10
    assert status(session.pk) == SessionStatus.KILLED
    assert paper_stack.sim.received("PLACE_ORDER") == []
    # A killed session stays killed: hosting it again is refused.
    assert finish(paper_stack.host(session.pk)) != 0
    assert status(session.pk) == SessionStatus.KILLED


def test_a_stop_signal_while_the_host_starts_ends_the_session_stopped_at_once(paper_stack):
    session = do_create_session(environment="paper", sleeves=probe("market", 10), actor="user:tester")
    host = paper_stack.host(session.pk)
    # The lease is taken early in the host's start, long before the node's loop can handle signals.
    wait_until(lambda: TradingSession.objects.get(pk=session.pk).lease_owner, 30, message="the host to take the lease")
    host.send_signal(signal.SIGTERM)
    asked = time.monotonic()
    assert finish(host, 60) == 0
    assert time.monotonic() - asked < 15
    assert status(session.pk) == SessionStatus.STOPPED
    assert paper_stack.sim.received("PLACE_ORDER") == []


def test_kill_before_any_host_finishes_the_session_at_once(paper_stack):
    session = do_create_session(environment="paper", sleeves=probe("none"), actor="user:tester")
    killed = do_request_kill(actor="user:tester", reason="never mind", environment="paper")
    assert killed == [session.pk] and status(session.pk) == SessionStatus.KILLED


def test_killing_the_host_process_then_starting_again_places_no_duplicate_order(paper_stack):
    sleeves = [
        {
            "strategy": "ibs_reversion",
            "instrument_id": "QQQ.NASDAQ",
            "bar_spec": "5-SECOND-LAST",
            "params": {"buy_threshold": 1.0, "sell_threshold": 1.0, "quantity": 10},
        }
    ]
    first = do_create_session(environment="paper", sleeves=sleeves, actor="user:tester")
    host = paper_stack.host(first.pk)
    wait_until(lambda: events(first.pk, "fill"), 60, message="the first entry's fill")
    os.kill(host.pid, signal.SIGKILL)
    host.wait()
    TradingSession.objects.filter(pk=first.pk).update(lease_expires_at="2000-01-01T00:00:00Z")
    assert do_mark_lost_sessions() == [first.pk] and status(first.pk) == SessionStatus.LOST
    placed_before = len(paper_stack.sim.received("PLACE_ORDER"))

    second = do_create_session(environment="paper", sleeves=sleeves, actor="user:tester")
    host = paper_stack.host(second.pk)
    snapshot = wait_until(
        lambda: [e for e in events(second.pk, "snapshot") if e["reason"] == "reconciled"],
        60,
        message="the reconciled snapshot",
    )[0]
    assert [p["signed_qty"] for p in snapshot["positions"]] == [10.0]
    bars_seen = len(events(second.pk, "bar"))
    wait_until(lambda: len(events(second.pk, "bar")) >= bars_seen + 2, 30, message="two more bars")
    # buy_threshold 1.0 enters on every bar when flat: no new BUY means the strategy owns the reconciled position.
    new_orders = paper_stack.sim.received("PLACE_ORDER")[placed_before:]
    assert not [m for m in new_orders if "BUY" in m["fields"]], new_orders
    do_request_kill(actor="user:tester", reason="done", session_id=second.pk)
    finish(host)


def test_connectivity_codes_from_the_gateway_are_surfaced_and_audited(paper_stack):
    session = do_create_session(environment="paper", sleeves=probe("none"), actor="user:tester")
    host = paper_stack.host(session.pk)
    wait_until(lambda: status(session.pk) == SessionStatus.RUNNING, 60, message="the session to run")
    paper_stack.sim.send_connectivity(1100)
    paper_stack.sim.send_connectivity(1102)
    health = wait_until(
        lambda: {e["code"] for e in events(session.pk, "health")} >= {1100, 1102} and events(session.pk, "health"),
        30,
        message="health events for 1100 and 1102",
    )
    assert any(e["code"] == 1100 and not e["connected"] for e in health)
    assert any(e["code"] == 1102 and e["connected"] for e in health)
    assert AuditEntry.objects.filter(action=Action.GATEWAY_CONNECTIVITY, payload__code=1100).exists()
    do_request_kill(actor="user:tester", reason="done", session_id=session.pk)
    assert finish(host) == 0


def test_kill_all_with_flatten_closes_positions_at_the_broker(paper_stack):
    from io import StringIO

    from django.core.management import call_command

    session = do_create_session(environment="paper", sleeves=probe("market", 20), actor="user:tester")
    host = paper_stack.host(session.pk)
    wait_until(lambda: events(session.pk, "fill"), 60, message="the entry fill")
    assert paper_stack.sim.positions(PAPER_ACCOUNT)["QQQ"]["qty"] == 20
    out = StringIO()
    call_command("kill_session", "--all", "--env", "paper", "--reason", "flatten drill", "--flatten", stdout=out)
    assert f"kill (halt and flatten) requested for session {session.pk}" in out.getvalue()
    assert finish(host, 60) == 0
    session.refresh_from_db()
    assert session.status == SessionStatus.KILLED and "(halt and flatten)" in session.stop_reason
    assert paper_stack.sim.positions(PAPER_ACCOUNT) == {}
    sells = [m for m in paper_stack.sim.received("PLACE_ORDER") if "SELL" in m["fields"]]
    assert len(sells) == 1


def test_kill_session_refuses_bad_requests_in_one_line(paper_stack):
    from django.core.management import CommandError, call_command

    for args, message in (
        (["--reason", "x"], "give a session id, or --all with --env"),
        (["--all", "--reason", "x"], "--all needs --env paper|live"),
        (["999", "--reason", "x"], "no session 999"),
        (["999", "--reason", " "], "a reason is required"),
    ):
        with pytest.raises(CommandError, match=message):
            call_command("kill_session", *args)
