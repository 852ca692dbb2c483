"""The courier: a thread in whichever process raised an alert (a session host, the monitor, the web server, a
command) that delivers the outbox's due rows, retrying with exponential backoff.

No task queue is involved on purpose: alerts matter most when things are broken, the django-q cluster included,
and a session host or a command has no cluster of its own. Each process delivers what it raised, at once; the
outbox (the rows) is the durable hand-off: a row a process could not finish (it exited, it died) is picked up by
the next courier that wakes where the same destination is configured, and the gateway monitor wakes its courier
every minute for exactly that. Delivery is at least once: a courier that dies after a webhook answered but before
the row was updated leaves it to be sent again when its claim expires.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import uuid
from datetime import timedelta

from django.db import connection
from django.db.models import Q
from django.utils import timezone

log = logging.getLogger(__name__)

CLAIM_SECONDS = 60  # longer than any one attempt (HTTP 5 s, SMTP EMAIL_TIMEOUT): a claim outlives its attempt
MAX_SLEEP_SECONDS = 30.0  # look again at least this often while anything is pending
ERROR_PAUSE_SECONDS = 5.0  # after a pass that failed (database busy or gone)
BATCH = 8  # rows claimed per pass, each tried on a thread of its own: a slow channel does not hold up the others
ORPHAN_AFTER = timedelta(hours=1)  # a due row nobody here can deliver is given up after this
PRUNE_AFTER = timedelta(days=30)  # finished alerts are kept this long (the audit log keeps the outcome for good)
PRUNE_EVERY_SECONDS = 3600.0
FLUSH_AT_EXIT_SECONDS = 10.0  # a command that raised an alert waits this long at exit for its first attempts


class Courier:
    """One per process: started by the first alert, asleep until the next due row, ended when nothing is pending."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._woken = False
        self._busy = False
        self._stopping = False
        self._last_prune = 0.0
        self._unrecorded: list[threading.Thread] = []

    def wake(self) -> None:
        """Look at the outbox now (start the thread if it is not running)."""
        with self._cond:
            self._woken, self._stopping = True, False
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="notification-courier", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    if self._stopping:
                        return
                    self._woken, self._busy = False, True
                wait = self._pass()
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
                    if self._woken or self._stopping:
                        continue
                    if wait is None:  # nothing pending that this process can deliver
                        self._thread = None
                        return
                    self._cond.wait(timeout=min(wait, MAX_SLEEP_SECONDS))
        finally:
            connection.close()

    def _pass(self) -> float | None:
        try:
            return run_pass(prune=self._prune_due())
        except Exception:  # the database is busy or gone: try again shortly, never die quietly
            log.exception("notification courier: pass failed; trying again in %gs", ERROR_PAUSE_SECONDS)
            connection.close()
            return ERROR_PAUSE_SECONDS

    def _prune_due(self) -> bool:
        now = time.monotonic()
        if now - self._last_prune < PRUNE_EVERY_SECONDS:
            return False
        self._last_prune = now
        return True

    def flush(self, timeout: float) -> bool:
        """Wait until no pass is running or asked for (and unrecorded sends ended); return whether it got there."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while (self._woken or self._busy) and self._thread is not None and self._thread.is_alive():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        for thread in list(self._unrecorded):
            thread.join(max(deadline - time.monotonic(), 0))
        return not any(t.is_alive() for t in self._unrecorded)

    def stop(self, timeout: float = 10.0) -> None:
        """End the thread (after the pass it is in); the next wake starts a new one."""
        with self._cond:
            self._stopping = True
            thread = self._thread
            self._cond.notify_all()
        if thread is not None:
            thread.join(timeout)
        with self._cond:
            if self._thread is thread:
                self._thread = None

    def track(self, thread: threading.Thread) -> None:
        """Keep an unrecorded send's thread so exit waits for it."""
        self._unrecorded = [t for t in self._unrecorded if t.is_alive()] + [thread]

    def reset_after_fork(self) -> None:
        """A forked child has none of the parent's threads (and maybe a lock held mid-use): start clean."""
        self.__init__()  # type: ignore[misc]


_courier = Courier()
os.register_at_fork(after_in_child=_courier.reset_after_fork)
atexit.register(lambda: _courier.flush(FLUSH_AT_EXIT_SECONDS))


def wake() -> None:
    """Ask this process's courier to deliver what is due now."""
    _courier.wake()


def flush(timeout: float = FLUSH_AT_EXIT_SECONDS) -> bool:
    """Wait (bounded) until the courier has no pass running or pending."""
    return _courier.flush(timeout)


def stop(timeout: float = 10.0) -> None:
    """Stop this process's courier thread (tests; a later alert starts it again)."""
    _courier.stop(timeout)


def run_pass(*, prune: bool = False) -> float | None:
    """Deliver every due row this process can deliver; return seconds until the next is due (None: none pending)."""
    from notifications import services
    from notifications.channels import configured_targets
    from notifications.models import Delivery, DeliveryStatus

    targets = {t.key: t for t in configured_targets()}
    now = timezone.now()
    services.do_give_up_orphans(set(targets), ORPHAN_AFTER)
    claimed = _claim_due(set(targets), now)
    if claimed:
        _attempt_all([(row, targets[row.destination_key], claim) for row, claim in claimed])
        return 0.0  # look again at once: more may be due
    services.do_finish_leftovers()
    if prune:
        services.do_prune(PRUNE_AFTER)
    pending = Delivery.objects.filter(status=DeliveryStatus.PENDING, destination_key__in=list(targets))
    times = [max(n, c) if c else n for n, c in pending.values_list("next_attempt_at", "claimed_until")]
    if not times:
        return None
    return max((min(times) - now).total_seconds(), 0.01)


def _claim_due(keys: set[str], now) -> list:
    """Claim up to BATCH due rows for this pass (a row another courier holds is left to it)."""
    from notifications.models import Delivery, DeliveryStatus

    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    due = Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now, destination_key__in=keys)
    ids = list(due.filter(free).order_by("next_attempt_at", "id").values_list("pk", flat=True)[:BATCH])
    if not ids:
        return []
    claim = uuid.uuid4().hex
    Delivery.objects.filter(pk__in=ids, status=DeliveryStatus.PENDING).filter(free).update(
        claimed_until=now + timedelta(seconds=CLAIM_SECONDS), claimed_by=claim
    )
    return [
        (row, claim)
        for row in Delivery.objects.filter(claimed_by=claim).select_related("alert").order_by("next_attempt_at", "id")
    ]


def _attempt_all(work: list) -> None:
    """Try the claimed rows: destinations at once, one thread each, and each destination's rows in the order they
    were raised (an operator must not read "gateway up" before "gateway down"); while the interpreter shuts down (a
    command's exit, when no new thread may start) all on this thread instead."""
    by_destination: dict[str, list] = {}
    for item in work:
        by_destination.setdefault(item[0].destination_key, []).append(item)
    queues = list(by_destination.values())
    if len(queues) == 1:
        _attempt_in_order(queues[0])
        return
    threads = []
    for queue in queues:
        thread = threading.Thread(target=_attempt_in_order, args=(queue,), name="notification-attempt", daemon=True)
        try:
            thread.start()
            threads.append(thread)
        except RuntimeError:  # "can't create new thread at interpreter shutdown"
            _attempt_in_order(queue)
    for thread in threads:
        thread.join()


def _attempt_in_order(queue: list) -> None:
    for item in queue:
        _attempt(*item)


def _attempt(delivery, target, claim: str) -> None:
    """One attempt at one row (on its own thread: its own database connection, closed after)."""
    from notifications import services
    from notifications.channels import DeliveryError, deliver

    try:
        alert = delivery.alert
        message = _message(alert)
        try:
            deliver(target, message)
            error = None
        except DeliveryError as exc:
            error = exc
        except Exception as exc:  # a channel bug is a failed attempt, not a dead courier
            error = DeliveryError(f"{type(exc).__name__}: {exc}")
        services.do_record_attempt(delivery.pk, claim, error)
    except Exception:
        log.exception("notification courier: recording an attempt of delivery %s failed", delivery.pk)
    finally:
        connection.close()


def _message(alert):
    from notifications.payloads import AlertMessage

    return AlertMessage(
        alert.pk, alert.kind, alert.environment, alert.message, alert.created_at.isoformat(), alert.details
    )


def deliver_unrecorded(message) -> None:
    """Send an alert the database could not take, from a thread, with the same retries; logged, not audited."""
    thread = threading.Thread(target=_send_unrecorded, args=(message,), name="notification-unrecorded", daemon=True)
    thread.start()
    _courier.track(thread)


def _send_unrecorded(message) -> None:
    from django.conf import settings

    from notifications.channels import DeliveryError, deliver, secrets_in_use, targets_for
    from notifications.payloads import backoff_seconds
    from notifications.redact import scrub

    pending, attempt = targets_for(message.kind), 0
    while pending:
        attempt += 1
        still = []
        for target in pending:
            where = f"unrecorded alert {message.kind} → {target.channel} {target.destination}"
            try:
                deliver(target, message)
                log.warning("%s: delivered (attempt %d; not audited: the database was unavailable)", where, attempt)
            except DeliveryError as exc:
                reason = scrub(str(exc), secrets_in_use())
                if exc.permanent or attempt >= settings.ATS.alert_max_attempts:
                    log.error("%s: not delivered after %d attempt(s): %s", where, attempt, reason)
                else:
                    log.warning("%s: attempt %d failed: %s", where, attempt, reason)
                    still.append(target)
        pending = still
        if pending:
            time.sleep(backoff_seconds(attempt, settings.ATS.alert_retry_base_seconds))
