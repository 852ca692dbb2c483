"""The IB client ids of a session's connections, in one place (a light module: the kill path imports it without
loading Nautilus)."""

from __future__ import annotations


def client_ids(session_id: int) -> tuple[int, int, int]:
    """(data, exec, preflight) IB client ids, distinct per session so sessions never collide at the gateway."""
    base = 100 + (session_id % 3000) * 3
    return base, base + 1, base + 2


def kill_client_id(session_id: int) -> int:
    """The IB client id of a kill carried out without the session's host: above every session's client_ids range,
    so it never collides with the session's own (possibly half-open) connections."""
    return 10_000 + session_id % 3000


ACCOUNT_FLATTEN_CLIENT_ID = 13_500  # the account-level flatten's own connection, above the kills' range
