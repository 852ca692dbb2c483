"""Fixtures for the ibsim tests: a simulator in a background thread with a frozen clock."""

import asyncio

import pytest

from ibsim import run_in_thread

ACCOUNT = "DU1234567"


# A fixed start (Wednesday 2026-11-25 15:00 UTC, 10:00 in New York): tests that advance the clock never cross a
# trading-day boundary (which expires DAY orders and resets daily P&L) because of the hour CI happens to run at.
START = 1795618800.0


@pytest.fixture
def sim():
    """A fresh ibsim on a random port, started at START; time moves only through ``advance()``."""
    with run_in_thread(accounts=[ACCOUNT], port=0, seed=7, speed=0, client_id_grace=0.5, start_time=START) as handle:
        yield handle


# ib_async keeps references to the loop it first ran on (its sockets and events), so every
# ib_async scenario in this process runs on one long-lived loop instead of asyncio.run().
_LOOP = asyncio.new_event_loop()


def run(coro):
    """Run a coroutine to completion on the shared test loop."""
    from ib_async.util import getLoop

    asyncio.set_event_loop(_LOOP)
    # ib_async caches the first loop it sees process-wide; another test (fetch_bars, the monitor) may have bound
    # it to theirs, so bind it to this one.
    getLoop.cache_clear()
    return _LOOP.run_until_complete(coro)
