"""One database writer at a time inside a session host, on SQLite.

SQLite lets one transaction write at a time and a writer that finds the file locked sleeps in SQLite's busy handler
(1, 2, 5, 10 ms... between tries), so an order intent arriving while telemetry commits could wait several
milliseconds for a lock held a fraction of one. Taking turns on a lock in this process wakes the intent the moment
telemetry commits. Other processes (the web app, other hosts) still meet the busy handler; PostgreSQL needs none of
this.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created

_TURN = threading.Lock()
_urgent_waiting = 0
_count_lock = threading.Lock()


@contextmanager
def urgent_write() -> Iterator[None]:
    """Announce an urgent write (an order intent, which holds an order back while it waits) before handing it to
    the writer thread: writers that have not taken the turn yet let it go first."""
    global _urgent_waiting
    with _count_lock:
        _urgent_waiting += 1
    try:
        yield
    finally:
        with _count_lock:
            _urgent_waiting -= 1


@contextmanager
def write_turn(urgent: bool = False) -> Iterator[None]:
    """Hold this process's SQLite write turn for one transaction (no-op on other databases); a writer that is not
    the announced urgent one waits while one is announced."""
    if connection.vendor != "sqlite":
        yield
        return
    while True:
        _TURN.acquire()
        if urgent or not _urgent_waiting:
            break
        _TURN.release()  # an intent is on its way: let it have the turn first
        time.sleep(0.0002)
    try:
        yield
    finally:
        _TURN.release()


def _no_autocheckpoint(sender: object, connection: BaseDatabaseWrapper, **kwargs: object) -> None:
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_autocheckpoint=0")


def take_over_checkpoints() -> None:
    """SQLite: no connection of this process checkpoints the WAL inside a commit (a checkpoint there, inside a write
    turn, would hold an order intent back for milliseconds); `checkpoint` runs them outside instead."""
    connection_created.connect(_no_autocheckpoint, weak=False, dispatch_uid="ats-host-no-autocheckpoint")
    if connection.vendor == "sqlite" and connection.connection is not None:
        _no_autocheckpoint(None, connection)


def checkpoint() -> None:
    """A passive WAL checkpoint, outside any write turn: it copies what it can and never blocks a writer."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
