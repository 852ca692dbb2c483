"""The monitor's audit watch: publish the chain head on a schedule and check the database guards are intact."""

from __future__ import annotations

import logging

from django.db import connection

from audit.anchors import latest_anchor, publish_anchor
from audit.append_only import integrity_problems
from notifications import courier
from notifications.services import do_send_alert

log = logging.getLogger(__name__)

AUDIT_WATCH_INTERVAL = 60.0  # seconds between anchors / guard checks


def watch_audit_once() -> list[str]:
    """Publish the head (to the anchor file, and to the webhook when it moved); return guard problems, alerted. Also
    wakes this process's notification courier, which delivers what other processes left in the outbox."""
    before = latest_anchor()
    anchor = publish_anchor()
    if anchor is not None and anchor != before:
        do_send_alert("audit_anchor", "audit", f"audit head #{anchor.seq} {anchor.hash}", {"time": anchor.time})
    problems = integrity_problems(connection)
    if problems:
        log.error("audit log guards not intact: %s", "; ".join(problems))
        do_send_alert("audit_guards", "audit", f"audit log guards not intact: {problems[0]}", {"problems": problems})
    courier.wake()
    return problems
