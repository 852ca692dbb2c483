"""Reads of the audit log for the pages: the filtered entries, newest first, and the actions it holds."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from audit.models import AuditEntry


def logged_actions() -> list[str]:
    """The distinct actions the log holds, sorted: the Audit page's action select."""
    return list(AuditEntry.objects.order_by("action").values_list("action", flat=True).distinct())


def _midnight(day: dt.date) -> dt.datetime:
    # A day of the operator's calendar: it starts at midnight in their zone.
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


def audit_entries(filters: dict[str, Any]) -> QuerySet[AuditEntry]:
    """Entries matching every filter given (action exact; actor and target contain; dates inclusive in the
    operator's zone; q anywhere in the action, target or payload), newest first."""
    entries = AuditEntry.objects.order_by("-seq")
    if filters.get("action"):
        entries = entries.filter(action=filters["action"])
    if filters.get("actor"):
        entries = entries.filter(actor__icontains=filters["actor"])
    if filters.get("target"):
        entries = entries.filter(target__icontains=filters["target"])
    if filters.get("start"):
        entries = entries.filter(created_at__gte=_midnight(filters["start"]))
    if filters.get("end"):
        entries = entries.filter(created_at__lt=_midnight(filters["end"] + dt.timedelta(days=1)))
    if filters.get("q"):
        text = filters["q"]
        entries = entries.filter(Q(action__icontains=text) | Q(target__icontains=text) | Q(payload__icontains=text))
    return entries
