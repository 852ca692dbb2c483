"""The one write API of the audit log, and the chain verifier."""

from __future__ import annotations

import getpass
import hmac
import socket
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

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


def _lock_chain_head() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PG_CHAIN_LOCK_KEY])
    # SQLite: settings open every transaction with BEGIN IMMEDIATE, so this transaction already holds the
    # database's write lock and no other writer can read the same head.


def record(action: str, *, actor: str, target: str = "", payload: dict | None = None) -> AuditEntry:
    """Append one entry to the audit chain, inside the caller's transaction if there is one."""
    if action not in VALID_ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if not actor:
        raise ValueError("audit entries need an actor")
    payload = normalize_payload(payload)
    with transaction.atomic():
        _lock_chain_head()
        head = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
        created_at = timezone.now()
        canonical = canonical_json(seq, created_at, actor, action, target, payload)
        return AuditEntry.objects.create(
            seq=seq,
            created_at=created_at,
            actor=actor,
            action=action,
            target=target,
            payload=payload,
            prev_hash=prev_hash,
            hash=entry_hash(prev_hash, canonical, settings.ATS.audit_hmac_key),
        )


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of walking the chain."""

    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    problem: str = ""


def verify_chain(anchor: tuple[int, str] | None = None, chunk_size: int = 5000) -> VerifyResult:
    """Walk the whole chain in order; report the first broken entry, and whether it still extends `anchor`."""
    key = settings.ATS.audit_hmac_key
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    anchor_seen = anchor is None
    rows = AuditEntry.objects.order_by("seq").values_list(
        "seq", "created_at", "actor", "action", "target", "payload", "prev_hash", "hash"
    )

    def fail(problem: str) -> VerifyResult:
        return VerifyResult(False, checked, expected_seq - 1, prev_hash, problem)

    for seq, created_at, actor, action, target, payload, stored_prev, stored_hash in rows.iterator(chunk_size):
        if seq != expected_seq:
            return fail(f"entry #{expected_seq} is missing (next present is #{seq}): rows deleted or renumbered")
        if stored_prev != prev_hash:
            return fail(f"entry #{seq}: prev_hash does not match the hash of entry #{seq - 1}: rows reordered or replaced")
        computed = entry_hash(prev_hash, canonical_json(seq, created_at, actor, action, target, payload), key)
        if not hmac.compare_digest(computed, stored_hash):
            return fail(f"entry #{seq}: content does not match its hash: entry edited")
        if anchor is not None and seq == anchor[0]:
            if not hmac.compare_digest(stored_hash, anchor[1]):
                return fail(f"entry #{seq}: hash differs from the anchor: the chain was rewritten since it was taken")
            anchor_seen = True
        prev_hash, expected_seq, checked = stored_hash, seq + 1, checked + 1
    if not anchor_seen:
        return fail(f"anchor entry #{anchor[0]} is not in the log (the log ends at #{expected_seq - 1}): entries deleted")
    return VerifyResult(True, checked, expected_seq - 1, prev_hash)


def chain_head() -> tuple[int, str]:
    """The current head of the chain as (seq, hash); (0, genesis) when empty."""
    head = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first()
    return head if head else (0, GENESIS_HASH)
