"""Finding 2: the decision in force is the last inserted; it counts only with its audit entry on an intact chain."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from approvals.models import GoLiveApproval
from approvals.services import do_approve_live, do_revoke_live, may_trade_live
from audit import append_only
from audit.models import Action, AuditEntry
from audit.services import record
from tests.conftest import TEST_OVERRIDE
from trading.sessions.guards import SessionRefused, Sleeve, check_live_approvals
from trading.strategies.registry import code_hash

# No gateway runs here: approve_live's instrument check answers from ibsim's contract table (tests/conftest.py).
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("known_instruments"),
]


def _cli(command: str, *args: str) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def test_a_revocation_beats_an_approval_written_by_a_host_whose_clock_is_two_hours_fast(demo_strategy, monkeypatch):
    real_now = timezone.now
    # The approving host's clock runs 2 h fast: everything it writes is dated in the future.
    monkeypatch.setattr(timezone, "now", lambda: real_now() + dt.timedelta(hours=2))
    approval = do_approve_live(
        strategy="demo",
        instrument_id="QQQ.NASDAQ",
        note="2w paper",
        actor="user:fast",
        bar_spec="1-DAY-LAST",
        override_ladder=TEST_OVERRIDE,
    )
    monkeypatch.setattr(timezone, "now", real_now)
    assert may_trade_live("demo", "QQQ.NASDAQ").allowed

    out = _cli("revoke_live", "--strategy", "demo", "--instrument", "QQQ.NASDAQ", "--note", "drawdown beyond plan")
    assert "revoked demo on QQQ.NASDAQ" in out
    revocation = GoLiveApproval.objects.latest("id")
    assert revocation.created_at < approval.created_at  # the clock says the approval is newer; the database does not
    gate = may_trade_live("demo", "QQQ.NASDAQ")
    assert not gate.allowed and "revoked" in gate.reason and "drawdown beyond plan" in gate.reason
    with pytest.raises(SessionRefused, match="live refused: demo on QQQ.NASDAQ was revoked"):
        check_live_approvals([Sleeve("demo", "QQQ.NASDAQ", "1-DAY-LAST")])
    assert GoLiveApproval.objects.first() == revocation  # the admin lists by insertion order too


def _forge_approval(created_at: str) -> int:
    """An approval row written with raw SQL, around the service: no audit entry."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO approvals_goliveapproval "
            "(strategy, instrument_id, decision, code_hash, decided_by, note, created_at, bar_spec, params, "
            "params_key, ladder_override) "
            "VALUES (%s, %s, 'approve', %s, 'user:mallory', 'forged', %s, '1-DAY-LAST', '{}', 'k', '') "
            "RETURNING id",
            ["demo", "QQQ.NASDAQ", code_hash("demo"), created_at],
        )
        return cursor.fetchone()[0]


def test_a_raw_sql_approval_dated_2030_does_not_count_and_can_be_revoked(demo_strategy):
    forged = _forge_approval("2030-01-01 00:00:00+00:00")
    gate = may_trade_live("demo", "QQQ.NASDAQ")
    assert not gate.allowed
    assert gate.reason == (
        f"demo on QQQ.NASDAQ: decision #{forged} has no audit entry: written around the approval service, not counted"
    )
    # An approver can still approve properly, and a later revocation wins over everything before it.
    do_approve_live(
        strategy="demo",
        instrument_id="QQQ.NASDAQ",
        note="proper",
        actor="user:approver",
        bar_spec="1-DAY-LAST",
        override_ladder=TEST_OVERRIDE,
    )
    assert may_trade_live("demo", "QQQ.NASDAQ").allowed
    _forge_approval("2030-06-01 00:00:00+00:00")
    assert "has no audit entry" in may_trade_live("demo", "QQQ.NASDAQ").reason
    do_revoke_live(strategy="demo", instrument_id="QQQ.NASDAQ", note="forgery found", actor="user:approver")
    gate = may_trade_live("demo", "QQQ.NASDAQ")
    assert not gate.allowed and "was revoked by user:approver: forgery found" in gate.reason


def test_an_approval_counts_only_while_the_chain_verifies_up_to_its_entry(demo_strategy):
    record(Action.SETTINGS_STARTUP, actor="system:test", payload={"before": "the approval"})
    do_approve_live(
        strategy="demo",
        instrument_id="QQQ.NASDAQ",
        note="2w paper",
        actor="user:approver",
        bar_spec="1-DAY-LAST",
        override_ladder=TEST_OVERRIDE,
    )
    assert may_trade_live("demo", "QQQ.NASDAQ").allowed
    first = AuditEntry.objects.order_by("seq").first()
    for model in append_only.registered_models():  # an attacker with the database: guards lifted, an entry edited
        append_only.drop(connection, model)
    try:
        with connection.cursor() as cursor:
            cursor.execute("UPDATE audit_auditentry SET target = 'edited' WHERE seq = %s", [first.seq])
    finally:
        append_only.install_all(connection)
    gate = may_trade_live("demo", "QQQ.NASDAQ")
    assert not gate.allowed and "the audit chain does not verify up to decision" in gate.reason
    assert "entry edited" in gate.reason
