from django.contrib import admin

from audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only for everyone, superusers included: the log is changed only by appending through services."""

    list_display = ("seq", "created_at", "actor", "action", "target")
    list_filter = ("action", "created_at", "actor")
    search_fields = ("actor", "target", "action", "payload")
    date_hierarchy = "created_at"
    ordering = ("-seq",)
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
