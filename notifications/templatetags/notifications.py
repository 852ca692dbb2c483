"""{% notification_panel %}: the configured channels, the test button and the latest alerts' outcomes."""

from __future__ import annotations

from django import template

from notifications import selectors
from notifications.views import TEST_PERMISSION

register = template.Library()


@register.inclusion_tag("notifications/_panel.html", takes_context=True)
def notification_panel(context) -> dict:
    """The panel's context: channels (redacted), whether this user may send a test, recent alerts."""
    request = context.get("request")
    user = getattr(request, "user", None)
    return {
        "channels": selectors.channel_list(),
        "may_test": bool(user and user.is_authenticated and user.has_perm(TEST_PERMISSION)),
        "alerts": selectors.recent_alerts(),
        "csrf_token": context.get("csrf_token"),
    }
