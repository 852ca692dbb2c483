"""Hash chaining of audit entries: hash = H(prev_hash || canonical JSON of the entry)."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import hmac
import json
import uuid
from typing import Any

GENESIS_HASH = "0" * 64


def _json_default(value: Any) -> Any:
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"audit payload value of type {type(value).__name__} is not JSON-serializable")


def normalize_payload(payload: dict[str, Any] | None) -> dict[str, Any]:
    """Round-trip a payload through JSON so what is hashed is exactly what the database gives back."""
    normalized: dict[str, Any] = json.loads(json.dumps(payload or {}, default=_json_default))
    return normalized


def format_time(value: dt.datetime) -> str:
    """The canonical time string: UTC, microseconds."""
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def canonical_json(
    seq: int, created_at: dt.datetime, actor: str, action: str, target: str, payload: dict[str, Any]
) -> str:
    """The entry's canonical JSON: sorted keys, no whitespace."""
    document = {
        "seq": seq,
        "time": format_time(created_at),
        "actor": actor,
        "action": action,
        "target": target,
        "payload": payload,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(prev_hash: str, canonical: str, key: str = "") -> str:
    """SHA-256 of prev_hash || canonical, or HMAC-SHA256 under `key` when one is configured."""
    message = prev_hash.encode() + canonical.encode()
    if key:
        return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()
    return hashlib.sha256(message).hexdigest()
