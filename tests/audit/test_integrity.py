"""Finding 4: the triggers' integrity is checked (system check, live start); anchors catch a deleted tail;
live needs the HMAC key."""

from __future__ import annotations

import dataclasses
from io import StringIO

import pytest
from django.core import checks
from django.core.management import CommandError, call_command
from django.db import connection

from audit import append_only
from audit.anchors import anchor_path, latest_anchor
from audit.models import Action, AuditEntry
from audit.services import chain_head, record
from trading.sessions.guards import SessionRefused, check_environment

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
HMAC_KEY = "test-only-audit-hmac-key-0123456789abcdef"


@pytest.fixture
def live_ready(settings):
    settings.ATS = dataclasses.replace(
        settings.ATS,
        enable_live_trading=True,
        live=dataclasses.replace(settings.ATS.live, account_id="U1234567"),
        audit_hmac_key=HMAC_KEY,
    )
    return settings.ATS


def _audit_errors() -> list[str]:
    return [
        e.msg for e in checks.run_checks(tags=[checks.Tags.database], databases=["default"]) if e.id == "audit.E001"
    ]


@pytest.fixture
def sabotage():
    """Run raw SQL as a table owner would, then put the guards back as `migrate` does."""
    with connection.cursor() as cursor:
        yield cursor.execute
    append_only.install_all(connection)


def _tamper_guard(execute) -> str:
    """Neutralize the audit table's guard without dropping it; return the problem the check must name."""
    if connection.vendor == "postgresql":
        execute("ALTER TABLE audit_auditentry DISABLE TRIGGER ats_ao_audit_auditentry_row")
        return "trigger ats_ao_audit_auditentry_row is disabled (tgenabled=D)"
    # SQLite cannot disable a trigger; the closest is one redefined to never fire.
    execute('DROP TRIGGER "ats_ao_audit_auditentry_update"')
    execute(
        'CREATE TRIGGER "ats_ao_audit_auditentry_update" BEFORE UPDATE ON "audit_auditentry" WHEN 0 '
        "BEGIN SELECT RAISE(ABORT, 'no'); END"
    )
    return "trigger ats_ao_audit_auditentry_update was redefined"


def test_a_disabled_or_redefined_trigger_fails_the_check_and_refuses_live(live_ready, sabotage):
    assert _audit_errors() == []
    check_environment("live")  # intact: live may start
    problem = _tamper_guard(sabotage)
    errors = _audit_errors()
    assert len(errors) == 1 and problem in errors[0], errors
    with pytest.raises(SessionRefused, match="live refused: the audit log's guards are not intact: audit_auditentry"):
        check_environment("live")


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_a_guard_function_replaced_with_a_no_op_fails_the_check(live_ready, sabotage):
    sabotage(
        "CREATE OR REPLACE FUNCTION ats_append_only_guard() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN RETURN OLD; END $$"
    )
    errors = _audit_errors()
    assert errors and "guard function ats_append_only_guard() was replaced (its body differs)" in errors[0]
    with pytest.raises(SessionRefused, match="was replaced"):
        check_environment("live")


def test_live_refuses_to_start_without_the_hmac_key(live_ready, settings):
    settings.ATS = dataclasses.replace(live_ready, audit_hmac_key="")
    with pytest.raises(SessionRefused) as info:
        check_environment("live")
    assert str(info.value) == "live refused: ATS_AUDIT_HMAC_KEY is not set, so the audit chain could be re-forged"
    check_environment("paper")  # paper is not held to it


def _verify() -> str:
    out = StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def test_security_actions_publish_the_head_and_a_deleted_tail_is_caught_by_default(sabotage):
    record(Action.ORDER_INTENT, actor="system:test")  # not security-relevant: nothing published
    assert latest_anchor() is None
    assert "no anchor published yet" in _verify()
    record(Action.PERMISSION_CHANGE, actor="user:admin", target="user:bob", payload={"items": ["x"]})
    seq, head = chain_head()
    anchor = latest_anchor()
    assert (anchor.seq, anchor.hash) == (seq, head) and anchor_path().read_text().count("\n") == 1
    assert f"extends anchor #{seq}" in _verify()

    # An attacker with the database deletes the tail (guards lifted as an owner could) and re-forges nothing.
    for model in append_only.registered_models():
        append_only.drop(connection, model)
    sabotage("DELETE FROM audit_auditentry WHERE seq = %s", [seq])
    assert AuditEntry.objects.count() == seq - 1
    with pytest.raises(CommandError, match=rf"anchor entry #{seq} is not in the log \(the log ends at #{seq - 1}\)"):
        _verify()


def test_the_monitor_publishes_on_schedule_and_alerts_on_broken_guards(sabotage, caplog):
    from trading.monitoring.audit_watch import watch_audit_once

    record(Action.ORDER_INTENT, actor="system:test")
    assert watch_audit_once() == [] and latest_anchor().seq == chain_head()[0]
    problem = _tamper_guard(sabotage)
    problems = watch_audit_once()
    assert problems and problem in problems[0]
    assert "audit log guards not intact" in caplog.text
