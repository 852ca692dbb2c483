"""IB's pacing rules, emulated when switched on (``--pacing``; off by default so fast tests are not throttled).

Historical data (error 162 "pacing violation"): no identical request within 15 seconds, no six or more requests
for the same contract and data type within 2 seconds, no more than 60 requests in 10 minutes.
Messages (error 100 "Max rate of messages per second has been exceeded"): at most 50 requests per second per
client; a request over the limit is answered with error 100 and otherwise ignored.
Time here is wall-clock time (IB paces real requests, whatever the simulated clock does).
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from typing import Any

from .connection import Connection

MAX_MESSAGES_PER_SECOND = 50
IDENTICAL_WINDOW = 15.0
SAME_CONTRACT_WINDOW, SAME_CONTRACT_MAX = 2.0, 5
TEN_MINUTES, TEN_MINUTE_MAX = 600.0, 60


class Pacing:
    def __init__(self, enabled: bool = False, clock: Any = time.monotonic):
        self.enabled = enabled
        self.clock = clock
        self._messages: dict[int, deque[float]] = defaultdict(deque)
        self._history: dict[int, deque[tuple[float, tuple[Any, ...]]]] = defaultdict(deque)

    def forget(self, conn: Connection) -> None:
        self._messages.pop(conn.conn_id, None)
        self._history.pop(conn.conn_id, None)

    def message_violation(self, conn: Connection) -> bool:
        """Count one request; True when it is over the per-second message limit."""
        if not self.enabled:
            return False
        now = self.clock()
        q = self._messages[conn.conn_id]
        while q and now - q[0] >= 1.0:
            q.popleft()
        if len(q) >= MAX_MESSAGES_PER_SECOND:
            return True
        q.append(now)
        return False

    def historical_violation(self, conn: Connection, key: tuple[Any, ...]) -> bool:
        """Count one historical request (``key`` = symbol, whatToShow, bar size, duration)."""
        if not self.enabled:
            return False
        now = self.clock()
        q = self._history[conn.conn_id]
        while q and now - q[0][0] >= TEN_MINUTES:
            q.popleft()
        identical = any(k == key and now - t < IDENTICAL_WINDOW for t, k in q)
        same = sum(1 for t, k in q if k[:2] == key[:2] and now - t < SAME_CONTRACT_WINDOW)
        if identical or same >= SAME_CONTRACT_MAX or len(q) >= TEN_MINUTE_MAX:
            return True
        q.append((now, key))
        return False
