"""What each operator chooses for the pages: their time zone."""

from django.conf import settings
from django.db import models


class OperatorPreference(models.Model):
    """One operator's display settings. No row, or an empty zone, means: the browser's zone (else UTC)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference")
    time_zone = models.CharField(max_length=64, blank=True, help_text="An IANA zone name such as Europe/Berlin.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user} · {self.time_zone or 'browser zone'}"
