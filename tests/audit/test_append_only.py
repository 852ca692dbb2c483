"""The audit log and approvals refuse every way of changing or removing rows, in the database itself."""

import pytest
from django.core import checks
from django.db import DatabaseError, IntegrityError, connection, transaction

from approvals.models import GoLiveApproval
from audit import append_only
from audit.models import Action, AuditEntry
from audit.services import record, system_actor

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

REFUSED = (DatabaseError, IntegrityError)


def _entry() -> AuditEntry:
    return record(Action.SETTINGS_STARTUP, actor=system_actor("test"), target="t", payload={"k": 1})


def _refused(sql: str, params=()) -> None:
    with pytest.raises(REFUSED, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_orm_update_delete_and_bulk_update_are_refused():
    entry = _entry()
    for attempt in (
        lambda: AuditEntry.objects.filter(pk=entry.pk).update(payload={"k": 2}),
        lambda: AuditEntry.objects.filter(pk=entry.pk).delete(),
        lambda: entry.delete(),
        lambda: AuditEntry.objects.bulk_update([AuditEntry(pk=entry.pk, seq=entry.seq, target="x")], ["target"]),
    ):
        with pytest.raises(REFUSED, match="append-only"), transaction.atomic():
            attempt()
    entry.refresh_from_db()
    assert entry.payload == {"k": 1} and entry.target == "t"


def test_save_of_an_existing_entry_is_refused():
    entry = _entry()
    entry.target = "edited"
    with pytest.raises(REFUSED, match="append-only"), transaction.atomic():
        entry.save()


def test_raw_sql_update_and_delete_are_refused():
    entry = _entry()
    _refused("UPDATE audit_auditentry SET target = 'x' WHERE id = %s", [entry.pk])
    _refused("DELETE FROM audit_auditentry WHERE id = %s", [entry.pk])
    _refused("DELETE FROM audit_auditentry")
    assert AuditEntry.objects.count() == 1


def test_replace_and_upsert_cannot_overwrite_a_row():
    entry = _entry()
    columns = "id, seq, created_at, actor, action, target, payload, prev_hash, hash"
    values = "%s, %s, %s, 'evil', 'auth.login', '', '{}', %s, %s"
    params = [entry.pk, entry.seq, entry.created_at, entry.prev_hash, "f" * 64]
    if connection.vendor == "sqlite":
        _refused(f"INSERT OR REPLACE INTO audit_auditentry ({columns}) VALUES ({values})", params)
        _refused(f"REPLACE INTO audit_auditentry ({columns}) VALUES ({values})", params)
        # Same seq under a new id: REPLACE would delete the old row through the seq unique index.
        _refused(
            f"INSERT OR REPLACE INTO audit_auditentry ({columns}) VALUES ({values})", [entry.pk + 1000, *params[1:]]
        )
    _refused(
        f"INSERT INTO audit_auditentry ({columns}) VALUES ({values}) ON CONFLICT (id) DO UPDATE SET actor = 'evil'",
        params,
    )
    entry.refresh_from_db()
    assert entry.actor == "system:test"
    assert AuditEntry.objects.count() == 1


def test_truncate_is_refused_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("TRUNCATE exists only on PostgreSQL; SQLite's DELETE is covered above")
    _entry()
    _refused("TRUNCATE audit_auditentry")
    _refused("TRUNCATE approvals_goliveapproval")
    assert AuditEntry.objects.count() == 1


def test_approvals_are_append_only_too(approved_demo):
    approval = GoLiveApproval.objects.get()
    _refused("UPDATE approvals_goliveapproval SET note = 'x' WHERE id = %s", [approval.pk])
    _refused("DELETE FROM approvals_goliveapproval WHERE id = %s", [approval.pk])
    with pytest.raises(REFUSED, match="append-only"), transaction.atomic():
        GoLiveApproval.objects.update(decision="revoke")


def test_table_rebuild_drops_triggers_and_the_check_and_migrate_put_them_back():
    """A SQLite table rebuild (what AlterField does) loses triggers; the system check must notice it."""
    if connection.vendor == "sqlite":
        # Django's own SQLite rebuild, the one AlterField runs: new table, copy, drop old, rename.
        with connection.schema_editor() as editor:
            editor._remake_table(AuditEntry)
    else:
        append_only.drop(connection, AuditEntry)
    assert append_only.missing_triggers(connection, AuditEntry)
    errors = [e for e in checks.run_checks(databases=["default"]) if e.id == "audit.E001"]
    assert errors and "audit_auditentry" in errors[0].msg

    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    assert append_only.missing_triggers(connection, AuditEntry) == []
    assert not [e for e in checks.run_checks(databases=["default"]) if e.id == "audit.E001"]


def test_unknown_vendor_raises_instead_of_skipping():
    class FakeConnection:
        vendor = "mysql"

    with pytest.raises(Exception, match="not implemented for the 'mysql' database"):
        append_only.install(FakeConnection(), AuditEntry)
