"""Writes of the console app: an operator's time zone, audited like every other change."""

from __future__ import annotations

from django.db import transaction

from audit.models import Action
from audit.services import record, user_actor
from console import zones
from console.models import OperatorPreference


class TimeZoneRefused(ValueError):
    """A zone name that zoneinfo does not know: nothing was changed."""


def do_set_time_zone(user, zone: str) -> str:
    """Save the operator's zone ("" follows the browser again) and audit it; return the zone saved."""
    zone = (zone or "").strip()
    if zone and not zones.is_zone(zone):
        shown = zone if len(zone) <= 64 else zone[:61] + "..."
        raise TimeZoneRefused(f"unknown time zone {shown!r}: choose one from the list, e.g. Europe/Berlin")
    with transaction.atomic():
        preference, _ = OperatorPreference.objects.select_for_update().get_or_create(user=user)
        previous = preference.time_zone
        preference.time_zone = zone
        preference.save(update_fields=["time_zone", "updated_at"])
        record(
            Action.TIME_ZONE_SET,
            actor=user_actor(user),
            target=f"user:{user.get_username()}",
            payload={"time_zone": zone or "browser", "previous": previous or "browser"},
        )
    return zone
