"""Notification writes. do_send_alert writes the alert and its outbox rows (one per channel) inside the caller's
transaction, so an alert exists exactly when what it reports was committed, and hands them to the courier on
commit; it never raises and never waits on a channel. The courier records each attempt here, and the alert's
single audit entry (where it went, per channel whether it worked) is written once every delivery is final."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.models import Action
from audit.services import record, system_actor
from notifications import courier
from notifications.channels import DeliveryError, secrets_in_use, targets_for
from notifications.models import Alert, Delivery, DeliveryStatus
from notifications.payloads import AlertMessage, backoff_seconds
from notifications.redact import scrub

log = logging.getLogger(__name__)

NOTIFIER = system_actor("notifications")
MESSAGE_MAX = 2000
TEST_KIND = "test"
UNAUDITED_KINDS = frozenset({"audit_anchor"})  # its audit entry would move the head it reports, every minute


def _jsonable(details: dict | None) -> dict:
    """The details as plain JSON (Decimals, datetimes and the like as strings)."""
    return json.loads(json.dumps(details or {}, default=str))


def do_send_alert(
    kind: str, environment: str, message: str, details: dict | None = None, *, actor: str = NOTIFIER
) -> int | None:
    """Raise an alert to every configured channel; return its id (None when no channel is configured or it could
    only be sent unrecorded). Never raises, never blocks on a channel."""
    message = " ".join(str(message).split())[:MESSAGE_MAX]
    try:
        targets = targets_for(kind)
        if not targets:
            level = logging.DEBUG if kind in UNAUDITED_KINDS else logging.INFO  # the anchor: every minute
            log.log(level, "alert %s (%s) not sent (no channel is configured): %s", kind, environment, message)
            return None
        details = _jsonable(details)
        now = timezone.now()
        with transaction.atomic():  # a savepoint in the caller's transaction: a failure here leaves it usable
            alert = Alert.objects.create(
                kind=kind,
                environment=environment,
                message=message,
                details=details,
                actor=actor,
                audited=kind not in UNAUDITED_KINDS,
                created_at=now,
            )
            Delivery.objects.bulk_create(
                Delivery(
                    alert=alert,
                    channel=t.channel,
                    destination=t.destination,
                    destination_key=t.key,
                    next_attempt_at=now,
                )
                for t in targets
            )
            transaction.on_commit(courier.wake)
        return alert.pk
    except Exception as exc:  # no database (or no ORM here): the alert must still go out
        log.error(
            "alert %s (%s) could not be recorded (%s); sending it unrecorded and unaudited",
            kind,
            environment,
            type(exc).__name__,
        )
        raised_at = timezone.now().isoformat()
        courier.deliver_unrecorded(AlertMessage(None, kind, environment, message, raised_at, _safe(details)))
        return None


def _safe(details: dict | None) -> dict:
    try:
        return _jsonable(details)
    except Exception:
        return {}


def do_send_test_alert(actor: str) -> int | None:
    """Raise the test notification an operator asked for, to every configured channel."""
    return do_send_alert(
        TEST_KIND,
        "test",
        f"test notification requested by {actor}: if you read this, ATS alerts reach this channel",
        {"requested_by": actor},
        actor=actor,
    )


def do_record_attempt(delivery_id: int, claim: str, error: DeliveryError | None) -> Delivery | None:
    """Record one attempt's outcome: delivered, retry later (backoff), or failed for good; then finish the alert if
    it was the last one pending. None when the claim was lost meanwhile (another courier took it over)."""
    ats = settings.ATS
    now = timezone.now()
    reason = scrub(str(error), secrets_in_use()) if error is not None else ""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("alert")
            .filter(pk=delivery_id, claimed_by=claim, status=DeliveryStatus.PENDING)
            .first()
        )
        if delivery is None:
            return None
        delivery.attempts += 1
        delivery.claimed_until, delivery.claimed_by, delivery.last_error = None, "", reason
        final = error is None or error.permanent or delivery.attempts >= ats.alert_max_attempts
        if error is None:
            delivery.status = DeliveryStatus.DELIVERED
        elif final:
            delivery.status = DeliveryStatus.FAILED
        else:
            wait = backoff_seconds(delivery.attempts, ats.alert_retry_base_seconds)
            delivery.next_attempt_at = now + timedelta(seconds=wait)
        if final:
            delivery.finished_at = now
        delivery.save()
    _log_attempt(delivery, ats.alert_max_attempts)
    if final:
        do_finish_alert(delivery.alert_id)
    return delivery


def _log_attempt(delivery: Delivery, max_attempts: int) -> None:
    alert = delivery.alert
    where = f"alert #{alert.pk} {alert.kind} → {delivery.channel} {delivery.destination}"
    if delivery.status == DeliveryStatus.DELIVERED:
        log.info("%s: delivered (attempt %d)", where, delivery.attempts)
    elif delivery.status == DeliveryStatus.FAILED:
        log.error("%s: not delivered after %d attempt(s): %s", where, delivery.attempts, delivery.last_error)
    else:
        log.warning(
            "%s: attempt %d of %d failed: %s; next at %s",
            where,
            delivery.attempts,
            max_attempts,
            delivery.last_error,
            f"{delivery.next_attempt_at:%H:%M:%S}",
        )


def do_finish_alert(alert_id: int) -> bool:
    """Once every delivery of the alert is final, mark it finished and audit its outcome, exactly once; return
    whether this call did it."""
    with transaction.atomic():
        if Delivery.objects.filter(alert_id=alert_id, status=DeliveryStatus.PENDING).exists():
            return False
        if not Alert.objects.filter(pk=alert_id, finished_at__isnull=True).update(finished_at=timezone.now()):
            return False  # finished already (by another courier)
        alert = Alert.objects.get(pk=alert_id)
        if alert.audited:
            channels = [
                {
                    "channel": d.channel,
                    "to": d.destination,
                    "ok": d.status == DeliveryStatus.DELIVERED,
                    "attempts": d.attempts,
                    "error": d.last_error,
                }
                for d in alert.deliveries.order_by("id")
            ]
            ok = all(c["ok"] for c in channels)
            record(
                Action.NOTIFICATION_DELIVERED if ok else Action.NOTIFICATION_FAILED,
                actor=alert.actor,
                target=f"alert:{alert.pk}",
                payload={
                    "alert": alert.pk,
                    "kind": alert.kind,
                    "environment": alert.environment,
                    "message": alert.message,
                    "raised_at": alert.created_at.isoformat(),
                    "channels": channels,
                },
            )
    return True


def do_give_up_orphans(known_keys: set[str], older_than: timedelta) -> list[int]:
    """Fail deliveries overdue by `older_than` whose destination this process does not have configured (the
    configuration changed, or only a process that is gone had it); return the alerts finished by it."""
    now = timezone.now()
    overdue = (
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lt=now - older_than)
        .exclude(destination_key__in=known_keys)
        .exclude(claimed_until__gt=now)
    )
    alert_ids = sorted(set(overdue.values_list("alert_id", flat=True)))
    if not alert_ids:
        return []
    overdue.filter(alert_id__in=alert_ids).update(
        status=DeliveryStatus.FAILED,
        finished_at=now,
        last_error="no running process has this destination configured any more: given up",
    )
    return [pk for pk in alert_ids if do_finish_alert(pk)]


def do_finish_leftovers() -> int:
    """Finish (and audit) alerts whose deliveries all ended but that a process did not get to finish; return how
    many."""
    leftovers = Alert.objects.filter(finished_at__isnull=True).exclude(deliveries__status=DeliveryStatus.PENDING)
    return sum(do_finish_alert(pk) for pk in leftovers.values_list("pk", flat=True))


def do_prune(older_than: timedelta) -> int:
    """Delete finished alerts (and their deliveries) older than `older_than`: their outcome is in the audit log."""
    deleted, _ = Alert.objects.filter(finished_at__lt=timezone.now() - older_than).delete()
    return deleted
