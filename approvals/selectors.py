"""Reads of approvals for pages."""

from approvals.models import Decision, GoLiveApproval


def active_approvals() -> list[GoLiveApproval]:
    """The last decision (insertion order) per strategy + instrument, where that decision is an approval."""
    latest: dict[tuple[str, str], GoLiveApproval] = {}
    for approval in GoLiveApproval.objects.order_by("id"):
        latest[(approval.strategy, approval.instrument_id)] = approval
    return [a for a in latest.values() if a.decision == Decision.APPROVE]
