"""The hash chain: verify_audit catches every kind of tampering; concurrent writers never fork it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from audit import append_only
from audit.chain import GENESIS_HASH, canonical_json, entry_hash
from audit.models import Action, AuditEntry
from audit.services import chain_head, record, system_actor, verify_chain

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


def _fill(n: int = 5) -> list[AuditEntry]:
    return [
        record(
            Action.ORDER_INTENT, actor=system_actor("test"), target=f"order-{i}", payload={"qty": i, "price": "101.25"}
        )
        for i in range(1, n + 1)
    ]


def _tamper(sql: str, params=()) -> None:
    """What an attacker with database access does: drop the guards, change rows, put the guards back."""
    append_only.drop(connection, AuditEntry)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    append_only.install(connection, AuditEntry)


def _verify(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue()


def test_chain_links_each_entry_to_the_previous_one():
    entries = _fill(3)
    assert entries[0].prev_hash == GENESIS_HASH
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[1].prev_hash == entries[0].hash and entries[2].prev_hash == entries[1].hash
    first = entries[0]
    canonical = canonical_json(first.seq, first.created_at, first.actor, first.action, first.target, first.payload)
    assert first.hash == entry_hash(GENESIS_HASH, canonical)
    assert "audit chain OK: 3 entries" in _verify()


def test_edited_payload_is_named():
    _fill()
    payload = json.dumps({"qty": 999, "price": "101.25"})
    _tamper("UPDATE audit_auditentry SET payload = %s WHERE seq = 3", [payload])
    with pytest.raises(CommandError, match=r"entry #3: content does not match its hash"):
        _verify()


def test_deleted_row_is_named():
    _fill()
    _tamper("DELETE FROM audit_auditentry WHERE seq = 2")
    with pytest.raises(CommandError, match=r"entry #2 is missing"):
        _verify()


def test_reordered_rows_are_named():
    _fill()
    # Swap the sequence numbers of entries 2 and 3 (via a temporary value to respect the unique index).
    _tamper("UPDATE audit_auditentry SET seq = 1000 WHERE seq = 2")
    _tamper("UPDATE audit_auditentry SET seq = 2 WHERE seq = 3")
    _tamper("UPDATE audit_auditentry SET seq = 3 WHERE seq = 1000")
    with pytest.raises(CommandError, match=r"entry #2: prev_hash does not match"):
        _verify()


def test_rehashed_forgery_is_caught_by_the_anchor():
    """Someone who rewrites a payload and recomputes every later hash passes the walk, but not the anchor."""
    _fill(4)
    seq, head = chain_head()
    row = AuditEntry.objects.get(seq=2)
    forged_payload = {"qty": 1_000_000, "price": "101.25"}
    prev = row.prev_hash
    for entry in AuditEntry.objects.filter(seq__gte=2).order_by("seq"):
        payload = forged_payload if entry.seq == 2 else entry.payload
        new_hash = entry_hash(
            prev, canonical_json(entry.seq, entry.created_at, entry.actor, entry.action, entry.target, payload)
        )
        _tamper(
            "UPDATE audit_auditentry SET payload = %s, prev_hash = %s, hash = %s WHERE seq = %s",
            [json.dumps(payload), prev, new_hash, entry.seq],
        )
        prev = new_hash
    assert "audit chain OK" in _verify()
    with pytest.raises(CommandError, match=rf"entry #{seq}: hash differs from the anchor"):
        _verify("--anchor", f"{seq}:{head}")


def test_hmac_key_prevents_reforging_without_the_key(settings):
    settings.ATS = type(settings.ATS)(**{**settings.ATS.__dict__, "audit_hmac_key": "k" * 32})
    entries = _fill(2)
    plain = entry_hash(
        entries[0].prev_hash,
        canonical_json(
            entries[0].seq,
            entries[0].created_at,
            entries[0].actor,
            entries[0].action,
            entries[0].target,
            entries[0].payload,
        ),
    )
    assert entries[0].hash != plain
    assert verify_chain().ok
    # Re-forged with plain SHA-256 (all an attacker without the key can do): detected.
    _tamper("UPDATE audit_auditentry SET hash = %s WHERE seq = 1", [plain])
    assert "content does not match" in verify_chain().problem


def test_anchor_that_the_log_no_longer_reaches_is_reported():
    _fill(3)
    seq, head = chain_head()
    _tamper("DELETE FROM audit_auditentry WHERE seq = 3")
    with pytest.raises(CommandError, match=r"anchor entry #3 is not in the log"):
        _verify("--anchor", f"{seq}:{head}")


def test_malformed_anchor_is_a_one_line_error():
    with pytest.raises(CommandError, match="--anchor must be SEQ:HASH"):
        _verify("--anchor", "12:nothex")


def test_audit_anchor_prints_the_head():
    from io import StringIO

    _fill(2)
    out = StringIO()
    call_command("audit_anchor", stdout=out)
    seq, head = chain_head()
    assert out.getvalue().strip() == f"{seq}:{head}"
    assert "extends anchor #2" in _verify("--anchor", out.getvalue().strip())


def test_a_domain_write_whose_audit_entry_fails_does_not_happen():
    from django.utils import timezone

    from approvals.models import GoLiveApproval

    with pytest.raises(ValueError), transaction.atomic():
        GoLiveApproval.objects.create(
            strategy="x",
            instrument_id="QQQ.NASDAQ",
            decision="approve",
            code_hash="0" * 64,
            decided_by="t",
            note="n",
            created_at=timezone.now(),
        )
        record("not.an.action", actor="system:test")
    assert GoLiveApproval.objects.count() == 0


def test_concurrent_writers_in_several_processes_never_fork_the_chain():
    """Four processes append at once; the chain must come out gapless and verifiable."""
    env = dict(os.environ)
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{settings_dict['NAME']}"
    else:
        env["DATABASE_URL"] = (
            f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:"
            f"{settings_dict['PORT']}/{settings_dict['NAME']}"
        )
    writers, per_writer = 4, 40
    procs = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "audit" / "chain_writer.py"), str(per_writer), str(i)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(writers)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
    assert AuditEntry.objects.count() == writers * per_writer
    assert list(AuditEntry.objects.values_list("seq", flat=True)) == list(range(1, writers * per_writer + 1))
    result = verify_chain()
    assert result.ok, result.problem
    assert set(AuditEntry.objects.values_list("actor", flat=True)) == {f"system:writer-{i}" for i in range(writers)}
