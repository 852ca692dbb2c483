"""The outbox: one Alert per alert raised, one Delivery per channel it goes to. Secrets are never stored here: a
delivery names its destination redacted, and a fingerprint that lets a process recognise it as its own."""

from __future__ import annotations

from django.db import models


class Channel(models.TextChoices):
    """The kinds of place an alert can go."""

    WEBHOOK = "webhook", "Webhook (ATS JSON)"
    EMAIL = "email", "Email"
    SLACK = "slack", "Slack"
    DISCORD = "discord", "Discord"


class DeliveryStatus(models.TextChoices):
    """Where one delivery stands: pending (first try or a retry due), or final."""

    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class Alert(models.Model):
    """One alert raised (gateway down, breaker tripped, ...); audited once when every delivery is final."""

    kind = models.CharField(max_length=60)
    environment = models.CharField(max_length=20)
    message = models.TextField()
    details = models.JSONField(default=dict)
    actor = models.CharField(max_length=200, help_text="who raised it: system:<component> or user:<name>")
    audited = models.BooleanField(default=True, help_text="whether its outcome gets an audit entry")
    created_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True, help_text="every delivery final (and audited)")

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"alert #{self.pk} {self.kind} ({self.environment})"


class Delivery(models.Model):
    """One alert to one channel: tried until delivered, given up, or out of attempts."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=20, choices=Channel.choices)
    destination = models.CharField(max_length=300, help_text="where it goes, redacted (no tokens, no passwords)")
    destination_key = models.CharField(max_length=32, help_text="fingerprint of the configured destination")
    status = models.CharField(max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True, help_text="a courier is trying it until then")
    claimed_by = models.CharField(max_length=40, blank=True, help_text="the courier pass that claimed it")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="notif_delivery_due")]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"alert #{self.alert_id} → {self.channel} {self.status} after {self.attempts} attempt(s)"
