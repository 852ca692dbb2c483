"""The test-notification button: thin, writing through the service and reading the outcome through selectors."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import close_old_connections
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from audit.services import user_actor
from notifications import selectors
from notifications.services import do_send_test_alert

TEST_PERMISSION = "trading.operate_paper"  # superusers have every permission
TEST_WAIT_SECONDS = 8.0  # the page waits this long for every channel's first attempt
NO_CHANNEL = (
    "no notification channel is configured: set ATS_ALERT_WEBHOOK_URL, ATS_ALERT_EMAIL_TO, "
    "ATS_ALERT_SLACK_WEBHOOK_URL or ATS_ALERT_DISCORD_WEBHOOK_URL"
)


def _send_and_wait(actor: str) -> tuple[str, str]:
    """(level, line): raise the test alert and wait (bounded) for each channel's first attempt."""
    try:
        if not selectors.channel_list():
            return "error", NO_CHANNEL
        alert_id = do_send_test_alert(actor)
        if alert_id is None:
            return "warning", "test notification sent unrecorded (the database did not take it); see the logs"
        states = selectors.wait_for_alert(alert_id, TEST_WAIT_SECONDS)
        ok = all(s.status == "delivered" for s in states)
        return ("success" if ok else "error"), selectors.outcome_line(alert_id, states)
    finally:
        close_old_connections()


@require_POST
async def send_test_notification(request):
    """Send a test notification to every configured channel and show, in one line, how each fared."""
    user = await request.auser()
    if not await sync_to_async(user.has_perm)(TEST_PERMISSION):
        raise PermissionDenied("you may not send test notifications (needs the operate paper permission)")
    # Off the shared thread that runs the console's sync views: the wait must not hold up anybody else's page.
    level, line = await sync_to_async(_send_and_wait, thread_sensitive=False)(user_actor(user))
    getattr(messages, level)(request, line)
    return redirect("trading:gateways")
