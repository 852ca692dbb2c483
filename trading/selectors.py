"""Reads that the console pages need."""

from audit.models import AuditEntry
from approvals.selectors import active_approvals


def home_overview() -> dict:
    """Recent audit entries and the active go-live approvals."""
    return {
        "recent_audit": list(AuditEntry.objects.order_by("-seq")[:10]),
        "approvals": active_approvals(),
    }
