"""The health state of each configured IB Gateway, one row per environment."""

from django.db import models

from trading.sessions.models import Environment


class GatewayHealth(models.Model):
    """The latest health check of one gateway (paper or live) and its transitions."""

    environment = models.CharField(max_length=8, choices=Environment.choices, unique=True)
    healthy = models.BooleanField(null=True, help_text="Null until the first check.")
    checked_at = models.DateTimeField(null=True, blank=True, help_text="When the latest check finished.")
    changed_at = models.DateTimeField(null=True, blank=True, help_text="When `healthy` last changed.")
    message = models.CharField(max_length=500, blank=True, help_text="One line: why the gateway is broken.")
    managed_accounts = models.JSONField(default=list, blank=True)
    # A flap (down and up again between two page loads) must still reach an operator, so the banner follows the
    # latest healthy→broken transition, not the current state.
    down_at = models.DateTimeField(
        null=True, blank=True, help_text="When the latest healthy→broken transition was seen."
    )
    acknowledged_at = models.DateTimeField(
        null=True, blank=True, help_text="When an operator acknowledged the latest broken transition."
    )
    acknowledged_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["environment"]
        verbose_name_plural = "gateway health"

    def __str__(self) -> str:
        state = {True: "healthy", False: "broken", None: "unchecked"}[self.healthy]
        return f"{self.environment} gateway {state}"

    @property
    def needs_ack(self) -> bool:
        """Whether a broken transition has not been acknowledged yet."""
        return self.down_at is not None and (self.acknowledged_at is None or self.acknowledged_at < self.down_at)
