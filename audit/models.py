"""The append-only, hash-chained audit log."""

from django.db import models


class Action(models.TextChoices):
    """The fixed vocabulary of audited actions."""

    ORDER_INTENT = "order.intent", "Order intent"
    ORDER_DENIED = "order.denied", "Order denied"
    ORDER_ACCEPTED = "order.accepted", "Order accepted"
    ORDER_REJECTED = "order.rejected", "Order rejected"
    ORDER_FILLED = "order.filled", "Order filled"
    ORDER_CANCELED = "order.canceled", "Order canceled"
    ORDER_FILL_INFERRED = "order.fill_inferred", "Fill inferred by reconciliation"
    APPROVE_LIVE = "approval.approve", "Approve live"
    REVOKE_LIVE = "approval.revoke", "Revoke live"
    APPROVAL_REFUSED = "approval.refused", "Approval refused"
    SESSION_START = "session.start", "Session start"
    SESSION_STOP = "session.stop", "Session stop"
    SESSION_KILL = "session.kill", "Session kill"
    SESSION_REFUSED = "session.refused", "Session refused"
    SESSION_FAILED = "session.failed", "Session failed"
    SESSION_LOST = "session.lost", "Session lost"
    ACCOUNT_FLATTEN = "account.flatten", "Account flatten"
    LOGIN = "auth.login", "Login"
    LOGOUT = "auth.logout", "Logout"
    LOGIN_FAILED = "auth.login_failed", "Failed login"
    LOGIN_LOCKED_OUT = "auth.locked_out", "Login locked out"
    PERMISSION_CHANGE = "auth.permission_change", "Permission change"
    USER_CREATED = "auth.user_created", "User created"
    SETTINGS_STARTUP = "system.settings", "Settings at start-up"
    GATEWAY_DOWN = "gateway.down", "Gateway down"
    GATEWAY_UP = "gateway.up", "Gateway up"
    GATEWAY_CONNECTIVITY = "gateway.connectivity", "Gateway connectivity"
    GATEWAY_SCREENSHOT = "gateway.screenshot", "Gateway screenshot"
    BREAKER_TRIPPED = "risk.breaker_tripped", "Loss breaker tripped"
    BREAKER_RESET = "risk.breaker_reset", "Loss breaker reset"
    ATTRIBUTION_MISMATCH = "risk.attribution", "Broker position not attributed"
    BACKTEST_RUN = "backtest.run", "Backtest run"
    GAUNTLET_STARTED = "research.gauntlet_started", "Gauntlet started"
    GAUNTLET_FINISHED = "research.gauntlet_finished", "Gauntlet finished"
    PAPER_RUNG_CHECKED = "research.paper_rung", "Paper rung checked"
    STUDIO_SAVED = "studio.version_saved", "Studio version saved"
    NOTIFICATION_DELIVERED = "notification.delivered", "Notification delivered"
    NOTIFICATION_FAILED = "notification.failed", "Notification not delivered"
    TIME_ZONE_SET = "console.time_zone", "Time zone set"


class AuditEntry(models.Model):
    """One audit entry. Rows are never updated or deleted: database triggers refuse it."""

    seq = models.PositiveBigIntegerField(unique=True, help_text="Position in the chain, 1-based, no gaps.")
    created_at = models.DateTimeField(db_index=True)
    actor = models.CharField(max_length=200, help_text="user:<name>, cli:<os-user>@<host> or system:<component>")
    action = models.CharField(max_length=40, choices=Action.choices, db_index=True)
    target = models.CharField(max_length=300, blank=True)
    payload = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        # Few indexes on purpose: every one is paid on each append. seq (unique) serves the chain; action and
        # created_at serve the admin's filters. Actor/target searches are substring scans that no b-tree helps.
        ordering = ["seq"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor} on {self.target or '-'}"
