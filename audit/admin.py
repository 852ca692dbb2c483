from django.contrib import admin

from ats_site.readonly_admin import ReadOnlyModelAdmin
from audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyModelAdmin):
    """Read-only for everyone, superusers included: the log is changed only by appending through services."""

    list_display = ("seq", "created_at", "actor", "action", "target")
    list_filter = ("action", "created_at", "actor")
    search_fields = ("actor", "target", "action", "payload")
    date_hierarchy = "created_at"
    ordering = ("-seq",)
