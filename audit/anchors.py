"""Automatic anchoring: the chain head (seq, hash, time) published where the database cannot reach it.

Each anchor is one JSON line appended to ATS_AUDIT_ANCHOR_FILE, a file outside the database (an attacker with
only database access cannot rewrite it). verify_audit checks the log against the latest line by default, so
deleting the tail of the log, or re-forging it, is caught without an operator having kept anything.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from audit.models import Action

log = logging.getLogger(__name__)

# Actions after which the head is published at once (on commit): whoever did them cannot then erase them quietly.
ANCHORED_ACTIONS = frozenset(
    {
        Action.APPROVE_LIVE,
        Action.REVOKE_LIVE,
        Action.SESSION_START,
        Action.SESSION_KILL,
        Action.PERMISSION_CHANGE,
        Action.USER_CREATED,
        Action.LOGIN_LOCKED_OUT,
        Action.BREAKER_TRIPPED,
        Action.BREAKER_RESET,
    }
)
TAIL_BYTES = 4096  # an anchor line is ~150 bytes: the last one is always in the file's last 4 KB


class AnchorError(ValueError):
    """The anchor file cannot be read or its last line is not an anchor; the message is one line."""


@dataclass(frozen=True)
class Anchor:
    """One published chain head."""

    seq: int
    hash: str
    time: str

    def line(self) -> str:
        """The anchor as one JSON line (no newline)."""
        return json.dumps({"seq": self.seq, "hash": self.hash, "time": self.time}, sort_keys=True)


def anchor_path() -> Path | None:
    """Where anchors are published (relative paths from the repo root), or None when publishing is off."""
    configured = settings.ATS.audit_anchor_file
    if not configured:
        return None
    path = Path(configured)
    return path if path.is_absolute() else Path(settings.BASE_DIR) / path


def latest_anchor(path: Path | None = None) -> Anchor | None:
    """The last anchor published, or None when none has been; AnchorError when the file is unreadable."""
    path = path or anchor_path()
    if path is None or not path.exists():
        return None
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - TAIL_BYTES))
            tail = handle.read().decode("utf-8", errors="replace")
    except OSError as exc:
        raise AnchorError(f"cannot read the anchor file {path}: {exc.strerror or exc}") from None
    lines = [line for line in tail.splitlines() if line.strip()]
    if not lines:
        return None
    try:
        data = json.loads(lines[-1])
        anchor = Anchor(int(data["seq"]), str(data["hash"]), str(data["time"]))
    except (ValueError, KeyError, TypeError):
        raise AnchorError(f"the last line of the anchor file {path} is not an anchor: {lines[-1][:80]!r}") from None
    if anchor.seq < 1 or len(anchor.hash) != 64:
        raise AnchorError(f"the last line of the anchor file {path} is not an anchor: {lines[-1][:80]!r}")
    return anchor


def publish_anchor() -> Anchor | None:
    """Append the current chain head to the anchor file unless it is already the latest; return it."""
    from audit.services import chain_head

    path = anchor_path()
    if path is None:
        return None
    seq, head_hash = chain_head()
    if seq == 0:
        return None
    latest = latest_anchor(path)
    if latest is not None and latest.seq == seq and latest.hash == head_hash:
        return latest
    anchor = Anchor(seq, head_hash, timezone.now().isoformat(timespec="seconds"))
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_APPEND: each line lands at the end in one write, whichever process writes; existing lines are never touched.
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(descriptor, (anchor.line() + "\n").encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return anchor


def publish_anchor_quietly() -> None:
    """publish_anchor for on-commit hooks: a failure is logged loudly, never raised into the committed action."""
    try:
        publish_anchor()
    except Exception:
        log.exception("audit anchor not published to %s", anchor_path())
