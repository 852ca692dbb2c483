"""One database writer at a time inside a session host, on SQLite.

SQLite lets one transaction write at a time and a writer that finds the file locked sleeps in SQLite's busy handler
(1, 2, 5, 10 ms... between tries), so an order intent arriving while telemetry commits could wait several
milliseconds for a lock held a fraction of one. Taking turns on a lock in this process wakes the intent the moment
telemetry commits. Other processes (the web app, other hosts) still meet the busy handler; PostgreSQL needs none of
this.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

_TURN = threading.Lock()


@contextmanager
def write_turn() -> Iterator[None]:
    """Hold this process's SQLite write turn for one transaction (no-op on other databases)."""
    if connection.vendor != "sqlite":
        yield
        return
    with _TURN:
        yield
