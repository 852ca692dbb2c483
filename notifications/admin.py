"""Admin for alerts and their deliveries: read-only (the courier writes them, and audits each outcome)."""

from django.contrib import admin

from ats_site.readonly_admin import ReadOnlyModelAdmin, ReadOnlyTabularInline
from notifications.models import Alert, Delivery


class DeliveryInline(ReadOnlyTabularInline):
    """Where the alert went and how each delivery ended."""

    model = Delivery
    fields = ("channel", "destination", "status", "attempts", "last_error", "finished_at")


@admin.register(Alert)
class AlertAdmin(ReadOnlyModelAdmin):
    """Alerts raised (gateway down, breaker tripped, ...) with their deliveries."""

    list_display = ("id", "created_at", "kind", "environment", "message", "finished_at")
    list_filter = ("kind", "environment")
    search_fields = ("kind", "message", "actor")
    date_hierarchy = "created_at"
    inlines = (DeliveryInline,)
