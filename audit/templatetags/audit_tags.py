"""Template helpers of the audit pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from audit import presenters

register = template.Library()


@register.filter
def compact_payload(payload: Any) -> str:
    """{{ entry.payload|compact_payload }}: `key=value, …`, numbers grouped, times in the operator's zone."""
    return presenters.compact_payload(payload, timezone.get_current_timezone())
