"""The one write API of the audit log, and the chain verifier."""

from __future__ import annotations

import getpass
import hmac
import socket
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.anchors import ANCHORED_ACTIONS, publish_anchor_quietly
from audit.chain import GENESIS_HASH, canonical_json, entry_hash, normalize_payload
from audit.models import Action, AuditEntry

# Any constant: the advisory lock that serializes appends to the chain head on PostgreSQL.
PG_CHAIN_LOCK_KEY = 0x41545341  # "ATSA"
VALID_ACTIONS = frozenset(Action.values)


def cli_actor() -> str:
    """The actor string for a command run from a terminal: cli:<os-user>@<host>."""
    try:
        user = getpass.getuser()
    except Exception:  # no passwd entry (containers): still name the process owner somehow
        user = "unknown"
    return f"cli:{user}@{socket.gethostname()}"


def user_actor(user) -> str:
    """The actor string for a logged-in user."""
    return f"user:{user.get_username()}"


def system_actor(component: str) -> str:
    """The actor string for a component of the system."""
    return f"system:{component}"


HEAD_SQL = "SELECT seq, hash FROM audit_auditentry ORDER BY seq DESC LIMIT 1"


def _locked_chain_head() -> tuple[int, str] | None:
    """Take the chain-head lock for this transaction and read the head under it."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One round trip for both statements (client-side binding allows it); READ COMMITTED gives the
            # SELECT a fresh snapshot taken after the lock is granted, so it sees the latest committed head.
            cursor.execute(f"SELECT pg_advisory_xact_lock({PG_CHAIN_LOCK_KEY}); {HEAD_SQL}")
            cursor.cursor.nextset()
        else:
            # SQLite: settings open every transaction with BEGIN IMMEDIATE, so this transaction already holds the
            # database's write lock and no other writer can read the same head.
            cursor.execute(HEAD_SQL)
        return cursor.fetchone()


def _insert_sql(values: dict, expected_head: tuple[int, str] | None = None) -> tuple[str, list]:
    """The INSERT for one entry; with expected_head it inserts nothing unless the head is still (seq, hash)."""
    fields = [AuditEntry._meta.get_field(name) for name in values]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    params = [field.get_db_prep_save(values[field.name], connection) for field in fields]
    placeholders = ", ".join(["%s"] * len(fields))
    if expected_head is None:
        return f"INSERT INTO audit_auditentry ({columns}) VALUES ({placeholders}) RETURNING id", params
    return (
        f"INSERT INTO audit_auditentry ({columns}) SELECT {placeholders} WHERE "
        "(SELECT ROW(seq, hash) FROM audit_auditentry ORDER BY seq DESC LIMIT 1) = ROW(%s::bigint, %s::varchar) "
        "RETURNING id",
        [*params, *expected_head],
    )


def _entry(pk: int, values: dict) -> AuditEntry:
    entry = AuditEntry(id=pk, **values)
    entry._state.adding, entry._state.db = False, connection.alias
    return entry


def _chained_values(head, action: str, actor: str, target: str, payload: dict) -> dict:
    seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
    created_at = timezone.now()
    canonical = canonical_json(seq, created_at, actor, action, target, payload)
    return {
        "seq": seq,
        "created_at": created_at,
        "actor": actor,
        "action": action,
        "target": target,
        "payload": payload,
        "prev_hash": prev_hash,
        "hash": entry_hash(prev_hash, canonical, settings.ATS.audit_hmac_key),
    }


# The head this process last appended, per database: a lone writer can then append in a single round trip.
_last_written_head: dict[str, tuple[int, str]] = {}


def _record_standalone_postgresql(action: str, actor: str, target: str, payload: dict) -> AuditEntry:
    """A lone append on PostgreSQL in one round trip when this process wrote the head, else two.

    The append sits on the order path, where every round trip is latency added before an order may leave. The
    fast path chains onto the head this process last wrote and inserts only if that is still the head (checked
    under the chain lock); otherwise it commits nothing and the append is redone on the head read under the lock.
    """
    connection.ensure_connection()
    lock = f"BEGIN; SELECT pg_advisory_xact_lock({PG_CHAIN_LOCK_KEY})"
    with connection.cursor() as cursor:
        try:
            known = _last_written_head.get(connection.alias)
            row = None
            if known is not None:
                values = _chained_values(known, action, actor, target, payload)
                sql, params = _insert_sql(values, expected_head=known)
                cursor.execute(f"{lock}; {sql}; COMMIT", params)
                cursor.cursor.nextset()
                cursor.cursor.nextset()
                row = cursor.fetchone()
            if row is None:  # another writer appended since: read the head under the lock
                cursor.execute(f"{lock}; {HEAD_SQL}")
                cursor.cursor.nextset()
                cursor.cursor.nextset()
                values = _chained_values(cursor.fetchone(), action, actor, target, payload)
                sql, params = _insert_sql(values)
                cursor.execute(f"{sql}; COMMIT", params)
                row = cursor.fetchone()
        except BaseException:
            _last_written_head.pop(connection.alias, None)
            cursor.execute("ROLLBACK")
            raise
    _last_written_head[connection.alias] = (values["seq"], values["hash"])
    return _entry(row[0], values)


def record(action: str, *, actor: str, target: str = "", payload: dict | None = None) -> AuditEntry:
    """Append one entry to the audit chain, inside the caller's transaction if there is one."""
    if action not in VALID_ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if not actor:
        raise ValueError("audit entries need an actor")
    payload = normalize_payload(payload)
    entry = _append(action, actor, target, payload)
    if action in ANCHORED_ACTIONS:
        transaction.on_commit(publish_anchor_quietly)
    return entry


def _append(action: str, actor: str, target: str, payload: dict) -> AuditEntry:
    if connection.vendor == "postgresql" and connection.get_autocommit() and not connection.in_atomic_block:
        return _record_standalone_postgresql(action, actor, target, payload)
    with transaction.atomic():
        values = _chained_values(_locked_chain_head(), action, actor, target, payload)
        sql, params = _insert_sql(values)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return _entry(cursor.fetchone()[0], values)


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of walking the chain."""

    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    problem: str = ""


def verify_chain(
    anchor: tuple[int, str] | None = None, chunk_size: int = 5000, stop_at: int | None = None
) -> VerifyResult:
    """Walk the chain in order (up to entry `stop_at` when given); report the first broken entry, and whether it
    still extends `anchor`."""
    key = settings.ATS.audit_hmac_key
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    anchor_seen = anchor is None
    entries = AuditEntry.objects.all() if stop_at is None else AuditEntry.objects.filter(seq__lte=stop_at)
    rows = entries.order_by("seq").values_list(
        "seq", "created_at", "actor", "action", "target", "payload", "prev_hash", "hash"
    )

    def fail(problem: str) -> VerifyResult:
        return VerifyResult(False, checked, expected_seq - 1, prev_hash, problem)

    for seq, created_at, actor, action, target, payload, stored_prev, stored_hash in rows.iterator(chunk_size):
        if seq != expected_seq:
            return fail(f"entry #{expected_seq} is missing (next present is #{seq}): rows deleted or renumbered")
        if stored_prev != prev_hash:
            return fail(
                f"entry #{seq}: prev_hash does not match the hash of entry #{seq - 1}: rows reordered or replaced"
            )
        computed = entry_hash(prev_hash, canonical_json(seq, created_at, actor, action, target, payload), key)
        if not hmac.compare_digest(computed, stored_hash):
            return fail(f"entry #{seq}: content does not match its hash: entry edited")
        if anchor is not None and seq == anchor[0]:
            if not hmac.compare_digest(stored_hash, anchor[1]):
                return fail(f"entry #{seq}: hash differs from the anchor: the chain was rewritten since it was taken")
            anchor_seen = True
        prev_hash, expected_seq, checked = stored_hash, seq + 1, checked + 1
    if stop_at is not None and expected_seq - 1 != stop_at:
        return fail(f"entry #{stop_at} is not in the log (the log ends at #{expected_seq - 1})")
    if not anchor_seen:
        return fail(
            f"anchor entry #{anchor[0]} is not in the log (the log ends at #{expected_seq - 1}): entries deleted"
        )
    return VerifyResult(True, checked, expected_seq - 1, prev_hash)


def chain_head() -> tuple[int, str]:
    """The current head of the chain as (seq, hash); (0, genesis) when empty."""
    head = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first()
    return head if head else (0, GENESIS_HASH)
